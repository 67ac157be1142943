"""Mapper.map_chunk: conversion per field type, value maps, truncation, filters, de-dupe, blanks."""

from __future__ import annotations

import pandas as pd
import pytest

from backend.errors import ConfigError
from backend.pipeline.chunk import STRING_DTYPE, RejectedRow, make_chunk
from backend.pipeline.mapping import FieldMapping, Lookup, MappedChunk, Mapper, Mapping, Options
from tests.pipeline.helpers import contact_describe

COLUMNS = ["First", "Last", "Email", "Level", "Born", "Visits", "Budget", "Langs", "Optout", "Code", "Account"]


def chunk(*rows: list[str], start: int = 2, rejected: list[RejectedRow] | None = None):
    return make_chunk(COLUMNS, list(rows), range(start, start + len(rows)), rejected)


def row(**values: str) -> list[str]:
    base = dict(First="Ann", Last="Lee", Email="ann@example.com", Level="primary", Born="29.03.1990",
                Visits="3", Budget="1.234,50", Langs="english;German", Optout="ja", Code="AB", Account="Acme")
    base.update(values)
    return [base[c] for c in COLUMNS]


def mapping(**kwargs) -> Mapping:
    fields = kwargs.pop("fields", [
        FieldMapping("FirstName", column="First"), FieldMapping("LastName", column="Last"),
        FieldMapping("Email", column="Email"), FieldMapping("Level__c", column="Level"),
        FieldMapping("Birthdate", column="Born"), FieldMapping("Visits__c", column="Visits"),
        FieldMapping("Budget__c", column="Budget"), FieldMapping("Languages__c", column="Langs"),
        FieldMapping("HasOptedOutOfEmail", column="Optout"), FieldMapping("Code__c", column="Code"),
    ])
    options = kwargs.pop("options", Options(date_formats=["eu"], number_locale="de", time_zone="Europe/Berlin"))
    return Mapping("Contact", fields=fields, options=options, **kwargs)


def map_rows(m: Mapping, *rows: list[str]) -> MappedChunk:
    return Mapper(m, contact_describe(), COLUMNS).map_chunk(chunk(*rows))


def test_values_are_converted_to_the_wire_format() -> None:
    out = map_rows(mapping(), row())
    assert out.frame.to_dict("records") == [{
        "FirstName": "Ann", "LastName": "Lee", "Email": "ann@example.com", "Level__c": "Primary",
        "Birthdate": "1990-03-29", "Visits__c": "3", "Budget__c": "1234.5", "Languages__c": "English;German",
        "HasOptedOutOfEmail": "true", "Code__c": "AB"}]
    assert out.row_numbers.tolist() == [2] and out.errors == []
    assert out.source.iloc[0]["Budget"] == "1.234,50"


def test_row_errors_name_the_field_and_value_and_keep_the_original_row() -> None:
    bad = row(Email="not-an-email", Level="Legacy", Born="31.02.1990", Visits="2,5", Optout="maybe",
              Langs="English;Klingon")
    out = map_rows(mapping(), row(), bad, row(First="Cy"))
    assert out.row_numbers.tolist() == [2, 4]
    [err] = out.errors
    assert err.row_number == 3 and err.values["Email"] == "not-an-email"
    for part in ["Email: 'not-an-email' is not an email address", "Level: 'Legacy' is not an allowed value",
                 "Birthdate: '31.02.1990' is not a date", "Visits: '2,5' is not a whole number",
                 "Email Opt Out: 'maybe' is not true or false", "Languages: 'English;Klingon' contains a value"]:
        assert part in err.message


def test_required_fields_and_match_keys_need_values() -> None:
    out = map_rows(mapping(), row(Last=" "))
    assert [e.message for e in out.errors] == ["Last Name is required"]
    m = Mapping("Contact", "upsert", "External_Id__c", fields=[FieldMapping("External_Id__c", column="Code"),
                                                             FieldMapping("FirstName", column="First")])
    out = map_rows(m, row(Code=""), row(Code="X1"))
    assert [e.message for e in out.errors] == ["External Id is required"] and len(out) == 1


def test_value_maps_ignore_case_and_pass_unmatched_values() -> None:
    fields = [FieldMapping("LastName", column="Last"),
              FieldMapping("Level__c", column="Level", value_map={"Gold ": "Primary", "silver": "Secondary"}),
              FieldMapping("Salutation", column="First", value_map={"mr": "Mr."})]
    out = map_rows(mapping(fields=fields), row(Level="gold", First="MR"), row(Level="Silver", First="Dr."),
                   row(Level="bronze"))
    assert out.frame[["Level__c", "Salutation"]].values.tolist() == [["Primary", "Mr."], ["Secondary", "Dr."]]
    assert "Level: 'bronze' is not an allowed value (Primary, Secondary, Tertiary)" in out.errors[0].message


def test_text_longer_than_the_field_is_rejected_or_truncated() -> None:
    fields = [FieldMapping("LastName", column="Last"), FieldMapping("Code__c", column="Code")]
    out = map_rows(mapping(fields=fields), row(Code="ABCDEFG"))
    assert out.errors[0].message == "Code: 7 characters, but the field holds at most 5"
    out = map_rows(mapping(fields=fields, options=Options(truncate=True)), row(Code="ABCDEFG"))
    assert out.frame["Code__c"].tolist() == ["ABCDE"] and out.errors == []
    fields[1] = FieldMapping("Code__c", column="Code", truncate=True)
    assert map_rows(mapping(fields=fields), row(Code="ABCDEFG")).frame["Code__c"].tolist() == ["ABCDE"]


def test_filter_skips_rows_without_errors() -> None:
    m = mapping(filter='AND(NOT(ISBLANK([Email])), [Level] <> "tertiary")')
    out = map_rows(m, row(), row(Email="", Born="garbage"), row(Level="tertiary"), row(First="Dee"))
    assert out.frame["FirstName"].tolist() == ["Ann", "Dee"]
    assert out.skipped == 2 and out.errors == []


def test_dedupe_across_chunks_keeps_the_first_row() -> None:
    mapper = Mapper(mapping(dedupe_columns=["Email"]), contact_describe(), COLUMNS)
    first = mapper.map_chunk(chunk(row(), row(Email="b@example.com"), row(Email=" ANN@example.com")))
    second = mapper.map_chunk(chunk(row(Email="b@example.com"), row(Email="c@example.com"), row(Email=""),
                                    row(Email=" "), start=5))
    assert first.row_numbers.tolist() == [2, 3] and second.row_numbers.tolist() == [6, 7, 8]
    assert [(e.row_number, e.message) for e in first.errors + second.errors] == [
        (4, "Duplicate of row 2 (same Email)"), (5, "Duplicate of row 3 (same Email)")]
    assert second.errors[0].values["Email"] == "b@example.com"


def test_constants_and_formulas() -> None:
    fields = [FieldMapping("LastName", formula='UPPER([Last]) & ", " & PROPER([First])'),
              FieldMapping("Description", constant="Imported by Inflow"),
              FieldMapping("Visits__c", formula='NUMBER([Visits]) * 2'),
              FieldMapping("Last_Call__c", formula='DATETIME([Born] & " 02:30", "eu")')]
    out = map_rows(mapping(fields=fields), row(First="ann", Born="25.10.2026"))
    assert out.frame.to_dict("records") == [{"LastName": "LEE, Ann", "Description": "Imported by Inflow",
                                             "Visits__c": "6", "Last_Call__c": "2026-10-25T00:30:00.000Z"}]


def test_blank_values_leave_unchanged_or_clear() -> None:
    fields = [FieldMapping("Id", constant="003000000000001AAA"), FieldMapping("FirstName", column="First"),
              FieldMapping("Email", column="Email", blank="null")]
    m = Mapping("Contact", "update", fields=fields)
    out = Mapper(m, contact_describe(), COLUMNS).map_chunk(chunk(row(First="", Email="")))
    assert list(out.records()) == [{"Id": "003000000000001AAA", "Email": None}]
    assert out.bulk_frame().to_dict("records") == [{"Id": "003000000000001AAA", "FirstName": "", "Email": "#N/A"}]
    m.options = Options(blank_values="null")
    out = Mapper(m, contact_describe(), COLUMNS).map_chunk(chunk(row(First="", Email="")))
    assert list(out.records()) == [{"Id": "003000000000001AAA", "FirstName": None, "Email": None}]


def test_clearing_a_required_field_is_a_row_error() -> None:
    m = Mapping("Contact", "update", fields=[FieldMapping("Id", constant="003000000000001AAA"),
                                             FieldMapping("LastName", column="Last")],
                options=Options(blank_values="null"))
    out = Mapper(m, contact_describe(), COLUMNS).map_chunk(chunk(row(Last="")))
    assert [e.message for e in out.errors] == ["Last Name is required"]


def test_lookup_fields_keep_the_value_to_look_up() -> None:
    m = mapping(fields=[FieldMapping("LastName", column="Last"), FieldMapping("AccountId", column="Account")],
                lookups=[Lookup("AccountId", "Account", "Name", case_insensitive=True)])
    assert map_rows(m, row()).frame["AccountId"].tolist() == ["Acme"]
    m.lookups = []
    assert "is not a Salesforce Id" in map_rows(m, row()).errors[0].message


def test_delete_sends_only_the_match_key() -> None:
    m = Mapping("Contact", "delete", fields=[FieldMapping("Id", column="Code"),
                                             FieldMapping("LastName", column="Last")])
    out = Mapper(m, contact_describe(), COLUMNS).map_chunk(chunk(row(Code="003000000000001AAA")))
    assert out.frame.to_dict("records") == [{"Id": "003000000000001AAA"}]


def test_rejected_rows_from_reading_become_row_errors() -> None:
    rejected = [RejectedRow(7, "Line 7 has 2 fields but the header has 11; the row was not imported.", ("a", "b"))]
    out = Mapper(mapping(), contact_describe(), COLUMNS).map_chunk(chunk(row(), rejected=rejected))
    assert [(e.row_number, e.message, e.values) for e in out.errors] == [
        (7, "Line 7 has 2 fields but the header has 11; the row was not imported. Fields: a | b", {})]


def test_unknown_column_or_bad_formula_fails_when_the_mapper_is_built() -> None:
    with pytest.raises(ConfigError, match="column 'Nope'"):
        Mapper(mapping(fields=[FieldMapping("LastName", column="Nope")]), contact_describe(), COLUMNS)
    with pytest.raises(ConfigError, match="Formula for LastName: Unknown function 'NOPE' at column 1"):
        Mapper(mapping(fields=[FieldMapping("LastName", formula="NOPE()")]), contact_describe(), COLUMNS)


def test_mapping_round_trips_through_json() -> None:
    import json
    m = mapping(lookups=[Lookup("AccountId", "Account", "External_Id__c", no_match="blank", many_match="first")],
                filter="TRUE", dedupe_columns=["Email"], operation="upsert", match_key="Email")
    assert Mapping.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    with pytest.raises(ConfigError, match="Unknown Mapping setting"):
        Mapping.from_dict({"object": "Contact", "colour": "red"})
    with pytest.raises(ConfigError, match="exactly one"):
        Mapping.from_dict({"object": "Contact", "fields": [{"field": "LastName", "column": "a", "constant": "b"}]})
    with pytest.raises(ConfigError, match="Unknown operation"):
        Mapping.from_dict({"object": "Contact", "operation": "merge"})


def test_a_large_chunk_maps_in_one_pass() -> None:
    rows = [row(First=f"p{i}", Email=f"p{i}@example.com") for i in range(5000)]
    out = map_rows(mapping(), *rows)
    assert len(out) == 5000 and out.frame["Email"].iloc[-1] == "p4999@example.com"
    assert isinstance(out.frame["Email"].dtype, pd.StringDtype)


def test_numbers_and_dates_from_formulas_are_not_reread_in_the_source_locale() -> None:
    fields = [FieldMapping("LastName", column="Last"),
              FieldMapping("Budget__c", formula='NUMBER([Budget], "de") * 2'),
              FieldMapping("Score__c", formula="TRIM([Visits])"),
              FieldMapping("Birthdate", formula='DATE([Born], "eu") + 1')]
    options = Options(date_formats=["%Y-%d-%m"], number_locale="de")
    out = map_rows(mapping(fields=fields, options=options), row(Budget="1.234,50", Visits="2,5", Born="29.03.1990"))
    assert out.errors == []
    assert out.frame.to_dict("records") == [{"LastName": "Lee", "Budget__c": "2469", "Score__c": "2.5",
                                             "Birthdate": "1990-03-30"}]


def test_time_fields_are_wall_clock_times() -> None:
    from backend.pipeline.mapping.convert import convert
    meta = {"name": "Start__c", "label": "Start", "type": "time"}
    got = convert(pd.Series(["9:05", "14:30:15", "2:30 pm", "25:00", ""]), meta, Options(time_zone="Europe/Berlin"))
    assert got.values.astype(object).where(got.values.notna(), None).tolist() == [
        "09:05:00.000Z", "14:30:15.000Z", "14:30:00.000Z", None, None]
    assert [m.tolist() for rows, m in got.problems] == [["Start: '25:00' is not a time of day (HH:MM or HH:MM:SS)"]]


def test_a_value_map_keeps_blanks_and_writes_its_values_as_text_across_column_pieces() -> None:
    import pyarrow as pa

    from backend.pipeline.mapping.mapper import _value_map

    pieces = pa.chunked_array([pa.array(["gold", None], pa.large_string()),
                               pa.array(["GOLD", "tin"], pa.large_string())])
    column = pd.Series(pd.array(pieces, dtype=STRING_DTYPE))
    got = _value_map(column, {"Gold": 1, "none": "x"})
    assert [None if pd.isna(v) else v for v in got] == ["1", None, "1", "tin"]
