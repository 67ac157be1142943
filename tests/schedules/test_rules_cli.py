"""Schedule rules through the CLI, with a frozen clock (`--from`) across both daylight-saving changes of
three zones: a local time that does not exist runs once at the first valid minute after it; a local time
that occurs twice runs once, at its first occurrence."""

from __future__ import annotations

import pytest

from backend import create_app


@pytest.fixture
def cli(tmp_path):
    app = create_app({"env": "test", "database_url": f"sqlite:///{tmp_path / 'cli.db'}",
                      "instance_path": tmp_path / "i"})
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(args=["inflow", "schedules", *args])
    return run


def preview(cli, *args: str) -> list[str]:
    result = cli("preview", *args)
    assert result.exit_code == 0, result.output
    return result.output.split()


def test_daily_at_a_time_that_spring_forward_skips_runs_once_at_the_first_valid_minute(cli):
    # Europe/Berlin 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that day.
    assert preview(cli, "--daily", "02:30", "--tz", "Europe/Berlin", "--from", "2026-03-27T12:00:00Z", "-n",
                   "4") == ["2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00",
                            "2026-03-31T02:30:00+02:00"]


def test_daily_at_a_time_that_fall_back_repeats_runs_once_at_its_first_occurrence(cli):
    # Europe/Berlin 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice, runs at the first.
    assert preview(cli, "--daily", "02:30", "--tz", "Europe/Berlin", "--from", "2026-10-24T12:00:00Z", "-n",
                   "3") == ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", "2026-10-27T02:30:00+01:00"]


def test_every_fifteen_minutes_across_both_changes_in_new_york(cli):
    # 2026-03-08 02:00 EST -> 03:00 EDT: the four slots of the missing hour become one run at 03:00.
    assert preview(cli, "--every", "15m", "--tz", "America/New_York", "--from", "2026-03-08T06:40:00Z", "-n",
                   "3") == ["2026-03-08T01:45:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:15:00-04:00"]
    # 2026-11-01 02:00 EDT -> 01:00 EST: 01:00..01:45 run in their first (EDT) pass only.
    assert preview(cli, "--every", "15m", "--tz", "America/New_York", "--from", "2026-11-01T05:30:00Z", "-n",
                   "3") == ["2026-11-01T01:45:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T02:15:00-05:00"]


def test_sydney_changes_in_april_and_october(cli):
    # Australia/Sydney 2026-04-05 03:00 AEDT -> 02:00 AEST: 02:30 twice, first one only.
    assert preview(cli, "--cron", "30 2 * * *", "--tz", "Australia/Sydney", "--from", "2026-04-04T00:00:00Z",
                   "-n", "2") == ["2026-04-05T02:30:00+11:00", "2026-04-06T02:30:00+10:00"]
    # 2026-10-04 02:00 AEST -> 03:00 AEDT: 02:30 does not exist.
    assert preview(cli, "--cron", "30 2 * * *", "--tz", "Australia/Sydney", "--from", "2026-10-03T00:00:00Z",
                   "-n", "2") == ["2026-10-04T03:00:00+11:00", "2026-10-05T02:30:00+11:00"]


def test_weekly_and_monthly_last_day(cli):
    assert preview(cli, "--weekly", "thu,mon@06:00", "--tz", "Europe/Berlin", "--from", "2026-12-05T00:00:00Z",
                   "-n", "3") == ["2026-12-07T06:00:00+01:00", "2026-12-10T06:00:00+01:00", "2026-12-14T06:00:00+01:00"]
    assert preview(cli, "--monthly", "last@23:00", "--tz", "UTC", "--from", "2027-01-15T00:00:00Z", "-n",
                   "3") == ["2027-01-31T23:00:00+00:00", "2027-02-28T23:00:00+00:00", "2027-03-31T23:00:00+00:00"]


@pytest.mark.parametrize("args, says", [
    (["--every", "3m", "--tz", "UTC"], "shortest interval is 5m"),
    (["--daily", "25:00", "--tz", "UTC"], "HH:MM"),
    (["--weekly", "funday@06:00", "--tz", "UTC"], "not a weekday"),
    (["--monthly", "31@06:00", "--tz", "UTC"], "'last'"),
    (["--cron", "0 2 * *", "--tz", "UTC"], "five fields"),
    (["--daily", "02:30", "--tz", "Mars/Olympus"], "IANA"),
    (["--daily", "02:30", "--every", "15m", "--tz", "UTC"], "exactly one"),
    (["--daily", "02:30", "--tz", "UTC", "--from", "2026-03-01T00:00:00"], "offset or Z"),
])
def test_bad_rules_exit_2_saying_what_to_write(cli, args, says):
    result = cli("preview", *args)
    assert result.exit_code == 2 and says in result.output
