"""`flask --app backend inflow import`: the import engine headless, on a local file, without RQ.

Exit status: 0 when every row was written, 1 when rows failed (see the error file) or the import
could not run, 2 for bad options.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

import click

from backend.errors import ConfigError, InflowError
from backend.pipeline.mapping import FieldMapping, Mapper, Mapping, auto_map, preview, validate_mapping
from backend.pipeline.mapping.model import OPERATIONS
from backend.pipeline.results import ErrorFileWriter, SuccessFileWriter
from backend.pipeline.sinks import APIS
from backend.pipeline.sources import Source, create_source
from backend.runs.files import DirResultParts
from backend.runs.journal import MemoryJournal

AUTOMAP_MIN_SCORE = 0.8  # names and labels that match; "similar name" guesses are left for the user
PREVIEW_ROWS = 20
SHOW_ERRORS = 50


@click.group("inflow", help="Inflow data commands.")
def inflow_group() -> None:
    pass


@inflow_group.command("import", help="Import a CSV or Excel file, or what a saved connection reads, into Salesforce "
                                     "(headless; no queue).")
@click.option("--file", "file_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--connection", "connection_name", help="A saved connection's name (see `inflow connections`).")
@click.option("--table", help="With --connection to a database: schema.table or table.")
@click.option("--query", help="With --connection to a database: a read-only SQL query.")
@click.option("--path", "remote_path", help="With --connection to a file store: a path or glob (newest match).")
@click.option("--columns", help="With --table: comma-separated column names (default: every column).")
@click.option("--where", help="With --table: a SQL condition the rows must meet.")
@click.option("--unsupported-as-text", is_flag=True,
              help="With --table or --query: send binary, JSON and array columns as text instead of refusing them.")
@click.option("--time-zone", default="UTC", show_default=True,
              help="With --connection: the zone timestamps with a time zone are given in.")
@click.option("--object", "object_name", required=True, help="Target sObject, e.g. Contact.")
@click.option("--operation", type=click.Choice(OPERATIONS), default="insert", show_default=True)
@click.option("--match", "match_key", help="Match field for upsert/update/delete (external id, Id, any field).")
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Mapping JSON (as a job stores it); default: map columns to fields by name.")
@click.option("--instance", "instance_name", help="A connected instance's name (uses its stored tokens).")
@click.option("--instance-url", help="Org URL, with --access-token.")
@click.option("--access-token", envvar="INFLOW_SF_ACCESS_TOKEN", help="Session id (or set INFLOW_SF_ACCESS_TOKEN).")
@click.option("--api", type=click.Choice(APIS), default="auto", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the result files (default: next to the input).")
@click.option("--dry-run", is_flag=True, help="Validate and preview the first rows; write nothing.")
def import_command(file_path: Path | None, connection_name: str | None, table: str | None, query: str | None,
                   remote_path: str | None, columns: str | None, where: str | None, unsupported_as_text: bool,
                   time_zone: str, object_name: str, operation: str,
                   match_key: str | None, mapping_file: Path | None, instance_name: str | None,
                   instance_url: str | None, access_token: str | None, api: str, out_dir: Path | None,
                   dry_run: bool) -> None:
    read = _read_options(file_path, connection_name, table, query, remote_path)
    opener = _Opener(file_path) if file_path else None
    try:
        client = client_from_options(instance_name, instance_url, access_token)
        if file_path:
            source = _source(file_path, opener)
        else:
            source = connection_source(connection_name, {
                **read, "time_zone": time_zone, "where": where, "unsupported_as_text": unsupported_as_text,
                "columns": [c.strip() for c in columns.split(",") if c.strip()] if columns else None})
            file_path = Path.cwd() / _result_stem(connection_name, read)
        describe = client.describe(object_name)
        mapping = _mapping(mapping_file, object_name, operation, match_key, source, describe)
        ctx = click.get_current_context()
        if dry_run:
            ctx.exit(_dry_run(mapping, describe, source))
        report = validate_mapping(mapping, describe, source.columns())
        _print_issues(report)
        if not report.ok:
            raise click.ClickException("The mapping has errors; nothing was imported.")
        ctx.exit(_run(file_path, out_dir or file_path.parent, source, mapping, client, api))
    except InflowError as err:
        stage = getattr(err, "stage", None)
        text = " ".join(err.message.split())
        raise click.ClickException(f"{stage} failed: {text}" if stage not in (None, "config") else text) from None
    finally:
        if opener is not None:
            opener.close()


def _read_options(file_path: Path | None, connection: str | None, table: str | None, query: str | None,
                  path: str | None) -> dict[str, str]:
    given = {k: v for k, v in (("table", table), ("query", query), ("path", path)) if v}
    if bool(file_path) == bool(connection):
        raise click.UsageError("Give --file, or --connection with --table, --query or --path.")
    if connection and len(given) != 1:
        raise click.UsageError("With --connection give exactly one of --table, --query or --path.")
    if file_path and given:
        raise click.UsageError("--table, --query and --path go with --connection, not --file.")
    return given


def connection_source(name: str, spec: dict[str, str]) -> Source:
    from backend.cli_connections import loopback, named
    from backend.connectors import stored
    from backend.extensions import db

    source = stored.connector(named(name), allow_loopback=loopback()).source(spec)
    db.session.commit()  # an OAuth access token refreshed while finding the data is stored back
    return source


def _result_stem(connection: str, read: dict[str, str]) -> str:
    """Result files are named after the connection and what was read: `erp-public.customers.success.csv`."""
    what = read.get("table") or (Path(read["path"]).stem if "path" in read else "query")
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{connection}-{what}")
    return safe + ".connection"


def client_from_options(instance_name: str | None, instance_url: str | None, access_token: str | None) -> Any:
    from backend.services import get_keyring, get_settings

    settings = get_settings()
    if instance_name and (instance_url or access_token):
        raise click.UsageError("Give --instance, or --instance-url with --access-token, not both.")
    if instance_name:
        from backend.salesforce.session import client_for

        return client_for(instance_named(instance_name), get_keyring(), settings)
    if not (instance_url and access_token):
        raise click.UsageError("Give --instance NAME, or --instance-url with --access-token.")
    from backend.salesforce.client import SalesforceClient
    from backend.salesforce.oauth import salesforce_url
    from backend.salesforce.session import ca_bundle

    try:
        url = salesforce_url(instance_url, settings)  # the token goes only to a Salesforce host
    except ValueError as err:
        raise click.UsageError(f"--instance-url: {err}") from None
    return SalesforceClient(url, access_token, api_version=settings.salesforce_api_version, ca_bundle=ca_bundle())


def instance_named(instance_name: str) -> Any:
    """The one connected instance of that name (an operator command: named, not reached through an account)."""
    from sqlalchemy import select

    from backend.extensions import db
    from backend.models.orgs import OrgConnection

    orgs = list(db.session.scalars(select(OrgConnection).where(OrgConnection.name == instance_name)))
    if len(orgs) != 1:
        raise click.UsageError(f"{len(orgs) or 'No'} connected instance(s) named {instance_name!r}.")
    return orgs[0]


class _Opener:
    """Opens the input for the source each time it asks, and closes every handle at the end.

    Sources open the file more than once (header, then rows) and may drop a handle unclosed;
    holding them here closes them deterministically instead of at garbage collection.
    """

    def __init__(self, path: Path) -> None:
        self.path, self.handles = path, []

    def __call__(self) -> BinaryIO:
        handle = self.path.open("rb")
        self.handles.append(handle)
        return handle

    def close(self) -> None:
        for handle in self.handles:
            handle.close()
        self.handles.clear()


def _source(path: Path, opener: _Opener) -> Source:
    kind = "xlsx" if path.suffix.lower() in (".xlsx", ".xlsm") else "csv"
    return create_source(kind, {}, open_stream=opener)


def _mapping(mapping_file: Path | None, object_name: str, operation: str, match_key: str | None,
             source: Source, describe: dict[str, Any]) -> Mapping:
    if mapping_file is not None:
        try:
            data = json.loads(mapping_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ConfigError(f"Cannot read the mapping file: {err}") from None
        data = {k: v for k, v in data.items() if k != "api"}
        data.update(object=object_name, operation=operation)
        if match_key:
            data["match_key"] = match_key
        return Mapping.from_dict(data)
    picks = [s for s in auto_map(source.columns(), describe, operation) if s.score >= AUTOMAP_MIN_SCORE]
    if not picks:
        raise ConfigError(f"No column matches a field of {object_name}; give a mapping with --mapping.")
    for s in picks:
        click.echo(f"map {s.column!r} -> {s.field} ({s.reason})", err=True)
    return Mapping(object_name, operation, match_key, fields=[FieldMapping(s.field, column=s.column) for s in picks])


def _print_issues(report: Any) -> None:
    for issue in report.errors:
        click.echo(f"error: {issue.message}", err=True)
    for issue in report.warnings:
        click.echo(f"warning: {issue.message}", err=True)


def _dry_run(mapping: Mapping, describe: dict[str, Any], source: Source) -> int:
    """Mapping problems, the first rows as they would be sent, and every row that would fail."""
    report = validate_mapping(mapping, describe, source.columns())
    _print_issues(report)
    if not report.ok:
        return 1
    shown = preview(mapping, describe, source.read(), source.columns(), limit=PREVIEW_ROWS)
    click.echo(f"First {len(shown.rows)} row(s) as they would be sent to {mapping.object}:")
    for number, row in zip(shown.row_numbers, shown.rows, strict=True):
        click.echo(f"  row {number}: {json.dumps(row, ensure_ascii=False, default=str)}")
    mapper, rows, errors = Mapper(mapping, describe, source.columns()), 0, 0
    for chunk in source.read():
        mapped = mapper.map_chunk(chunk)
        rows += len(mapped) + len(mapped.errors)
        for err in mapped.errors:
            errors += 1
            if errors <= SHOW_ERRORS:
                click.echo(f"  row {err.row_number}: {err.message}")
    more = f" (first {SHOW_ERRORS} shown)" if errors > SHOW_ERRORS else ""
    click.echo(f"Dry run: {rows} row(s) read, {errors} would fail validation{more}. Nothing was written.")
    return 1 if errors else 0


def _run(file_path: Path, out_dir: Path, source: Source, mapping: Mapping, client: Any, api: str) -> int:
    from backend.pipeline import runner

    out_dir.mkdir(parents=True, exist_ok=True)
    parts = DirResultParts(out_dir)
    total = _count_rows(file_path) if file_path.suffix.lower() == ".csv" and file_path.exists() else None
    line = ProgressLine(total)
    try:
        result = runner.run(runner.RunContext(
            source=source, mapping=mapping, client=client, api=api, journal=MemoryJournal(), results=parts,
            progress=line, row_count_hint=total))
        line.end()
        if result.paused_until is not None:
            raise click.ClickException(f"The org's API allowance is used up; run again after "
                                       f"{result.paused_until:%Y-%m-%d %H:%M} UTC.")
        columns = source.columns()
        success = parts.assemble("success/", out_dir / f"{file_path.stem}.success.csv",
                                 lambda s: SuccessFileWriter(s, columns))
        errors = parts.assemble("error/", out_dir / f"{file_path.stem}.errors.csv",
                                lambda s: ErrorFileWriter(s, columns))
    finally:
        parts.cleanup()
    click.echo(f"{result.api_used}: {result.rows_read} read, {result.succeeded} succeeded, {result.failed} failed")
    click.echo(f"success file: {success}\nerror file: {errors}")
    return 1 if result.failed else 0


def _count_rows(path: Path) -> int:
    lines, last = 0, b"\n"
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(lines + (0 if last == b"\n" else 1) - 1, 0)


class ProgressLine:
    """One status line on stderr: rewritten in place on a terminal, a line per update otherwise."""

    def __init__(self, total: int | None) -> None:
        self.total, self.started = total, time.monotonic()
        self.tty = sys.stderr.isatty()
        self.shown = False

    def __call__(self, p: Any) -> None:
        of = f"/{self.total}" if self.total else ""
        pct = f" {min(100, 100 * p.rows_read // self.total)}%" if self.total else ""
        text = (f"{p.phase:<8}{pct} {p.rows_read}{of} read, {p.succeeded} ok, {p.failed} failed, "
                f"{time.monotonic() - self.started:.0f}s")
        click.echo(("\r" + text) if self.tty else text, err=True, nl=not self.tty)
        self.shown = True

    def end(self) -> None:
        if self.tty and self.shown:
            click.echo("", err=True)
