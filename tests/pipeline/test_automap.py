"""Auto-mapping of source columns to fields by API name, label and relationship."""

from __future__ import annotations

from backend.pipeline.mapping import auto_map
from backend.pipeline.mapping.automap import normalize
from tests.pipeline.helpers import contact_describe


def pairs(columns: list[str], operation: str = "insert") -> dict[str, tuple[str, float]]:
    return {s.column: (s.field, s.score) for s in auto_map(columns, contact_describe(), operation)}


def test_names_match_ignoring_case_spaces_underscores_and_custom_suffix() -> None:
    got = pairs(["lastname", "First_Name", "EXTERNAL ID", "level", "Score__c", "budget__C"])
    assert got == {"lastname": ("LastName", 1.0), "First_Name": ("FirstName", 0.95),
                   "EXTERNAL ID": ("External_Id__c", 0.95), "level": ("Level__c", 0.95),
                   "Score__c": ("Score__c", 1.0), "budget__C": ("Budget__c", 1.0)}


def test_labels_and_relationships_match_with_lower_confidence() -> None:
    got = pairs(["Business Phone", "email opt out", "Account", "Owner Name", "Contact Description"])
    assert got == {"Business Phone": ("Phone", 0.9), "email opt out": ("HasOptedOutOfEmail", 0.9),
                   "Account": ("AccountId", 0.8), "Owner Name": ("OwnerId", 0.8),
                   "Contact Description": ("Description", 0.9)}


def test_similar_names_get_a_low_score_and_unrelated_columns_none() -> None:
    got = pairs(["Birthdat", "Shoe size"])
    field, score = got["Birthdat"]
    assert field == "Birthdate" and 0.6 < score < 0.7
    assert "Shoe size" not in got


def test_each_field_is_used_once_by_the_best_column() -> None:
    got = pairs(["Email", "E-Mail", "email"])
    assert got == {"Email": ("Email", 1.0)}


def test_read_only_fields_and_id_on_insert_are_not_suggested() -> None:
    assert pairs(["Full Name", "Created Date", "Id", "Age Days"]) == {}
    assert pairs(["Id"], "update") == {"Id": ("Id", 1.0)}


def test_normalize() -> None:
    assert normalize(" Account_Number__c ") == normalize("account-number") == "accountnumber"


def test_relationship_matches_suggest_a_lookup_object() -> None:
    [account] = auto_map(["Account Name"], contact_describe())
    assert (account.field, account.reason, account.lookup_object) == ("AccountId", "relationship", "Account")
    [email] = auto_map(["Email"], contact_describe())
    assert email.lookup_object is None
