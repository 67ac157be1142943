"""`flask --app backend inflow schedules ...`: set, inspect, pause, resume and remove job schedules.

Exit status: 0 on success, 2 for a rule, time zone or job that cannot be used (one line saying what to fix).
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from backend.errors import ConfigError
from backend.extensions import db
from backend.models.base import NotFound, TenantScope, utcnow
from backend.models.jobs import Job
from backend.runs import schedules
from backend.schedules import rules


@click.group("schedules", help="Job schedules: list, set, next, preview, pause, resume, remove.")
def schedules_group() -> None:
    pass


def rule_options(command):  # noqa: ANN001, ANN201 - a click decorator
    for name, example in (("--cron", '"0 2 * * *"'), ("--monthly", "last@23:00 or 15@06:00"),
                          ("--weekly", "mon,thu@06:00"), ("--daily", "02:30"), ("--every", "15m or 2h")):
        command = click.option(name, name.strip("-"), help=f"e.g. {example}")(command)
    return command


def _rule(**forms: str | None) -> rules.Rule:
    given = [(form, value) for form, value in forms.items() if value]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --every, --daily, --weekly, --monthly, --cron")
    form, value = given[0]
    try:
        return rules.FORMS[form](value)
    except rules.RuleError as err:
        raise click.UsageError(str(err)) from None


def _zone(name: str) -> str:
    try:
        rules.zone(name)
    except rules.RuleError as err:
        raise click.UsageError(str(err)) from None
    return name


def _job(job_id: str) -> tuple[TenantScope, Job]:
    job = db.session.get(Job, job_id)
    if job is None:
        raise click.UsageError(f"no job {job_id!r}: `flask --app backend inflow schedules list` shows scheduled "
                               "jobs; a job's id is in its page's URL")
    return TenantScope(job.account_id), job


def _print(instants: list[datetime], tz_name: str) -> None:
    tz = rules.zone(tz_name)
    for instant in instants:
        click.echo(instant.astimezone(tz).isoformat())


@schedules_group.command("list", help="Every scheduled job: id, name, rule, time zone, state, next run.")
def list_command() -> None:
    jobs = db.session.scalars(db.select(Job).where(Job.schedule.is_not(None)).order_by(Job.name)).all()
    if not jobs:
        click.echo("No scheduled jobs.")
        return
    for job in jobs:
        state = f"paused ({job.schedule_pause_reason})" if job.schedule_paused else "active"
        upcoming = schedules.upcoming(job, 1)
        when = upcoming[0].astimezone(rules.zone(job.schedule_tz)).isoformat() if upcoming and not \
            job.schedule_paused else "-"
        click.echo(f"{job.id}  {job.name}  {job.schedule}  {job.schedule_tz}  {state}  next: {when}")


@schedules_group.command("set", help="Give a job a schedule (replaces any), in an IANA time zone.")
@click.argument("job_id")
@rule_options
@click.option("--tz", "tz_name", help="IANA time zone, e.g. Europe/Berlin (default: the job's current one).")
def set_command(job_id: str, tz_name: str | None, **forms: str | None) -> None:
    rule = _rule(**forms)
    scope, job = _job(job_id)
    tz_name = tz_name or job.schedule_tz
    if not tz_name:
        raise click.UsageError("give --tz, e.g. --tz Europe/Berlin")
    try:
        job = schedules.set_schedule(scope, job.id, rule.text, _zone(tz_name))
    except ConfigError as err:
        raise click.UsageError(err.message) from None
    upcoming = schedules.upcoming(job, 1)
    click.echo(f"{job.name}: {job.schedule} ({job.schedule_tz}); next run "
               f"{upcoming[0].astimezone(rules.zone(tz_name)).isoformat()}")


@schedules_group.command("next", help="The job's next run times, one ISO 8601 timestamp with offset per line.")
@click.argument("job_id")
@click.option("-n", "count", type=click.IntRange(1, 1000), default=5, show_default=True)
def next_command(job_id: str, count: int) -> None:
    _scope, job = _job(job_id)
    if not job.schedule:
        raise click.UsageError(f"job {job.name!r} has no schedule; set one with `schedules set`")
    _print(schedules.upcoming(job, count), job.schedule_tz)


@schedules_group.command("preview", help="The next run times of a rule not yet saved, from now or --from.")
@rule_options
@click.option("--tz", "tz_name", required=True, help="IANA time zone, e.g. Europe/Berlin.")
@click.option("--from", "from_instant", help="Count from this ISO 8601 instant (with offset or Z); default now.")
@click.option("-n", "count", type=click.IntRange(1, 1000), default=5, show_default=True)
def preview_command(tz_name: str, from_instant: str | None, count: int, **forms: str | None) -> None:
    rule = _rule(**forms)
    start = utcnow()
    if from_instant:
        try:
            start = datetime.fromisoformat(from_instant.replace("Z", "+00:00"))
        except ValueError:
            raise click.UsageError(f"--from {from_instant!r} is not an ISO 8601 instant, e.g. "
                                   "2026-03-29T00:00:00Z") from None
        if start.tzinfo is None:
            raise click.UsageError("--from needs an offset or Z, e.g. 2026-03-29T00:00:00+01:00")
        start = start.astimezone(UTC)
    _print(rules.next_n(rule, _zone(tz_name), start, count), tz_name)


def _change(action, job_id: str) -> Job:  # noqa: ANN001 - one of schedules.pause/resume/remove
    scope, job = _job(job_id)
    try:
        return action(scope, job.id)
    except (ConfigError, NotFound) as err:
        raise click.UsageError(str(err)) from None


@schedules_group.command("pause", help="Stop a job's schedule until resumed.")
@click.argument("job_id")
def pause_command(job_id: str) -> None:
    job = _change(schedules.pause, job_id)
    click.echo(f"{job.name}: paused")


@schedules_group.command("resume", help="Resume a paused schedule from now (missed runs do not run).")
@click.argument("job_id")
def resume_command(job_id: str) -> None:
    job = _change(schedules.resume, job_id)
    click.echo(f"{job.name}: active; next run {schedules.upcoming(job, 1)[0].isoformat()}")


@schedules_group.command("remove", help="Delete a job's schedule (the job stays).")
@click.argument("job_id")
def remove_command(job_id: str) -> None:
    job = _change(schedules.remove, job_id)
    click.echo(f"{job.name}: schedule removed")
