"""Dates and datetimes: input formats, time zones, and the hours around daylight-saving changes."""

from __future__ import annotations

import pandas as pd
import pytest

from backend.errors import ConfigError
from backend.pipeline.mapping.values import (
    format_dates,
    format_datetimes,
    format_numbers,
    parse_dates,
    parse_datetimes,
    parse_numbers,
    zone,
)


def datetimes(values: list[str], tz: str, formats: list[str] | None = None) -> list:
    out = format_datetimes(parse_datetimes(pd.Series(values), formats or ["iso"], tz))
    return [None if pd.isna(v) else v for v in out]


def dates(values: list[str], formats: list[str]) -> list:
    return [None if pd.isna(v) else v for v in format_dates(parse_dates(pd.Series(values), formats))]


def test_berlin_spring_forward() -> None:
    # 2026-03-29: clocks jump from 02:00 CET to 03:00 CEST; 02:00-02:59 do not exist.
    assert datetimes(["2026-03-29 01:59", "2026-03-29 02:30", "2026-03-29 03:00", "2026-03-29 12:00"],
                     "Europe/Berlin") == ["2026-03-29T00:59:00.000Z", "2026-03-29T01:30:00.000Z",
                                          "2026-03-29T01:00:00.000Z", "2026-03-29T10:00:00.000Z"]


def test_berlin_fall_back_takes_the_first_of_the_repeated_hour() -> None:
    # 2026-10-25: 02:00-02:59 happen twice (CEST, then CET); the first (CEST, +02:00) is taken.
    assert datetimes(["2026-10-25 01:59", "2026-10-25 02:30", "2026-10-25 03:00"], "Europe/Berlin") == [
        "2026-10-24T23:59:00.000Z", "2026-10-25T00:30:00.000Z", "2026-10-25T02:00:00.000Z"]


def test_new_york_both_changes() -> None:
    assert datetimes(["03/08/2026 2:30 AM", "03/08/2026 3:30 AM", "11/01/2026 1:30 AM", "11/01/2026 2:30 AM"],
                     "America/New_York", ["us"]) == [
        "2026-03-08T07:30:00.000Z", "2026-03-08T07:30:00.000Z",
        "2026-11-01T05:30:00.000Z", "2026-11-01T07:30:00.000Z"]


def test_noon_every_day_across_the_change_is_never_off_by_a_day() -> None:
    got = datetimes([f"2026-03-{d} 12:00" for d in (28, 29, 30)] + [f"2026-10-{d} 00:00" for d in (24, 25, 26)],
                    "Europe/Berlin")
    assert got == ["2026-03-28T11:00:00.000Z", "2026-03-29T10:00:00.000Z", "2026-03-30T10:00:00.000Z",
                   "2026-10-23T22:00:00.000Z", "2026-10-24T22:00:00.000Z", "2026-10-25T23:00:00.000Z"]


def test_explicit_offsets_are_kept_and_sent_in_utc() -> None:
    assert datetimes(["2026-03-29T02:30:00+05:30", "2026-03-29T02:30:00Z", "2026-03-29T02:30:00.123-0400"],
                     "Europe/Berlin") == ["2026-03-28T21:00:00.000Z", "2026-03-29T02:30:00.000Z",
                                          "2026-03-29T06:30:00.000Z"]


def test_a_date_stays_the_date_written_in_every_zone() -> None:
    values = ["2026-03-29", "2026-10-25", "2026-03-29T00:30:00+02:00", "2026-10-25T23:59:59-10:00"]
    assert dates(values, ["iso"]) == ["2026-03-29", "2026-10-25", "2026-03-29", "2026-10-25"]


@pytest.mark.parametrize(("formats", "values", "expected"), [
    (["us"], ["03/29/2026", "3/9/2026", "13/01/2026"], ["2026-03-29", "2026-03-09", None]),
    (["eu"], ["29.03.2026", "1.2.2026", "2026-03-29"], ["2026-03-29", "2026-02-01", "2026-03-29"]),
    (["eu_slash"], ["29/03/2026", "02/01/2026"], ["2026-03-29", "2026-01-02"]),
    (["excel"], ["46110", "46110.75", "0", "abc"], ["2026-03-29", "2026-03-29", None, None]),
    (["%d %b %Y"], ["29 Mar 2026"], ["2026-03-29"]),
    (["us", "eu"], ["03/29/2026", "29.03.2026", ""], ["2026-03-29", "2026-03-29", None]),
])
def test_input_formats(formats: list[str], values: list[str], expected: list) -> None:
    assert dates(values, formats + ["iso"]) == expected


def test_days_that_do_not_exist_are_errors_never_rolled_into_the_next_month() -> None:
    values = ["30/02/2026", "29/02/2025", "31/04/2026", "29/02/2024", "05/03/26", "00/01/2026", "05/13/2026"]
    assert dates(values, ["eu_slash"]) == [None, None, None, "2024-02-29", None, None, None]


def test_century_leap_days_and_year_zero() -> None:
    values = ["29/02/2000", "29/02/1900", "29/02/2400", "01/01/0000", "01/01/0001", "31/12/9999", "０1/01/2026"]
    assert dates(values, ["eu_slash"]) == ["2000-02-29", None, "2400-02-29", None, "0001-01-01", "9999-12-31", None]
    assert datetimes(["31/12/1969 23:59:59", "01/01/1970 00:00:01"], "UTC", ["eu_slash"]) == [
        "1969-12-31T23:59:59.000Z", "1970-01-01T00:00:01.000Z"]


def test_times_out_of_range_are_errors_and_padding_is_optional() -> None:
    values = ["24/01/2026 24:00", "24/01/2026 10:61", "24/01/2026 09:05", "4/1/2026 9:05", "04/01/2026 9:05 PM"]
    assert datetimes(values, "UTC", ["eu_slash"]) == [None, None, "2026-01-24T09:05:00.000Z",
                                                      "2026-01-04T09:05:00.000Z", "2026-01-04T21:05:00.000Z"]


def test_excel_serial_datetimes_are_local_to_the_job_zone() -> None:
    assert datetimes(["46110.5"], "Europe/Berlin", ["excel"]) == ["2026-03-29T10:00:00.000Z"]


def test_unknown_time_zone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Europe/Berlin"):
        zone("Mars/Olympus")


@pytest.mark.parametrize(("locale", "text", "expected"), [
    ("en", "1,234.56", "1234.56"), ("de", "1.234,56", "1234.56"), ("fr", "1\u00a0234,5", "1234.5"),
    ("ch", "1'234.5", "1234.5"), ("en", "-12", "-12"), ("en", "12%", "12"), ("en", "abc", None),
    ("en", "", None), ("en", "1e3", "1000"), ("en", "1.234,56", None), ("de", "1.2", None), ("de", "12.345", "12345"),
    ("en", "12,34", None), ("en", "1,234,567.8", "1234567.8"), ("fr", "1\u202f234,5", "1234.5"),
])
def test_numbers_by_locale(locale: str, text: str, expected: str | None) -> None:
    got = format_numbers(parse_numbers(pd.Series([text]), locale))[0]
    assert (None if pd.isna(got) else got) == expected


@pytest.mark.parametrize("seed", range(10))
def test_fixed_width_dates_read_from_the_bytes_agree_with_strptime(seed: int) -> None:
    """Every value on its own, whatever its neighbours: widths that vary but add up to a whole number of dates,
    nulls, non-digits, days a month lacks."""
    import random
    import re
    from datetime import datetime

    import pyarrow as pa

    from backend.pipeline.mapping.fixed_dates import fixed_shape, parse_fixed

    rnd = random.Random(seed)
    pieces = ["01", "12", "29", "31", "02", "/", "2024", "1900", "0", "x", "é", "13"]
    values = [None if rnd.random() < 0.03 else
              rnd.choice([f"{rnd.randint(1, 31):02d}/{rnd.randint(1, 12):02d}/{rnd.randint(1890, 2030)}",
                          "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 5)))])
              for _ in range(400)]
    if seed % 2:  # no nulls and every width 10 or 9 and 11 in pairs: the byte count alone cannot tell
        values = [v for v in values if v and len(v.encode()) == 10]
        for i in range(0, len(values), 7):
            values[i:i] = ["01/02/2020x", "1/02/2020"]

    def expected(v: str | None) -> object:
        if v is None or not re.fullmatch(r"\d{2}/\d{2}/\d{4}", v):
            return None
        try:
            return datetime.strptime(v, "%d/%m/%Y").date()
        except ValueError:
            return None

    got = parse_fixed(pa.array(values, pa.large_string()), fixed_shape("%d/%m/%Y"))
    assert [None if pd.isna(g) else pd.Timestamp(g).date() for g in got] == [expected(v) for v in values]
