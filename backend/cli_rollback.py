"""`flask --app backend inflow rollback RUN_ID`: undo a finished import or migration run from the shell.

A migration run is undone pass by pass in reverse order (second passes, then the steps children first);
an import run chunk by chunk. The work runs in this process, through the same code as the worker's task.
Exit status: 0 when every record was rolled back, 1 otherwise.
"""

from __future__ import annotations

import click

from backend.extensions import db
from backend.models.base import TenantScope
from backend.models.runs import InvalidTransition, Run
from backend.runs import multi, service
from backend.runs.journal import RunJournal

VERBS = {"insert": "inserted records deleted", "update": "updated records restored",
         "references": "second-pass references restored"}


@click.command("rollback", help="Roll back a finished import or migration run (children first).")
@click.argument("run_id")
def rollback_command(run_id: str) -> None:
    run = db.session.get(Run, run_id)
    if run is None:
        raise click.ClickException(f"No run {run_id}.")
    try:
        service.rollback(TenantScope(run.account_id), run_id, queue=False)
    except InvalidTransition:
        db.session.rollback()
        raise click.ClickException(f"Run {run_id} is {run.state}: only a succeeded or partial import or "
                                   f"migration can be rolled back.") from None
    outcome = multi.rollback_any(run_id)
    db.session.expire_all()
    run = db.session.get(Run, run_id)
    for obj, pass_name, ok, bad in RunJournal(run_id).get(multi.ROLLED_BACK) or []:
        click.echo(f"{obj}: {ok} {VERBS.get(pass_name, pass_name)}, {bad} failed")
    click.echo(f"Run {run_id}: {run.state if run else outcome}" + (f" ({run.error_summary})"
                                                                   if run and run.error_summary else ""))
    click.get_current_context().exit(0 if run is not None and run.state == "rolled_back" and not
                                     (run.error_summary or "").strip() else 1)
