"""Flask CLI commands: `flask --app backend keys ...`, `purge` (and `billing`, `inflow import` beside it)."""

from __future__ import annotations

import click
from flask import Flask

from backend.cli_billing import billing_group
from backend.cli_connections import connections_group
from backend.cli_export import export_command
from backend.cli_import import inflow_group
from backend.cli_migrate import migrate_command
from backend.cli_rollback import rollback_command
from backend.cli_schedules import schedules_group
from backend.extensions import db
from backend.security import keys as key_ops
from backend.security.crypto import generate_keyring, save_keyring
from backend.services import get_blob_store, get_keyring, get_settings, set_keyring


def register_cli(app: Flask) -> None:
    app.cli.add_command(keys_group)
    app.cli.add_command(purge_command)
    inflow_group.add_command(connections_group)
    inflow_group.add_command(export_command)
    app.cli.add_command(inflow_group)
    inflow_group.add_command(schedules_group)
    inflow_group.add_command(migrate_command)
    inflow_group.add_command(rollback_command)
    app.cli.add_command(billing_group)


@click.group("keys", help="Manage the AES-256-GCM keyring.")
def keys_group() -> None:
    pass


def _keyring_file():
    settings = get_settings()
    if settings.keys:
        return None  # keys come from INFLOW_KEYS: the operator edits that variable
    return settings.key_file or settings.instance_path / "keys.json"


def _store(keyring) -> None:
    path = _keyring_file()
    if path is None:
        click.echo("INFLOW_KEYS is set in the environment; set it to this keyring:")
        click.echo(keyring.to_json())
    else:
        save_keyring(keyring, path)
    set_keyring(keyring)


@keys_group.command("generate", help="Print a new keyring (JSON) for INFLOW_KEYS or a key file.")
def keys_generate() -> None:
    click.echo(generate_keyring().to_json())


@keys_group.command("rotate", help="Add a new primary key and re-encrypt every secret and blob under it.")
def keys_rotate() -> None:
    old = get_keyring()
    new = old.with_new_primary()
    _store(new)
    count = key_ops.reencrypt_all(old, new)
    from backend.models.audit import record

    record("keys.rotate", target=new.primary, values=count)
    db.session.commit()
    click.echo(f"new primary key {new.primary}; re-encrypted {count} value(s) and blob(s)")


@keys_group.command("retire", help="Remove a key that no stored value uses any more.")
@click.argument("kid")
def keys_retire(kid: str) -> None:
    try:
        new = key_ops.retire(get_keyring(), kid)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    _store(new)
    click.echo(f"key {kid} retired; keys left: {', '.join(sorted(new.keys))}")


@keys_group.command("list", help="Key ids, the primary, and how many stored values each encrypts.")
def keys_list() -> None:
    keyring, usage = get_keyring(), key_ops.key_usage()
    for kid in sorted(keyring.keys):
        mark = " (primary)" if kid == keyring.primary else ""
        click.echo(f"{kid}{mark}: {usage.get(kid, 0)} value(s)")


@click.command("purge", help="Delete expired uploads, result files and snapshots.")
def purge_command() -> None:
    click.echo(f"purged {get_blob_store().purge_expired()} expired blob(s)")
