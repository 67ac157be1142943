"""`flask --app backend inflow connections add NAME URL | list | test NAME | remove NAME`.

An operator's commands: a connection belongs to an account, named with `--account` (an account id or
company name) or, when the deployment has exactly one account, that one. Secrets never print.
"""

from __future__ import annotations

import os

import click
from sqlalchemy import select

from backend.connectors import ConnectorError
from backend.connectors import stored as connections
from backend.errors import InflowError
from backend.extensions import db
from backend.models.accounts import Account
from backend.models.base import TenantScope
from backend.models.connections import Connection
from backend.services import get_settings


@click.group("connections", help="External systems to import from (databases, file stores, URLs).")
def connections_group() -> None:
    pass


def _account(ref: str | None) -> Account:
    stmt = select(Account)
    if ref:
        stmt = stmt.where((Account.id == ref) | (Account.company == ref))
    found = list(db.session.scalars(stmt.limit(2)))
    if len(found) != 1:
        what = f"matching {ref!r}" if ref else "in this deployment; name one with --account"
        raise click.UsageError(f"{'More than one account' if found else 'No account'} {what}.")
    return found[0]


def named(name: str, account_ref: str | None = None) -> Connection:
    """The one connection called `name` (in `account_ref`'s account if given); a usage error otherwise."""
    stmt = select(Connection).where(Connection.name == name)
    if account_ref:
        stmt = stmt.where(Connection.account_id == _account(account_ref).id)
    rows = list(db.session.scalars(stmt.limit(2)))
    if len(rows) != 1:
        more = "; name the account with --account" if rows else ""
        raise click.UsageError(f"{len(rows) or 'No'} connection(s) named {name!r}{more}.")
    return rows[0]


def loopback() -> bool:
    return get_settings().egress_allow_loopback


@connections_group.command("add", help="Save a connection from a URL (postgresql://user:pass@host:port/db, "  # noqa: E501  # pragma: allowlist secret
                                       "mysql://..., sftp://..., ftps://..., s3://bucket/prefix, https://...).")
@click.argument("name")
@click.argument("url")
@click.option("--account", "account_ref", help="Account id or company (default: the only account).")
@click.option("--no-test", is_flag=True, help="Save without connecting first.")
def add_command(name: str, url: str, account_ref: str | None, no_test: bool) -> None:
    scope = TenantScope(_account(account_ref).id)
    try:
        row = connections.create_from_url(scope, name, url, extra=_env_secrets(url))
        if not no_test:
            connector = connections.connector(row, allow_loopback=loopback())
            click.echo(connector.test())
            learned = getattr(connector, "learned", None)
            if learned:  # adding from the command line accepts the fingerprint shown above
                connections.update(scope, row, params=learned)
                click.echo(f"host key {learned['host_key']} accepted and pinned")
    except InflowError as err:
        db.session.rollback()
        raise click.ClickException(_line(err)) from None
    db.session.commit()
    click.echo(f"saved connection {row.name!r} ({row.type})")


def _env_secrets(url: str) -> dict[str, str]:
    """S3 keys from the environment when the URL carries none (as the AWS tools do)."""
    if not url.lower().startswith("s3://") or "@" in url.split("/", 3)[2]:
        return {}
    keys = {"access_key_id": os.environ.get("AWS_ACCESS_KEY_ID", ""),
            "secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY", "")}
    return {k: v for k, v in keys.items() if v}


@connections_group.command("list", help="Every saved connection: name, type, account, where it points.")
def list_command() -> None:
    rows = db.session.scalars(select(Connection).order_by(Connection.account_id, Connection.name))
    for row in rows:
        info = connections.describe(row)
        where = " ".join(f"{k}={v}" for k, v in sorted(info["details"].items()))
        click.echo(f"{row.name}\t{row.type}\taccount={row.account_id}\t{where}")


@connections_group.command("test", help="Connect and report what works, or which step failed.")
@click.argument("name")
@click.option("--account", "account_ref", help="Account id or company, when names repeat across accounts.")
def test_command(name: str, account_ref: str | None) -> None:
    row = named(name, account_ref)
    from backend.models.audit import record

    try:
        message = connections.connector(row, allow_loopback=loopback()).test()
    except ConnectorError as err:
        record("connection.test", account_id=row.account_id, target=row.id, ok=False, stage=err.stage)
        db.session.commit()
        raise click.ClickException(_line(err)) from None
    record("connection.test", account_id=row.account_id, target=row.id, ok=True)
    db.session.commit()
    click.echo(f"ok: {message}")


@connections_group.command("remove", help="Delete a saved connection (refused while a job uses it).")
@click.argument("name")
@click.option("--account", "account_ref", help="Account id or company, when names repeat across accounts.")
def remove_command(name: str, account_ref: str | None) -> None:
    row = named(name, account_ref)
    try:
        revoked = connections.remove(TenantScope(row.account_id), row, allow_loopback=loopback())
    except InflowError as err:
        raise click.ClickException(_line(err)) from None
    db.session.commit()
    if revoked is False:
        click.echo("the provider could not be reached to revoke the access; revoke it there", err=True)
    click.echo(f"removed connection {name!r}" + (" (access revoked at the provider)" if revoked else ""))


def _line(err: InflowError) -> str:
    stage = getattr(err, "stage", None)
    text = " ".join(err.message.split())
    return f"{stage} failed: {text}" if stage and stage != "config" else text
