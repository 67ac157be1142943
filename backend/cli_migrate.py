"""`flask --app backend inflow migrate`: a plan of objects from one org (or files) into another, headless.

Exit status: 0 when every row was written (or the dry run found nothing unmatched to report as failed),
1 when rows failed (see the error files), 2 for bad options.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from backend.cli_import import ProgressLine
from backend.errors import ConfigError, InflowError
from backend.migration import templates
from backend.migration.engine import MigrationResult, scope
from backend.migration.plan import ConnectionSource, Plan, shortcut
from backend.pipeline.results import ErrorFileWriter, SuccessFileWriter

FILES = (("success", ("insert", "update"), "success"), ("error", ("insert", "update"), "errors"),
         ("error", ("references",), "references.errors"))  # the second pass's rows have other columns


@click.command("migrate", help="Copy objects and the references between them from one org to another.")
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Plan JSON (docs/migrate.md).")
@click.option("--objects", help="Plan-less: objects to copy with every createable field, e.g. Account,Contact.")
@click.option("--template", help="A ready-made plan by name (see --list-templates); --where/--match adjust it.")
@click.option("--list-templates", is_flag=True, help="List the templates with their objects and match rules.")
@click.option("--where", "wheres", multiple=True, help="OBJECT=SOQL condition (repeatable), with --objects.")
@click.option("--match", "matches", multiple=True, help="OBJECT=FIELD[+FIELD],... match rules, with --objects.")
@click.option("--from", "from_name", help="Source: a connected instance's name.")
@click.option("--from-instance-url", help="Source org URL, with --from-access-token.")
@click.option("--from-access-token", envvar="INFLOW_SF_FROM_ACCESS_TOKEN", help="Source session id.")
@click.option("--to", "to_name", help="Target: a connected instance's name.")
@click.option("--to-instance-url", help="Target org URL, with --to-access-token.")
@click.option("--to-access-token", envvar="INFLOW_SF_TO_ACCESS_TOKEN", help="Target session id.")
@click.option("--fallback-owner", help="Target username or e-mail owning records whose owner has no match.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Directory for <Object>.success.csv / <Object>.errors.csv.")
@click.option("--dry-run", is_flag=True, help="Count inserts, updates and unmatched values; write nothing.")
def migrate_command(plan_file: Path | None, objects: str | None, template: str | None, list_templates: bool,
                    wheres: tuple[str, ...], matches: tuple[str, ...], from_name: str | None,
                    from_instance_url: str | None, from_access_token: str | None,
                    to_name: str | None, to_instance_url: str | None, to_access_token: str | None,
                    fallback_owner: str | None, out_dir: Path, dry_run: bool) -> None:
    if list_templates:
        _list_templates()
        return
    if sum(map(bool, (plan_file, objects, template))) != 1:
        raise click.UsageError("Give one of --plan FILE, --objects A,B or --template NAME.")
    if plan_file and (wheres or matches):
        raise click.UsageError("--where and --match go with --objects or --template; a plan file holds its own.")
    try:
        plan = _plan(plan_file, objects, list(wheres), list(matches)) if not template else \
            templates.templated(template, list(wheres), list(matches))
        if fallback_owner:
            plan.fallback_owner = fallback_owner
        source = _org_client("from", from_name, from_instance_url, from_access_token,
                             required=any(s.source is None for s in plan.steps))
        target = _org_client("to", to_name, to_instance_url, to_access_token, required=True)
        _same_account(from_name, to_name)
        code = _run(plan, source, target, plan_file.parent if plan_file else Path("."), out_dir, dry_run,
                    _connection_opener(to_name or from_name))
    except InflowError as err:
        raise click.ClickException(err.message) from None
    click.get_current_context().exit(code)


def _plan(plan_file: Path | None, objects: str | None, wheres: list[str], matches: list[str]) -> Plan:
    if plan_file is None:
        names = [o.strip() for o in (objects or "").split(",") if o.strip()]
        return shortcut(names, wheres, matches)
    try:
        data = json.loads(plan_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"Cannot read the plan file: {err}") from None
    return Plan.from_dict(data)


def _list_templates() -> None:
    for t in templates.describe():
        match = "; ".join(f"{o} by {'+'.join(f)}" for o, f in t["match"].items() if f) or "always insert"
        click.echo(f"{t['name']}: {t['label']} ({', '.join(t['objects'])}; match {match})")


def _org_client(side: str, name: str | None, url: str | None, token: str | None, required: bool) -> Any:
    if name and (url or token):
        raise click.UsageError(f"Give --{side} NAME, or --{side}-instance-url with --{side}-access-token, not both.")
    if not (name or url or token):
        if required:
            raise click.UsageError(f"Give --{side} NAME, or --{side}-instance-url with --{side}-access-token.")
        return None
    if not name and not (url and token):
        raise click.UsageError(f"--{side}-instance-url and --{side}-access-token go together.")
    from backend.cli_import import client_from_options

    try:
        return client_from_options(name, url, token)
    except click.UsageError as err:
        raise click.UsageError(str(err.message).replace("--instance", f"--{side}")) from None


def _same_account(from_name: str | None, to_name: str | None) -> None:
    """Named instances must be org connections of one account: a tenant's data never reaches another."""
    if not (from_name and to_name):
        return
    from sqlalchemy import select

    from backend.extensions import db
    from backend.models.orgs import OrgConnection

    accounts = set(db.session.scalars(select(OrgConnection.account_id).where(
        OrgConnection.name.in_([from_name, to_name]))))
    if len(accounts) != 1:
        raise click.UsageError("--from and --to must be instances connected by the same account.")


def _connection_opener(instance_name: str | None) -> Any:
    """Connection steps read the saved connections of the named instances' account (or, given only URLs and
    tokens, the one connection of that name)."""
    from sqlalchemy import select

    from backend.cli_connections import loopback
    from backend.cli_import import instance_named
    from backend.connectors import stored
    from backend.extensions import db
    from backend.models.connections import Connection

    account_id = instance_named(instance_name).account_id if instance_name else None

    def open_connection(spec: ConnectionSource) -> Any:
        stmt = select(Connection).where(Connection.name == spec.connection if spec.connection
                                        else Connection.id == str(spec.connection_id))
        if account_id is not None:
            stmt = stmt.where(Connection.account_id == account_id)
        rows = list(db.session.scalars(stmt.limit(2)))
        if len(rows) != 1:
            raise ConfigError(f"no saved connection {spec.label} in the account of the instances." if account_id
                              else f"{len(rows) or 'no'} saved connection(s) {spec.label}; give --to NAME.")
        source = stored.connector(rows[0], allow_loopback=loopback()).source({"time_zone": "UTC", **spec.read})
        db.session.commit()  # an OAuth access token refreshed while finding the data is stored back
        return source
    return open_connection


def _run(plan: Plan, source: Any, target: Any, base: Path, out_dir: Path, dry_run: bool, connections: Any) -> int:
    from backend.migration.engine import Migration
    from backend.runs.files import DirResultParts
    from backend.runs.journal import MemoryJournal

    out_dir.mkdir(parents=True, exist_ok=True)
    parts = DirResultParts(out_dir)
    lines: dict[tuple[str, str], ProgressLine] = {}

    def progress(obj: str, pass_name: str, p: Any) -> None:
        line = lines.setdefault((obj, pass_name), ProgressLine(None))
        if p.phase == "done":
            line.end()
        else:
            line(p)
    try:
        m = Migration(plan, target, source, journal=MemoryJournal(), parts=parts, base_dir=base, progress=progress,
                      connections=connections)
        order = m.prepare()
        click.echo("Order:")
        for reason in order.reasons:
            click.echo(f"  {reason}")
        result = m.run(dry_run=dry_run)
        if not dry_run:
            _result_files(parts, result, out_dir)
    finally:
        parts.cleanup()
    _report(result)
    if result.paused_until is not None:
        raise click.ClickException(f"The target org's API allowance is used up; run again after "
                                   f"{result.paused_until:%Y-%m-%d %H:%M} UTC.")
    return 1 if result.failed else 0


def _result_files(parts: Any, result: MigrationResult, out_dir: Path) -> None:
    from backend.runs.parts import join_parts

    for step in result.steps:
        obj = step.object
        for kind, passes, suffix in FILES:
            names = [n for p in passes for n in parts.part_names(scope(obj, p) + kind + "/")]
            if suffix == "references.errors" and not names:
                continue
            writer = SuccessFileWriter if kind == "success" else ErrorFileWriter
            target = out_dir / f"{obj}.{suffix}.csv"
            with target.open("wb") as out:
                join_parts((parts.read(n) for n in names), out, lambda s, w=writer: w(s, ["Source Id"]))
            click.echo(f"{obj}: {target}")


def _report(result: MigrationResult) -> None:
    verb = "would be " if result.dry_run else ""
    for s in result.steps:
        line = (f"{s.object}: {s.read} read, {s.inserted} {verb}inserted, {s.updated} {verb}updated, "
                f"{s.failed} failed, {s.unmatched} unmatched value(s)")
        if s.second_pass or s.second_failed:
            line += f", {s.second_pass} {verb}given their references in a second pass"
            line += f" ({s.second_failed} failed)" if s.second_failed else ""
        click.echo(line)
    if result.dry_run:
        click.echo("Dry run: nothing was written.")
