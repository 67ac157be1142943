"""The Connector interface every external system implements, its errors, and the registry by name."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from backend.errors import ConfigError, SourceError
from backend.pipeline.sources import Source

PREVIEW_ROWS = 20
READ_STATEMENTS = ("select", "with", "values", "table", "(select")
STAGES = ("config", "egress", "dns", "tcp", "tls", "host_key", "auth", "permission", "missing", "query", "read")

_REGISTRY: dict[str, type[Connector]] = {}


class ConnectorError(SourceError):
    """A connection or read failed at one `stage` (see STAGES); the message is safe to show (no secrets)."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage


@dataclass(frozen=True)
class Entry:
    """One thing `browse` found: a schema or table (databases), a folder or file (file stores)."""

    name: str
    kind: str  # schema | table | view | folder | file
    path: str
    size: int | None = None
    modified: str | None = None  # ISO 8601, UTC

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Connector:
    """One configured external system. Subclasses set `type`, `label`, `schemes`, `secret_keys`.

    `params` is the whole configuration, secrets included (stored encrypted as one JSON value);
    `public_params()` is what may be shown back. `allow_loopback` comes from the settings
    (INFLOW_EGRESS_ALLOW_LOOPBACK); every host is checked by `guard.resolve` when connecting.
    """

    type: ClassVar[str] = ""
    label: ClassVar[str] = ""
    schemes: ClassVar[tuple[str, ...]] = ()
    secret_keys: ClassVar[tuple[str, ...]] = ("password",)
    kind: ClassVar[str] = "database"  # database | files
    takes_files: ClassVar[bool] = False  # an export can write a file to it (`upload`)
    settings_keys: ClassVar[tuple[str, ...]] = ()  # params taken from the settings when built, never stored

    def __init__(self, params: dict[str, Any], *, allow_loopback: bool = False) -> None:
        self.params = dict(params)
        self.allow_loopback = allow_loopback

    @classmethod
    def params_from_url(cls, url: str) -> dict[str, Any]:
        """The params a `connections add NAME URL` URL stands for; ConfigError when it cannot work."""
        raise NotImplementedError

    @classmethod
    def from_settings(cls, settings: Any) -> dict[str, Any]:
        """The `settings_keys` params from the deployment's settings (an OAuth app's id, secret and URLs)."""
        return {}

    def public_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.params.items() if k not in self.secret_keys and v not in (None, "")}

    def test(self) -> str:
        """Connect and check access; return a one-line description, raise ConnectorError naming the stage."""
        raise NotImplementedError

    def browse(self, path: str = "") -> list[Entry]:
        raise NotImplementedError

    def source(self, spec: dict[str, Any]) -> Source:
        """A pipeline Source for `spec`: {table, columns, where} | {query} (databases), {path, pick} (files)."""
        raise NotImplementedError

    def preview(self, spec: dict[str, Any], rows: int = PREVIEW_ROWS) -> tuple[list[str], list[list[str]]]:
        """Column names and the first `rows` rows as the pipeline would see them."""
        source = self.source({**spec, "limit": rows})
        columns, out = source.columns(), []
        for chunk in _chunks(source):
            out += chunk.frame.astype(object).values.tolist()
            if len(out) >= rows:
                break
        return columns, out[:rows]


def _chunks(source: Source) -> Iterator[Any]:
    reader = source.read()
    try:
        yield from reader
    finally:
        reader.close()


def read_spec(spec: dict[str, Any]) -> tuple[str, str]:
    """('table', name) or ('query', sql) from a database spec; ConfigError unless exactly one is given."""
    table, query = (spec.get("table") or "").strip(), (spec.get("query") or "").strip()
    if bool(table) == bool(query):
        raise ConnectorError("config", "Give a table or a query (one of them).")
    if table:
        return "table", table
    if query.split(None, 1)[0].lower() not in READ_STATEMENTS:
        raise ConnectorError("query", "Only a query that reads (SELECT, WITH, VALUES or TABLE) can be imported.")
    return "query", query.rstrip("; \n\t")


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: make a connector type available by its `type` name and URL schemes."""
    if not cls.type:
        raise ValueError(f"{cls.__name__} has no type name")
    _REGISTRY[cls.type] = cls
    return cls


def connector_class(type_name: str) -> type[Connector]:
    try:
        return _REGISTRY[type_name]
    except KeyError:
        raise ConfigError(f"Unknown connection type '{type_name}'; known types: "
                          f"{', '.join(sorted(_REGISTRY))}.") from None


def connector_types() -> list[dict[str, Any]]:
    return [{"type": t, "label": c.label, "kind": c.kind, "takes_files": c.takes_files,
             "schemes": list(c.schemes)}
            for t, c in sorted(_REGISTRY.items())]


def type_for_url(url: str) -> type[Connector]:
    """The connector class whose scheme the URL starts with."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    for cls in _REGISTRY.values():
        if scheme in cls.schemes:
            return cls
    schemes = sorted(s for c in _REGISTRY.values() for s in c.schemes)
    raise ConfigError(f"Unknown connection URL scheme '{scheme or url[:20]}'; use one of: "
                      f"{', '.join(s + '://' for s in schemes)}.")


def create_connector(type_name: str, params: dict[str, Any], *, allow_loopback: bool = False) -> Connector:
    return connector_class(type_name)(params, allow_loopback=allow_loopback)
