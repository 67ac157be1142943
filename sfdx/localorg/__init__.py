"""localorg: a local Salesforce org over HTTPS for tests and the demo (see README.md)."""

from __future__ import annotations

from . import dml, fieldkit
from .errors import SfError
from .org import ClientApp, Knobs, Org
from .server import LocalOrgServer
from .soql_exec import execute

__all__ = ["ClientApp", "Knobs", "LocalOrgServer", "Org", "SfError", "dml", "execute", "fieldkit"]
