"""One kit per connector type: how to build it against its real test server, and what it must read.

The conformance suite (test_conformance.py) runs the same tests over every kit, so adding a connector
means adding a kit here and passing the suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backend.connectors import Connector, connector_class, create_connector


@dataclass
class Kit:
    type: str
    params: dict[str, Any]
    spec: dict[str, Any]  # reads the seeded rows
    missing: dict[str, Any]  # names an object that does not exist
    browse: list[tuple[str, str]]  # (path, a name browse must list there)
    bad_credentials: dict[str, Any]  # params overrides that the server refuses
    forbidden: dict[str, Any] | None = None  # a spec the user may not read (permission)
    metadata: dict[str, Any] = field(default_factory=lambda: {"host": "169.254.169.254"})  # params to reach IMDS
    extra: dict[str, Any] = field(default_factory=dict)
    cleanup: Callable[[], None] | None = None

    @property
    def secrets(self) -> list[str]:
        cls = connector_class(self.type)
        return [str(self.params[k]) for k in cls.secret_keys if self.params.get(k)]

    def connector(self, allow_loopback: bool = True, **overrides: Any) -> Connector:
        return create_connector(self.type, {**self.params, **overrides}, allow_loopback=allow_loopback)
