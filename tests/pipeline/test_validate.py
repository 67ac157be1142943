"""Pre-flight: mapping-level errors and warnings against describe, and the preview of mapped rows."""

from __future__ import annotations

from backend.pipeline.mapping import FieldMapping, Lookup, Mapping, Options, check_rows, preview, validate_mapping
from backend.pipeline.sources import create_source, stream_opener
from tests.pipeline.helpers import contact_describe

COLUMNS = ["First", "Last", "Email", "Level", "Account", "Ext"]


def codes(m: Mapping, columns: list[str] = COLUMNS) -> tuple[list[tuple[str, str | None]], list[str]]:
    report = validate_mapping(m, contact_describe(), columns)
    return [(i.code, i.field) for i in report.errors], [i.code for i in report.warnings]


def test_a_good_insert_mapping_has_no_findings() -> None:
    m = Mapping("Contact", fields=[FieldMapping("LastName", column="Last"), FieldMapping("Email", column="Email")])
    report = validate_mapping(m, contact_describe(), COLUMNS)
    assert report.ok and report.errors == [] and report.warnings == []


def test_unknown_fields_columns_and_read_only_fields() -> None:
    m = Mapping("Contact", fields=[
        FieldMapping("LastName", column="Last"), FieldMapping("Nope__c", column="First"),
        FieldMapping("Name", column="First"), FieldMapping("Age_Days__c", constant="3"),
        FieldMapping("Email", column="E-mail"),
    ])
    errors, _ = codes(m)
    assert errors == [("unknown_field", "Nope__c"), ("not_createable", "Name"), ("read_only", "Age_Days__c"),
                      ("unknown_column", "Email")]


def test_required_fields_must_be_mapped_for_insert_only() -> None:
    m = Mapping("Contact", fields=[FieldMapping("FirstName", column="First")])
    assert codes(m)[0] == [("required_not_mapped", "LastName")]
    report = validate_mapping(m, contact_describe(), COLUMNS)
    assert report.errors[0].message == "Last Name (LastName) is required for new records but is not mapped."
    m = Mapping("Contact", "update", fields=[FieldMapping("Id", column="Ext"),
                                             FieldMapping("FirstName", column="First")])
    assert codes(m) == ([], [])


def test_update_and_upsert_rules() -> None:
    m = Mapping("Contact", "update", fields=[FieldMapping("Id", column="Ext"),
                                             FieldMapping("CreatedDate", column="First")])
    assert codes(m)[0] == [("not_updateable", "CreatedDate")]
    m = Mapping("Contact", "upsert", "Email", fields=[FieldMapping("Email", column="Email"),
                                                       FieldMapping("LastName", column="Last")])
    assert codes(m) == ([], ["matched_by_query"])
    assert validate_mapping(m, contact_describe(), COLUMNS).warnings[0].message == (
        "Email (Email) is not an External ID field, so records are matched by query; several matches are rejected.")
    m = Mapping("Contact", "upsert", "External_Id__c", fields=[FieldMapping("LastName", column="Last")])
    assert codes(m)[0] == [("match_key_not_mapped", "External_Id__c")]
    m = Mapping("Contact", "update", "Email", fields=[FieldMapping("Email", column="Email"),
                                                       FieldMapping("FirstName", column="First")])
    assert codes(m) == ([], [])


def test_constants_are_type_checked() -> None:
    m = Mapping("Contact", fields=[FieldMapping("LastName", column="Last"), FieldMapping("Visits__c", constant="many"),
                                   FieldMapping("Birthdate", constant="2026-02-30"),
                                   FieldMapping("Level__c", constant="Gold"),
                                   FieldMapping("Code__c", constant="TOOLONG"),
                                   FieldMapping("HasOptedOutOfEmail", constant="true")],
                options=Options(date_formats=["iso"]))
    report = validate_mapping(m, contact_describe(), COLUMNS)
    assert [(i.code, i.field) for i in report.errors] == [("constant_type", f) for f in
                                                          ("Visits__c", "Birthdate", "Level__c", "Code__c")]
    assert report.errors[0].message == "Constant for Visits: 'many' is not a number (en format)."


def test_formula_errors_carry_their_position() -> None:
    m = Mapping("Contact", fields=[FieldMapping("LastName", formula="UPPER([Lasst])")], filter="[Ext] = ")
    report = validate_mapping(m, contact_describe(), COLUMNS)
    assert [i.code for i in report.errors] == ["formula", "formula"]
    assert "Unknown column [Lasst] at column 7" in report.errors[0].message
    assert report.errors[1].message.startswith("In the filter: Expected a value but found the end")


def test_lookups_must_be_reference_fields_to_the_right_object() -> None:
    m = Mapping("Contact", fields=[FieldMapping("LastName", column="Last"),
                                   FieldMapping("AccountId", column="Account")],
                lookups=[Lookup("AccountId", "Opportunity", "Name"), Lookup("Email", "Account", "Name"),
                         Lookup("OwnerId", "User", "Username")])
    assert codes(m)[0] == [("lookup_wrong_object", "AccountId"), ("lookup_not_reference", "Email"),
                           ("lookup_not_mapped", "OwnerId")]


def test_value_maps_must_produce_allowed_picklist_values() -> None:
    m = Mapping("Contact", fields=[FieldMapping("LastName", column="Last"),
                                   FieldMapping("Level__c", column="Level", value_map={"a": "Primary", "b": "Gold"})])
    report = validate_mapping(m, contact_describe(), COLUMNS)
    assert [i.code for i in report.errors] == ["value_map_not_allowed"] and "Gold" in report.errors[0].message


def test_delete_warns_about_ignored_fields_and_object_permissions() -> None:
    m = Mapping("Contact", "delete", fields=[FieldMapping("Id", column="Ext"), FieldMapping("LastName", column="Last")])
    assert codes(m) == ([], ["fields_ignored"])
    describe = contact_describe() | {"deletable": False}
    report = validate_mapping(m, describe, COLUMNS)
    assert report.errors[0].message == "Contact records cannot be deleted by this user."
    assert report.to_dict()["warnings"][0]["code"] == "fields_ignored"


def test_preview_shows_the_first_mapped_rows_and_their_errors() -> None:
    data = ("First,Last,Email\n" + "".join(
        f"p{i},L{i},{'bad' if i == 3 else f'p{i}@example.com'}\n" for i in range(40))).encode()
    source = create_source("csv", {}, open_stream=stream_opener(data), chunk_size=7)
    m = Mapping("Contact", fields=[FieldMapping("LastName", column="Last"), FieldMapping("Email", column="Email"),
                                   FieldMapping("FirstName", column="First", blank="null")])
    result = preview(m, contact_describe(), source.read(), source.columns())
    assert len(result.rows) == 20
    assert result.rows[0] == {"LastName": "L0", "Email": "p0@example.com", "FirstName": "p0"}
    assert result.row_numbers[:4] == [2, 3, 4, 6]
    assert [(e.row_number, e.message) for e in result.errors] == [(5, "Email: 'bad' is not an email address")]


def test_check_rows_counts_every_row_before_anything_is_written() -> None:
    data = ("First,Last,Email\n" + "".join(
        f"p{i},{'' if i % 10 == 0 else f'L{i}'},p{i}@example.com\n" for i in range(95)) + "x,y\n").encode()
    source = create_source("csv", {}, open_stream=stream_opener(data), chunk_size=20)
    m = Mapping("Contact", fields=[FieldMapping("LastName", column="Last"), FieldMapping("Email", column="Email")],
                filter='[First] <> "p1"')
    result = check_rows(m, contact_describe(), source.read(), source.columns(), max_errors=5)
    assert (result.rows, result.ready, result.skipped, result.failed) == (96, 84, 1, 11)
    assert [e.row_number for e in result.errors] == [2, 12, 22, 32, 42]
    assert result.errors[0].message == "Last Name is required"


def test_formula_result_types_must_fit_the_field() -> None:
    m = Mapping("Contact", fields=[FieldMapping("LastName", formula="UPPER([Last])"),
                                   FieldMapping("Birthdate", formula='LEN([First]) > 3'),
                                   FieldMapping("Visits__c", formula='DATE("2026-01-01")'),
                                   FieldMapping("Score__c", formula='LEN([First]) * 1.5'),
                                   FieldMapping("Last_Call__c", formula='DATE([Ext], "eu")'),
                                   FieldMapping("HasOptedOutOfEmail", formula='[Level] = "x"')],
                filter="LEN([First])")
    report = validate_mapping(m, contact_describe(), COLUMNS)
    assert [(i.code, i.field) for i in report.errors] == [("formula_type", "Birthdate"), ("formula_type", "Visits__c"),
                                                          ("formula_type", None)]
    assert report.errors[0].message == "The formula for Birthdate gives a bool, but Birthdate is a date field."
    assert report.errors[2].message == "The filter gives a number; it must give true or false."
