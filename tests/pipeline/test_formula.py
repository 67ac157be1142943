"""Formula language: every function and operator, blanks, row errors, and error positions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from backend.pipeline.chunk import make_chunk
from backend.pipeline.mapping.formula import compile_formula
from backend.pipeline.mapping.formula_parser import FormulaError
from backend.pipeline.mapping.formula_types import Context

COLUMNS = ["First Name", "Amount", "Date", "Stage", "Tags"]
ROWS = [
    ["ann", "1.234,56", "29.03.2026", "a", "red;green;blue"],
    ["  bob   smith ", "x", "31.02.2026", "b", "one"],
    ["", "", "", "zz", ""],
]


def run(src: str, rows: list[list[str]] = ROWS, tz: str = "Europe/Berlin") -> tuple[list, list[str]]:
    chunk = make_chunk(COLUMNS, rows, range(2, 2 + len(rows)))
    formula = compile_formula(src, COLUMNS)
    ctx = Context(chunk.frame, tz, ["iso"])
    values = [None if pd.isna(v) else v for v in formula.text(ctx).astype(object).tolist()]
    return values, ctx.row_errors().reindex(range(len(rows))).fillna("").tolist()


@pytest.mark.parametrize(("src", "expected"), [
    ('UPPER([First Name])', ["ANN", "  BOB   SMITH ", None]),
    ('LOWER("MiXed")', ["mixed"] * 3),
    ('PROPER(TRIM([First Name]))', ["Ann", "Bob Smith", None]),
    ('TRIM([First Name])', ["ann", "bob smith", None]),
    ('LEFT([Stage], 1) & RIGHT("abc", 2) & MID("abcdef", 2, 3)', ["abcbcd", "bbcbcd", "zbcbcd"]),
    ('LEN([First Name])', ["3", "14", "0"]),
    ('REPLACE([Tags], "[aeiou]", "*")', ["r*d;gr**n;bl**", "*n*", None]),
    ('REPLACE("2026-03-29", "(\\\\d+)-(\\\\d+)-(\\\\d+)", "\\\\3.\\\\2.\\\\1")', ["29.03.2026"] * 3),
    ('SPLIT([Tags], ";", 2)', ["green", None, None]),
    ('SPLIT([Tags], ";", -1)', ["blue", "one", None]),
    ('MAP([Stage], {"a": "Alpha", "b": "Beta"}, "Other")', ["Alpha", "Beta", "Other"]),
    ('MAP([Stage], {"a": "Alpha"})', ["Alpha", "b", "zz"]),
    ('IF([Stage] = "a", "first", IF([Stage] <> "b", "third"))', ["first", None, "third"]),
    ('IF(ISBLANK([First Name]), "none", "some")', ["some", "some", "none"]),
    ('BLANKVALUE([Amount], "n/a")', ["1.234,56", "x", "n/a"]),
    ('AND(TRUE, NOT(FALSE), OR(1 = 2, "a" != "b"))', ["true"] * 3),
    ('AND([Stage] = "a", TRUE)', ["true", "false", "false"]),
    ('CONCAT([Stage], "-", 1, TRUE)', ["a-1true", "b-1true", "zz-1true"]),
    ('CONTAINS([Tags], "green")', ["true", "false", "false"]),
    ('[Stage] + "!" & 1', ["a!1", "b!1", "zz!1"]),
    ('LEN([Stage]) + "2"', ["3", "3", "4"]),
    ('1 + 2 * 3 - 4 / 2', ["5"] * 3),
    ('-(1 + 2)', ["-3"] * 3),
    ('ROUND(2.345, 2) + 0', ["2.35"] * 3),
    ('NUMBER("1,234.5") + 1', ["1235.5"] * 3),
    ('NUMBER("1.234,5", "de") * 2', ["2469"] * 3),
    ('NUMBER("1 234,5", "fr")', ["1234.5"] * 3),
    ('LEN([Amount]) >= 3', ["true", "false", "false"]),
    ('[Stage] < "b"', ["true", "false", "false"]),
    ('DATE("03/29/2026", "us")', ["2026-03-29"] * 3),
    ('DATE("29/03/2026", "eu_slash") + 1', ["2026-03-30"] * 3),
    ('DATE("2026-03-30") - DATE("2026-03-29")', ["1"] * 3),
    ('DATE("46110", "excel")', ["2026-03-29"] * 3),
    ('DATE("2026|03|29", "%Y|%m|%d")', ["2026-03-29"] * 3),
    ('DATETIME("2026-03-29 02:30")', ["2026-03-29T01:30:00.000Z"] * 3),
    ('DATETIME("10/25/2026 2:30 AM", "us")', ["2026-10-25T00:30:00.000Z"] * 3),
    ('DATE("2026-03-29") > DATE("2026-01-01")', ["true"] * 3),
    ('TEXT(1.5)', ["1.5"] * 3),
    ('IF([Stage] = "zz", DATE("2026-01-01"))', [None, None, "2026-01-01"]),
    ('NULL', [None] * 3),
    ("'single' & \"double\\\"quote\"", ['singledouble"quote'] * 3),
    ('[first name]', ["ann", "  bob   smith ", None]),
])
def test_functions_and_operators(src: str, expected: list) -> None:
    values, errors = run(src)
    assert values == expected
    assert errors == ["", "", ""]


def test_today_and_now_use_the_job_time_zone() -> None:
    values, _ = run("TODAY()", tz="Pacific/Kiritimati")
    assert values[0] == dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    now, _ = run("NOW()")
    stamp = dt.datetime.strptime(now[0], "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=dt.UTC)
    assert abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) < 120


def test_conversion_failures_become_row_errors() -> None:
    values, errors = run('NUMBER([Amount], "de")')
    assert values == ["1234.56", None, None]
    assert errors == ["", "NUMBER: 'x' is not a number (de)", ""]
    values, errors = run('DATE([Date], "eu")')
    assert values == ["2026-03-29", None, None]
    assert errors == ["", "DATE: '31.02.2026' does not match eu", ""]


def test_only_the_branch_a_row_takes_reports_errors() -> None:
    values, errors = run('IF([Stage] = "a", NUMBER([Amount], "de"), 0)')
    assert values == ["1234.56", "0", "0"]
    assert errors == ["", "", ""]


def test_division_by_zero_is_a_row_error() -> None:
    values, errors = run('10 / LEN([First Name])')
    assert values[2] is None and errors[2] == "Division by zero"


@pytest.mark.parametrize(("src", "problem", "column"), [
    ("IF([Stage] = 1, 2", "Expected ',' or ')' but found the end of the formula", 18),
    ("FOO([Stage])", "Unknown function 'FOO'", 1),
    ("UPPER([Nope])", "Unknown column [Nope]", 7),
    ('LEFT("abc", [Amount])', "Expected a length written directly here", 13),
    ('REPLACE([Stage], "(", "x")', "Invalid regular expression", 18),
    ('"abc', "Text is not closed", 1),
    ("[Stage", "Column reference is not closed", 1),
    ("1 + ", "Expected a value but found the end of the formula", 5),
    ("1 $ 2", "Unexpected character '$'", 3),
    ("IF([Stage])", "IF takes 2 to 3 arguments, not 1", 1),
    ('NUMBER([Amount], "xx")', "Unknown locale 'xx'", 18),
    ('DATE([Date], "dd.mm")', "Unknown date format 'dd.mm'", 14),
    ('DATE([Date]) * 2', "Operator '*' needs numbers, not a date", 1),
    ('UPPER({"a": "b"})', "Cannot use a map value where a text is needed", 7),
    ('MAP([Stage], "a")', "MAP needs a table", 14),
    ("Stage", "Unknown name 'Stage' (columns are written [Stage])", 1),
    ("", "The formula is empty", 1),
    ("[Stage] [Date]", "Unexpected '[Date]'", 9),
])
def test_errors_point_at_their_position(src: str, problem: str, column: int) -> None:
    with pytest.raises(FormulaError) as info:
        compile_formula(src, COLUMNS)
    err = info.value
    assert err.problem.startswith(problem)
    assert err.position + 1 == column
    assert f"at column {column}:" in str(err)
    excerpt, caret = str(err).splitlines()[1:3]
    assert excerpt == "  " + src and caret == "  " + " " * (column - 1) + "^"


def test_long_formulas_show_an_excerpt_around_the_error() -> None:
    src = 'CONCAT(' + ", ".join(f'"part{i}"' for i in range(30)) + ', BAD())'
    with pytest.raises(FormulaError) as info:
        compile_formula(src, COLUMNS)
    excerpt, caret = str(info.value).splitlines()[1:3]
    assert excerpt[caret.index("^"):].startswith("BAD()")


def test_formulas_are_never_evaluated_as_python() -> None:
    with pytest.raises(FormulaError):
        compile_formula('__import__("os").system("true")', COLUMNS)


def test_column_names_with_brackets_spaces_and_any_case() -> None:
    chunk = make_chunk(["Price [EUR]", "Net Amount"], [["12", "3"]], [2])
    formula = compile_formula("[Price [EUR]]] & '/' & [net amount]", chunk.columns)
    assert formula.text(Context(chunk.frame)).tolist() == ["12/3"]


def test_text_is_read_as_a_number_the_jobs_way() -> None:
    chunk = make_chunk(["Amount"], [["1.234,50"], ["99,5"]], [2, 3])
    ctx = Context(chunk.frame, number_locale="de")
    assert compile_formula("[Amount] > 100", chunk.columns).text(ctx).tolist() == ["true", "false"]
    assert compile_formula("NUMBER([Amount]) * 2", chunk.columns).text(ctx).tolist() == ["2469", "199"]


def test_plus_adds_when_a_number_is_involved_and_reports_text_that_is_not_one() -> None:
    values, errors = run("[Amount] + 1")  # the job locale here is en, where 1.234,56 is no number
    assert values == [None, None, None]
    assert errors == ["'+' needs a number, not '1.234,56'", "'+' needs a number, not 'x'", ""]
    chunk = make_chunk(["Qty"], [["5"], ["1,5"]], [2, 3])
    ctx = Context(chunk.frame, number_locale="de")
    assert compile_formula("[Qty] + 1", chunk.columns).text(ctx).tolist() == ["6", "2.5"]


def test_replace_uses_linear_time_regexes() -> None:
    # With backtracking regexes this pattern takes about 2**40 steps on this value; RE2 answers at once.
    chunk = make_chunk(["v"], [["a" * 40 + "!"]], [2])
    formula = compile_formula('REPLACE([v], "(a+)+$", "x")', chunk.columns)
    assert formula.text(Context(chunk.frame)).tolist() == ["a" * 40 + "!"]


def test_replace_reports_bad_replacements_at_the_replacement() -> None:
    with pytest.raises(FormulaError) as info:
        compile_formula('REPLACE([Stage], "a", "\\\\5")', COLUMNS)
    assert info.value.position == 22 and "replacement" in info.value.problem


def test_several_failures_in_one_row_are_all_reported() -> None:
    values, errors = run('CONCAT(NUMBER([Stage]), DATE([Tags], "eu"))')
    assert errors[0] == "NUMBER: 'a' is not a number (en); DATE: 'red;green;blue' does not match eu"
    assert errors[2] == "NUMBER: 'zz' is not a number (en)"
