"""Host: what views may ask of the server that runs them (LocalOrgServer is the one implementation).

Views reach the server through `web.server()`; typing it by this protocol rather than by
LocalOrgServer keeps the views below server.py, which builds the app that mounts them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .org import Org


class Host(Protocol):
    admin_secret: str
    base_url: str
    orgs: dict[str, Org]

    def create_org(self, name: str | None = None, source_dir: str | Path | None = None,
                   namespace: str | None = None, write_state: bool = True) -> Org: ...

    def set_knobs(self, orgs: list[Org] | None = None, **changes: Any) -> None: ...

    def org_for_token(self, token: str) -> Org | None: ...

    def org_for_client(self, consumer_key: str) -> Org | None: ...

    def org_for_username(self, username: str) -> tuple[Org, str] | None: ...

    def state(self) -> dict[str, Any]: ...

    def write_state(self) -> None: ...
