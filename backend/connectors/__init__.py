"""Connectors to external systems, registered by name: `create_connector("postgresql", params)`.

No Flask, no RQ: the same connector serves the web app, the worker, the CLI and the tests.
"""

from __future__ import annotations

# registration happens on import
from backend.connectors import dropbox, ftps, gsheets, https, mysql, postgres, s3, sftp  # noqa: F401
from backend.connectors.base import (
    Connector,
    ConnectorError,
    Entry,
    connector_class,
    connector_types,
    create_connector,
    type_for_url,
)

__all__ = ["Connector", "ConnectorError", "Entry", "connector_class", "connector_types", "create_connector",
           "type_for_url"]
