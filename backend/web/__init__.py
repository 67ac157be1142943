"""Blueprints: each area of the web app registers here."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from backend.web.health import bp as health
    from backend.web.uploads import bp as uploads

    for blueprint in (health, uploads):
        app.register_blueprint(blueprint)
