"""Schedule rules and their occurrences in an IANA time zone, with the daylight-saving rules.

A rule is one of the CLI's forms (`every 15m`, `every 2h`, `daily 02:30`, `weekly mon,thu@06:00`,
`monthly 15@06:00`, `monthly last@23:00`, `cron 0 2 * * *`), stored on the job as that canonical text.
Every form is a cron expression over local wall-clock time; croniter walks the wall clock and each
local time is then placed on the time line:

- a local time that does not exist (spring forward) runs at the first valid minute after it, once;
- a local time that occurs twice (fall back) runs once, at its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, croniter

MIN_EVERY_MINUTES = 5
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CRON_DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class RuleError(ValueError):
    """A schedule the user wrote that cannot be understood; the message says what to write instead."""


@dataclass(frozen=True)
class Rule:
    text: str  # canonical form, e.g. "weekly mon,thu@06:00"
    cron: str  # the same as a five-field cron expression over local time

    def __str__(self) -> str:
        return self.text


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuleError(f"Unknown time zone {name!r}: use an IANA name such as Europe/Berlin or "
                        "America/New_York.") from exc


def _time(value: str, form: str) -> tuple[int, int]:
    match = _TIME.match(value.strip())
    if not match:
        raise RuleError(f"{form}: {value!r} is not a time; write it as HH:MM on a 24-hour clock, e.g. 02:30.")
    return int(match.group(1)), int(match.group(2))


def every(value: str) -> Rule:
    match = re.fullmatch(r"\s*(\d+)\s*([mh])\s*", value.lower())
    if not match:
        raise RuleError(f"every: {value!r} is not an interval; write minutes or hours, e.g. 15m or 2h.")
    n, unit = int(match.group(1)), match.group(2)
    if unit == "m":
        if n < MIN_EVERY_MINUTES:
            raise RuleError(f"every: {n} minutes is too often; the shortest interval is {MIN_EVERY_MINUTES}m.")
        if n >= 60:
            raise RuleError(f"every: write {n} minutes in hours (e.g. {n // 60}h) or use --cron.")
        return Rule(f"every {n}m", f"*/{n} * * * *")
    if not 1 <= n <= 23:
        raise RuleError(f"every: {n} hours is out of range; use 1h to 23h, or --daily for once a day.")
    return Rule(f"every {n}h", f"0 */{n} * * *")


def daily(value: str) -> Rule:
    hour, minute = _time(value, "daily")
    return Rule(f"daily {hour:02d}:{minute:02d}", f"{minute} {hour} * * *")


def weekly(value: str) -> Rule:
    days_part, _, time_part = value.partition("@")
    if not time_part:
        raise RuleError(f"weekly: {value!r} needs days and a time, e.g. mon,thu@06:00.")
    days = [d.strip().lower()[:3] for d in days_part.split(",") if d.strip()]
    unknown = [d for d in days if d not in DAYS]
    if not days or unknown:
        raise RuleError(f"weekly: {', '.join(unknown) or 'no day'} is not a weekday; use mon, tue, wed, thu, "
                        "fri, sat, sun, e.g. mon,thu@06:00.")
    days = sorted(set(days), key=DAYS.index)
    hour, minute = _time(time_part, "weekly")
    cron_days = ",".join(str(_CRON_DAYS[d]) for d in days)
    return Rule(f"weekly {','.join(days)}@{hour:02d}:{minute:02d}", f"{minute} {hour} * * {cron_days}")


def monthly(value: str) -> Rule:
    day_part, _, time_part = value.partition("@")
    if not time_part:
        raise RuleError(f"monthly: {value!r} needs a day and a time, e.g. 15@06:00 or last@23:00.")
    day = day_part.strip().lower()
    hour, minute = _time(time_part, "monthly")
    if day == "last":
        return Rule(f"monthly last@{hour:02d}:{minute:02d}", f"{minute} {hour} L * *")
    if not day.isdigit() or not 1 <= int(day) <= 28:
        raise RuleError(f"monthly: day {day_part!r} must be 1 to 28 (every month has it) or 'last'.")
    return Rule(f"monthly {int(day)}@{hour:02d}:{minute:02d}", f"{minute} {hour} {int(day)} * *")


def cron(value: str) -> Rule:
    expression = " ".join(value.split())
    if len(expression.split(" ")) != 5:
        raise RuleError(f"cron: {value!r} must have five fields (minute hour day month weekday), "
                        "e.g. \"0 2 * * *\".")
    try:
        croniter(expression, datetime(2026, 1, 1))
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        raise RuleError(f"cron: {value!r} is not a valid cron expression ({exc}).") from exc
    minutes = expression.split(" ")[0]
    if minutes in ("*", "*/1", "*/2", "*/3", "*/4"):
        raise RuleError(f"cron: {value!r} runs more often than every {MIN_EVERY_MINUTES} minutes.")
    return Rule(f"cron {expression}", expression)


FORMS = {"every": every, "daily": daily, "weekly": weekly, "monthly": monthly, "cron": cron}


def parse(text: str) -> Rule:
    """A rule from its canonical text (what `Rule.text` gives and the job stores)."""
    form, _, value = text.strip().partition(" ")
    if form not in FORMS:
        raise RuleError(f"Unknown schedule {text!r}: use every, daily, weekly, monthly or cron.")
    return FORMS[form](value)


def _place(local: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant a local wall time runs at: a nonexistent time moves to the first valid minute
    after it; an ambiguous one takes its first occurrence (fold=0)."""
    candidate = local
    for _ in range(24 * 60):  # no zone skips more than a day
        instant = candidate.replace(tzinfo=tz, fold=0).astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == candidate:
            return instant
        candidate += timedelta(minutes=1)
    raise RuleError(f"no valid local time after {local.isoformat()} in {tz.key}")


def occurrences(rule: Rule, tz_name: str, after: datetime) -> Iterator[datetime]:
    """UTC instants of the rule strictly after `after` (an aware datetime), in order, without end."""
    tz = zone(tz_name)
    start = after.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0) - timedelta(hours=3)
    walker = croniter(rule.cron, start)  # naive local time: croniter walks the wall clock itself
    last = after
    while True:
        instant = _place(walker.get_next(datetime), tz)
        if instant > last:
            last = instant
            yield instant


def next_n(rule: Rule, tz_name: str, after: datetime, n: int = 5) -> list[datetime]:
    found = []
    for instant in occurrences(rule, tz_name, after):
        found.append(instant)
        if len(found) == n:
            break
    return found


def latest_due(rule: Rule, tz_name: str, since: datetime, now: datetime) -> datetime | None:
    """The last occurrence in (since, now], or None: missed occurrences collapse into the latest one."""
    latest = None
    for instant in occurrences(rule, tz_name, since):
        if instant > now:
            return latest
        latest = instant
    return latest  # pragma: no cover - occurrences never ends
