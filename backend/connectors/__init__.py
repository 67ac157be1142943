"""Connectors to external systems, registered by name: `create_connector("postgresql", params)`.

No Flask, no RQ: the same connector serves the web app, the worker, the CLI and the tests.
"""

from __future__ import annotations

from backend.connectors import ftps, https, mysql, postgres, s3, sftp  # noqa: F401  (registration happens on import)
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
