"""localorg: a local Salesforce org over HTTPS for tests and the demo (see README.md)."""

from __future__ import annotations

from .org import ClientApp, Knobs, Org
from .server import LocalOrgServer

__all__ = ["ClientApp", "Knobs", "LocalOrgServer", "Org"]
