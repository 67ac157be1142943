"""Blueprints: each area of the web app registers here."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from backend.web.health import bp as health
    from backend.web.outages import bp as outages
    from backend.web.uploads import bp as uploads

    for blueprint in (health, outages, uploads):
        app.register_blueprint(blueprint)
    from backend.web import headers  # noqa: I001 - canvas half of issue 6: headers, authn, canvas, ...
    from backend.web import authn, canvas, instances, regions

    for module in (headers, authn, canvas, instances, regions):
        app.register_blueprint(module.bp)
    from backend.web import auth, privacy, reauth, salesforce_login, settings_pages, signup  # accounts half of issue 6

    for module in (auth, signup, salesforce_login, reauth, settings_pages, privacy):
        app.register_blueprint(module.bp)
    from backend.web import connections, connections_oauth, exports, jobs, jobs_mapping, runs, ui  # importer UI

    for module in (ui, jobs, jobs_mapping, runs, connections, connections_oauth, exports):
        app.register_blueprint(module.bp)
    from backend.web import schedules  # job schedules and notifications

    app.register_blueprint(schedules.bp)
    from backend.web import trust  # the Security and privacy page

    app.register_blueprint(trust.bp)
    from backend.web import billing  # billing: plans, usage, Stripe Checkout / Portal / webhook

    app.register_blueprint(billing.bp)
    from backend.web import migrations  # org-to-org migrations: templates, dry run, runs

    app.register_blueprint(migrations.bp)
