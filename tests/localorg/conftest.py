"""localorg fixtures (until the root conftest lists the plugin in pytest_plugins)."""

from sfdx.localorg.pytest_plugin import localorg, make_org, org, sf, sf_session  # noqa: F401
