"""SfError: one Salesforce error (errorCode, message, fields) with its REST, collection and Bulk shapes."""

from __future__ import annotations

from typing import Any


class SfError(Exception):
    """A Salesforce error. `status` is the HTTP status a single-record REST call answers with."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None, status: int = 400,
                 with_fields: bool = True) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = list(fields or [])
        self.status = status
        self.with_fields = with_fields
        self.json_value: Any = None  # set for JSON_PARSER_ERROR so REST can report a position

    def rest(self) -> dict[str, Any]:
        """REST error element: {"message", "errorCode", "fields"} (fields omitted for session/limit errors)."""
        out: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.with_fields:
            out["fields"] = self.fields
        return out

    def collection(self) -> dict[str, Any]:
        """sObject Collections error element: uses statusCode, not errorCode."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}

    def bulk(self) -> str:
        """Bulk result-file form: CODE:message:field1,field2 --"""
        return f"{self.code}:{self.message}:{','.join(self.fields)} --"


class MultipleMatches(SfError):
    """An upsert key matched several records (REST answers 300 with their URLs)."""

    def __init__(self, label: str, value: str, ids: list[str]) -> None:
        shown = ", ".join(i[:15] for i in ids)
        super().__init__("DUPLICATE_EXTERNAL_ID",
                         f"{label}: more than one record found for external id field: [{shown}]",
                         [], status=300)
        self.ids = ids


def not_found(message: str = "The requested resource does not exist") -> SfError:
    return SfError("NOT_FOUND", message, status=404, with_fields=False)


def entity_deleted(fields: list[str] | None = None) -> SfError:
    return SfError("ENTITY_IS_DELETED", "entity is deleted", fields or [], status=404)


def invalid_session() -> SfError:
    return SfError("INVALID_SESSION_ID", "Session expired or invalid", status=401, with_fields=False)


def unavailable(status: int) -> SfError:
    """What an org in maintenance or an overloaded pod answers: nothing was done."""
    return SfError("SERVER_UNAVAILABLE", "Server temporarily unavailable, try again later.", status=status,
                   with_fields=False)


def limit_exceeded() -> SfError:
    return SfError("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", status=403, with_fields=False)
