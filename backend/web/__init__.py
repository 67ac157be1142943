"""Blueprints: each area of the web app registers here."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from backend.web.health import bp as health
    from backend.web.uploads import bp as uploads

    for blueprint in (health, uploads):
        app.register_blueprint(blueprint)
    from backend.web import auth, signup  # accounts: log in/out, reset, invitations; sign-up

    for module in (auth, signup):
        app.register_blueprint(module.bp)
