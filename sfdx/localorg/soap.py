"""placeholder"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("localorg_soap", __name__)
