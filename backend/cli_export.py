"""`flask --app backend inflow export`: Salesforce records to a CSV or Excel file, or through a saved connection
into a database table or a file on a file store; headless, without RQ.

Exit status: 0 when the file was written, 1 when the export could not run (Salesforce's own error text
for a bad query), 2 for bad options.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from backend.cli_import import client_from_options, instance_named
from backend.connectors import targets
from backend.errors import InflowError
from backend.pipeline.export import (
    DownloadTarget,
    ExportTarget,
    check_query,
    format_for,
    run_export,
    since,
    soql_for_object,
)


@click.command("export", help="Export Salesforce records to a CSV or Excel file, or through a connection into a "
                              "table or a file (headless; no queue).")
@click.option("--soql", help='A SOQL query, e.g. "SELECT Id, Account.Name FROM Contact".')
@click.option("--object", "object_name", help="Export this sObject, e.g. Contact.")
@click.option("--fields", help="Comma-separated fields with --object (parents too: Account.Name); default all.")
@click.option("--where", help="A SOQL condition with --object.")
@click.option("--all", "include_deleted", is_flag=True, help="Include deleted and archived records (queryAll).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), help="FILE.csv or FILE.xlsx")
@click.option("--connection", help="A connection's name, with --table or --path.")
@click.option("--table", help="Database table to write, with --connection.")
@click.option("--path", "remote_path", help="File path on the connection, with --connection.")
@click.option("--since-last", "since_last", help="Only records changed since the last successful export of "
              "this name (kept with the instance; needs --instance).")
@click.option("--instance", "instance_name", help="A connected instance's name (uses its stored tokens).")
@click.option("--instance-url", help="Org URL, with --access-token.")
@click.option("--access-token", envvar="INFLOW_SF_ACCESS_TOKEN", help="Session id (or set INFLOW_SF_ACCESS_TOKEN).")
def export_command(soql: str | None, object_name: str | None, fields: str | None, where: str | None,
                   include_deleted: bool, out_file: Path | None, connection: str | None, table: str | None,
                   remote_path: str | None, since_last: str | None, instance_name: str | None,
                   instance_url: str | None, access_token: str | None) -> None:
    _check_options(soql, object_name, fields, where, out_file, connection, table, remote_path, since_last,
                   instance_name)
    out_tmp = None
    try:
        target, out_tmp = _target(out_file, connection, table, remote_path)
        client = client_from_options(instance_name, instance_url, access_token)
        text = soql or soql_for_object(object_name or "", _field_list(fields, client, object_name), where)
        query = check_query(text, client.describe, include_deleted=include_deleted)
        job = None
        if since_last:
            from backend.runs.watermarks import export_job

            definition = {"soql": text, "all": include_deleted}
            job = export_job(instance_named(instance_name or ""), since_last, definition, query.object)
            query = since(query, job.watermark)
        result = run_export(client, query, target)
        if out_file is not None:
            os.replace(out_tmp, out_file)
        if job is not None:
            from backend.runs.watermarks import advance

            advance(job, result.started_at)
    except InflowError as err:
        raise click.ClickException(err.message) from None
    finally:
        if out_tmp is not None:
            out_tmp.unlink(missing_ok=True)
    written_to = out_file if out_file is not None else targets.where(
        {"kind": "table" if table else "file", "table": table, "path": remote_path}, connection)
    click.echo(f"{result.api}: {result.rows} record(s) of {query.object} exported to {written_to}")


def _check_options(soql: str | None, object_name: str | None, fields: str | None, where: str | None,
                   out_file: Path | None, connection: str | None, table: str | None, remote_path: str | None,
                   since_last: str | None, instance_name: str | None) -> None:
    if bool(soql) == bool(object_name):
        raise click.UsageError("Give --soql, or --object (with --fields and --where), not both.")
    if soql and (fields or where):
        raise click.UsageError("--fields and --where go with --object; put them in the --soql query instead.")
    if bool(out_file) == bool(connection):
        raise click.UsageError("Give --out FILE.csv|FILE.xlsx, or --connection NAME with --table or --path.")
    if connection and bool(table) == bool(remote_path):
        raise click.UsageError("--connection needs exactly one of --table or --path.")
    if (table or remote_path) and not connection:
        raise click.UsageError("--table and --path go with --connection.")
    if since_last and not instance_name:
        raise click.UsageError("--since-last keeps its watermark with a connected instance: give --instance.")


def _target(out_file: Path | None, connection: str | None, table: str | None,
            remote_path: str | None) -> tuple[ExportTarget, Path | None]:
    if out_file is None:
        from backend.cli_connections import loopback, named
        from backend.connectors import stored

        connector = stored.connector(named(connection or ""), allow_loopback=loopback())
        return targets.for_connector(connector, table=table, path=remote_path), None
    try:
        fmt = format_for(out_file.name)
    except InflowError as err:
        raise click.UsageError(err.message) from None
    # Written beside the final name and renamed at the end: a failed export leaves no half file behind.
    tmp = out_file.with_name(f".{out_file.name}.part")
    handles: list[Any] = []

    def open_stream() -> Any:
        handles.append(tmp.open("wb"))
        return handles[-1]

    def close_stream(ok: bool) -> None:
        for handle in handles:
            handle.close()

    return DownloadTarget(fmt, open_stream, close_stream), tmp


def _field_list(fields: str | None, client: Any, object_name: str | None) -> list[str]:
    if fields:
        return [f.strip() for f in fields.split(",") if f.strip()]
    from backend.pipeline.export.soql import all_fields

    try:
        return all_fields(client.describe(object_name))
    except InflowError:
        return ["Id"]  # the query check then answers with Salesforce's INVALID_TYPE text
