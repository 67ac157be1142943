"""Date formats in people's terms: detection from values, locale defaults, examples in messages, and the review's
check that the chosen format reads a date column at all."""

from __future__ import annotations

import pandas as pd
import pytest

from backend.pipeline.chunk import make_chunk
from backend.pipeline.mapping import FieldMapping, Mapper, Mapping, Options, dates
from backend.pipeline.mapping.validate import date_format_issues
from tests.pipeline.helpers import contact_describe


@pytest.mark.parametrize(("values", "expected"), [
    (["16/03/1955", "01/02/1960"], "eu_slash"),  # a first part above 12: day first
    (["03/16/1955", "01/02/1960"], "us"),  # a second part above 12: month first
    (["01/02/1960", "03/04/1970"], None),  # both orders fit: the values do not decide
    (["16.03.1955"], "eu"), (["1955-03-16", "2026-01-31T10:00:00"], "iso"),
    (["16/03/1955", "1955-03-16"], None), ([], None), (["", "  "], None),
])
def test_the_format_is_detected_from_the_values(values: list[str], expected: str | None) -> None:
    assert dates.detect(values) == expected


@pytest.mark.parametrize(("locale", "expected"), [
    ("en_US", "us"), ("en_GB", "eu_slash"), ("fr_FR", "eu_slash"), ("de_DE", "eu"), ("sv_SE", "iso"), ("", "iso"),
])
def test_the_default_follows_the_salesforce_users_locale(locale: str, expected: str) -> None:
    assert dates.for_locale(locale) == expected


def test_messages_speak_in_examples_never_in_internal_codes() -> None:
    assert dates.described(["eu_slash", "iso"]) == "31/01/2026 style or 2026-01-31 style"
    assert dates.example("%d-%m-%Y") == "31-01-2026"
    mapping = Mapping("Contact", fields=[FieldMapping("LastName", column="Last"),
                                         FieldMapping("Birthdate", column="Born")],
                      options=Options(date_formats=["eu_slash"]))
    chunk = make_chunk(["Last", "Born"], [["Lee", "1955-31-03"]], [2])
    errors = Mapper(mapping, contact_describe(), ["Last", "Born"]).map_chunk(chunk).errors
    assert [e.message for e in errors] == [
        "Birthdate: '1955-31-03' is not a date in 31/01/2026 style or 2026-01-31 style"]
    assert "eu_slash" not in errors[0].message and " or iso" not in errors[0].message


def test_the_review_blocks_a_format_that_reads_none_of_a_date_column() -> None:
    sample = pd.DataFrame({"Last": ["Lee", "Ray"], "Born": ["16/03/1955", "01/02/1960"]}, dtype="string")
    iso = Mapping("Contact", fields=[FieldMapping("LastName", column="Last"), FieldMapping("Birthdate", column="Born")])
    issues = date_format_issues(iso, contact_describe(), sample)
    assert [(i.code, i.field) for i in issues] == [("date_format", "Birthdate")]
    assert issues[0].message == ("Birthdate (Birthdate): the dates in 'Born' are written like 16/03/1955 (31/01/2026 "
                                 "style), not in 2026-01-31 style; choose the 31/01/2026 style date format.")
    day_first = Mapping("Contact", fields=iso.fields, options=Options(date_formats=["eu_slash"]))
    assert date_format_issues(day_first, contact_describe(), sample) == []


def test_a_date_column_maps_the_same_whether_every_value_fits_the_first_pattern_or_not() -> None:
    mapping = Mapping("Contact", fields=[FieldMapping("LastName", column="Last"),
                                         FieldMapping("Birthdate", column="Born")],
                      options=Options(date_formats=["eu_slash"]))
    mapper = Mapper(mapping, contact_describe(), ["Last", "Born"])
    rows = [["Lee", "29/02/2024"], ["Ray", ""], ["Kim", " 01/12/1999 "], ["Ode", "2026-01-31"]]
    clean = mapper.map_chunk(make_chunk(["Last", "Born"], rows[:3], [2, 3, 4]))
    assert clean.bulk_frame()["Birthdate"].tolist() == ["2024-02-29", "", "1999-12-01"]
    mixed = mapper.map_chunk(make_chunk(["Last", "Born"], rows + [["Bad", "29/02/2023"]], [2, 3, 4, 5, 6]))
    assert mixed.bulk_frame()["Birthdate"].tolist() == ["2024-02-29", "", "1999-12-01", "2026-01-31"]
    assert [(e.row_number, e.message) for e in mixed.errors] == [
        (6, "Birthdate: '29/02/2023' is not a date in 31/01/2026 style or 2026-01-31 style")]
