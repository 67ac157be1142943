"""Where an export writes: a download (the caller's stream), or a table or a file through a saved connection.

A job keeps its target in `source["target"]`: absent or {"kind": "download"}; {"kind": "table",
"connection_id", "table", "deleted": "delete" | "flag"}; {"kind": "file", "connection_id", "path"}
(.csv or .xlsx). The connection is looked up in the job's own account when the run starts.
"""

from __future__ import annotations

from typing import Any

from backend.connectors.base import Connector, ConnectorError
from backend.connectors.files import FileStore
from backend.connectors.table_target import ON_DELETE, TableTarget
from backend.connectors.uploads import Upload
from backend.models.base import TenantScope
from backend.models.connections import Connection
from backend.pipeline.export import DownloadTarget, ExportTarget, format_for

KINDS = ("download", "table", "file")


def check(spec: dict[str, Any] | None) -> dict[str, Any]:
    """The target spec as stored: its kind and only the keys that kind uses; ConfigError when incomplete."""
    spec = dict(spec or {})
    kind = spec.get("kind") or "download"
    if kind not in KINDS:
        raise ConnectorError("config", f"The export's target is one of: {', '.join(KINDS)}.")
    if kind == "download":
        return {"kind": kind}
    if not spec.get("connection_id"):
        raise ConnectorError("config", "Choose the connection to export into.")
    if kind == "table":
        table, deleted = str(spec.get("table") or "").strip(), spec.get("deleted") or "delete"
        if not table or deleted not in ON_DELETE:
            raise ConnectorError("config", "Give the table to write (table or schema.table).")
        return {"kind": kind, "connection_id": str(spec["connection_id"]), "table": table, "deleted": deleted}
    path = str(spec.get("path") or "").strip()
    format_for(path)
    return {"kind": kind, "connection_id": str(spec["connection_id"]), "path": path}


def for_connector(connector: Connector, *, table: str | None = None, path: str | None = None,
                  deleted: str = "delete") -> ExportTarget:
    """A table target for a database connection, a file target for a file store."""
    if table:
        if connector.kind != "database":
            raise ConnectorError("config", f"A {connector.label} connection holds files: give --path, not --table.")
        return TableTarget(lambda: _dialect(connector), table, on_delete=deleted)
    if not isinstance(connector, FileStore):
        raise ConnectorError("config", f"A {connector.label} connection holds tables: give --table, not --path.")
    return FileTarget(connector, path or "")


def for_job(scope: TenantScope, spec: dict[str, Any] | None, *, allow_loopback: bool) -> ExportTarget | None:
    """The target a saved export job names; None for a download (the run keeps the file itself)."""
    spec = check(spec)
    if spec["kind"] == "download":
        return None
    from backend.connectors import stored

    found = scope.all(Connection, Connection.id == spec["connection_id"])
    if not found:
        raise ConnectorError("missing", "The export's connection no longer exists; choose another target.")
    connector = stored.connector(found[0], allow_loopback=allow_loopback)
    return for_connector(connector, table=spec.get("table"), path=spec.get("path"),
                         deleted=spec.get("deleted") or "delete")


def where(spec: dict[str, Any] | None, connection_name: str | None) -> str:
    """What a person reads about the target: "table sales.contacts on warehouse", "file out/c.csv on partner"."""
    spec = spec or {}
    if spec.get("kind") == "table":
        return f"table {spec.get('table')} on {connection_name or 'a removed connection'}"
    if spec.get("kind") == "file":
        return f"file {spec.get('path')} on {connection_name or 'a removed connection'}"
    return "a download"


class FileTarget(DownloadTarget):
    """A CSV or Excel file streamed to a file store and published under its name only when complete."""

    def __init__(self, connector: FileStore, path: str) -> None:
        self.path = path.strip()
        if not self.path or self.path.endswith("/"):
            raise ConnectorError("config", "Give the file's path, e.g. exports/contacts.csv.")
        self._upload: Upload | None = None
        self._connector = connector
        super().__init__(format_for(self.path), self._open, self._close)

    def _open(self) -> Upload:
        self._upload = self._connector.upload(self.path)
        return self._upload

    def _close(self, ok: bool) -> None:
        upload, self._upload = self._upload, None
        if upload is not None:
            upload.commit() if ok else upload.abort()


def _dialect(connector: Connector) -> Any:
    if connector.type == "postgresql":
        from backend.connectors.pg_write import PgTable

        return PgTable(connector)  # type: ignore[arg-type]
    if connector.type == "mysql":
        from backend.connectors.mysql_write import MySqlTable

        return MySqlTable(connector)  # type: ignore[arg-type]
    raise ConnectorError("config", f"{connector.label} connections cannot take tables.")


def where_for_job(scope: TenantScope, source: dict[str, Any] | None) -> str:
    """`where()` for a saved export job, naming its connection as the account sees it now."""
    spec = (source or {}).get("target") or {}
    found = scope.all(Connection, Connection.id == spec.get("connection_id")) if spec.get("connection_id") else []
    if spec.get("kind") in ("table", "file"):
        return where(spec, found[0].name if found else None)
    return f"a download ({'Excel' if (source or {}).get('format') == 'xlsx' else 'CSV'})"
