"""Job-level exceptions shared by the Salesforce client, connectors and the import engine: one small tree."""

from __future__ import annotations


class InflowError(Exception):
    """Base of every job-level problem; `str(err)` is shown to the user as is."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # technical context for logs, never needed to act on the error


class ConfigError(InflowError):
    """The job's configuration (mapping, source settings, options) cannot work as given."""


class SourceError(InflowError):
    """The source cannot be read: unreadable file, bad header, limits exceeded, connection refused."""


class SalesforceError(InflowError):
    """Salesforce refused or failed a call that concerns the whole job."""


class RetriableSalesforceError(SalesforceError):
    """A transient Salesforce failure (timeouts, 5xx, REQUEST_LIMIT_EXCEEDED): retrying later may succeed."""


class FatalSalesforceError(SalesforceError):
    """A Salesforce failure that retrying will not fix (no access, object missing, invalid session)."""
