"""placeholder"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("localorg_query", __name__)
