"""An Org: schema, record store, users, registered client apps, sessions and knobs of one local org."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import organization, pricebooks
from .fieldkit import system_fields
from .ids import IdFactory
from .locking import LockRegistry
from .metadata import ObjectSource, read_notification_types, read_source_tree
from .schema import Field, SObjectType
from .sessions import SessionStore
from .standard_objects import build_standard_schema
from .store import Store


@dataclass
class Knobs:
    """Behaviour switches set by startup flags or the admin endpoint (see admin.py)."""

    latency_ms: int = 0
    api_allowance: int = 15000
    token_lifetime: float = 7200.0
    lock_rate: float = 0.0          # share of contested rows that hit UNABLE_TO_LOCK_ROW (see locking.py)
    lock_seed: int = 0
    fail_bulk_jobs: bool = False    # for the Bulk engineer: next Bulk jobs end in state Failed
    fail_bulk_message: str = "InternalServerError : forced failure (localorg knob)"
    unavailable: int = 0            # an outage: while non-zero, every API call answers this status (503, 500, ...)
    hang_seconds: float = 0.0       # a hung org: while non-zero, every API call waits this long before it is handled


@dataclass
class ClientApp:
    """A registered client app (External Client App / Connected App) of one org."""

    name: str
    consumer_key: str
    consumer_secret: str
    callback_urls: list[str]
    scopes: list[str] = field(default_factory=lambda: ["api", "refresh_token", "openid", "web", "id"])
    canvas_url: str | None = None
    canvas: dict[str, Any] | None = None   # canvas settings, set by canvas.register_canvas_app

    def info(self) -> dict[str, Any]:
        return asdict(self)


class Org:
    """One local org. `store` holds the records; `schema` the objects; `sessions` the tokens."""

    def __init__(self, name: str, org_id: str, pod: str, knobs: Knobs) -> None:
        self.name = name
        self.id = org_id
        self.knobs = knobs
        self.ids = IdFactory(pod)
        self.schema = build_standard_schema()
        self.store = Store(self.schema, self.ids)
        self.sessions = SessionStore(org_id, knobs)
        self.apps: dict[str, ClientApp] = {}
        self.instance_url = ""
        self.api_used = 0
        self.usage_lock = threading.Lock()
        self.locks = LockRegistry()   # parents held by in-flight REST writes and Bulk batches
        self.namespace: str | None = None
        self.on_change: Callable[[], None] | None = None  # the server rewrites its state file
        self.extra: dict[str, Any] = {}   # room for extensions (Bulk jobs, canvas state)
        self.admin_password = secrets.token_urlsafe(12)
        self.admin_id = self._bootstrap(name)
        self.ready_token = self.sessions.issue(self.admin_id, None, "full").token

    def _bootstrap(self, name: str) -> str:
        s = self.store
        admin = s.insert("User", {"Username": f"admin@{name}.localorg", "LastName": "Admin", "FirstName": "Org",
                                  "Email": f"admin@{name}.localorg", "Alias": "admin"})
        s.default_user = admin
        for rid in (admin,):  # the bootstrap user owns and created itself
            rec = s.table("User").rows[rid]
            s.table("User").put(rid, dict(rec, CreatedById=admin, LastModifiedById=admin, UserType="Standard"))
        organization.put_record(s.table("Organization"), self.id, name, admin, "Org Admin")
        pricebooks.create_standard(s)
        return admin

    @property
    def admin_username(self) -> str:
        return f"admin@{self.name}.localorg"

    # ---- API used by tests and the seed ---------------------------------------------------------
    def create_user(self, username: str, last_name: str, first_name: str = "", email: str | None = None,
                    password: str | None = None) -> str:
        uid = self.store.insert("User", {"Username": username, "LastName": last_name, "FirstName": first_name,
                                         "Email": email or username, "Alias": last_name[:8]})
        self.extra.setdefault("passwords", {})[uid] = password or secrets.token_urlsafe(12)
        return uid

    def password_ok(self, user_id: str, password: str) -> bool:
        if user_id == self.admin_id:
            return secrets.compare_digest(password, self.admin_password)
        stored = self.extra.get("passwords", {}).get(user_id)
        return stored is not None and secrets.compare_digest(password, stored)

    def register_app(self, name: str, callback_urls: list[str], canvas_url: str | None = None,
                     consumer_key: str | None = None, consumer_secret: str | None = None) -> ClientApp:
        """Register a client app; keys are generated unless given."""
        app = ClientApp(name, consumer_key or "3MVG9" + secrets.token_urlsafe(60).replace("-", "A"),
                        consumer_secret or secrets.token_hex(32).upper(), list(callback_urls),
                        canvas_url=canvas_url)
        self.apps[app.consumer_key] = app
        if self.on_change:
            self.on_change()
        return app

    def create_record_type(self, sobject: str, developer_name: str, label: str | None = None,
                           active: bool = True) -> str:
        """Add a record type to `sobject`; addressable by DeveloperName in SOQL and parent keys."""
        obj = self.store.sobject(sobject)
        return self.store.insert("RecordType", {"SobjectType": obj.name, "DeveloperName": developer_name,
                                                "Name": label or developer_name, "IsActive": active})

    def define_object(self, name: str, label: str | None = None, fields: list[Field] = (),  # type: ignore[assignment]
                      key_prefix: str | None = None, plural: str | None = None) -> SObjectType:
        """Define (or extend) a custom object from Python; `name` ends in __c."""
        obj = self.schema.get(name)
        if obj is None:
            prefix = key_prefix or self._next_custom_prefix()
            obj = SObjectType(name, label or name[:-3].replace("_", " "), plural or (label or name[:-3]) + "s",
                              prefix, custom=True)
            system_fields(obj)
            obj.add(Field("Name", "string", f"{obj.label} Name", length=80, name_field=True, nillable=False,
                          defaulted_on_create=True))
            self.schema.add(obj)
        obj.add(*fields)
        self.store.table(obj.name).refresh_indexes()
        return obj

    def _next_custom_prefix(self) -> str:
        n = sum(1 for o in self.schema.objects.values() if o.custom)
        while True:
            prefix = f"a{n // 62:01d}{'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'[n % 62]}"
            if self.schema.by_prefix(prefix) is None:
                return prefix
            n += 1

    def load_metadata(self, source_dir: Path, namespace: str | None = None) -> list[str]:
        """Load custom objects/fields from an SFDX tree (force-app/main/default/objects)."""
        self.namespace = namespace or self.namespace
        loaded = self.apply_objects(read_source_tree(Path(source_dir), namespace))
        self.add_notification_types(read_notification_types(Path(source_dir)))
        return loaded

    def apply_objects(self, sources: list[ObjectSource]) -> list[str]:
        """Define custom objects and add fields (to custom or standard objects) read from metadata."""
        loaded = []
        for src in sources:
            if src.name_field is not None:
                self.define_object(src.name, src.label, [src.name_field], plural=src.plural)
            elif self.schema.get(src.name) is None:
                continue   # fields for an object this org does not have
            if src.name.endswith("__c"):
                self.define_object(src.name, fields=src.fields)
            else:
                self._extend(src.name, src.fields)
            loaded.append(src.name)
        return loaded

    def add_notification_types(self, types: list[dict[str, Any]]) -> None:
        """CustomNotificationType records from metadata (a source tree or a deploy): setup data, not DML."""
        table = self.store.table("CustomNotificationType")
        known = {row.get("DeveloperName") for row in table.rows.values()}
        for path in types:
            if path["DeveloperName"] in known:
                continue
            rid = self.ids.new("0ML")
            table.put(rid, dict(path, Id=rid, IsDeleted=False, NamespacePrefix=self.namespace))

    def _extend(self, name: str, fields: list[Field]) -> None:
        """Add fields from the source tree to a standard object."""
        obj = self.schema.get(name)
        if obj is not None:
            obj.add(*fields)
            self.store.table(obj.name).refresh_indexes()

    def info(self) -> dict[str, Any]:
        """What the state file lists for this org."""
        return {"name": self.name, "org_id": self.id, "instance_url": self.instance_url,
                "username": self.admin_username, "password": self.admin_password, "user_id": self.admin_id,
                "access_token": self.ready_token, "namespace": self.namespace,
                "client_apps": [a.info() for a in self.apps.values()]}
