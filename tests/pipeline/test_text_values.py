"""text(): every value stripped (ASCII and Unicode white space), blanks become null, clean columns unchanged."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from backend.pipeline.chunk import STRING_DTYPE
from backend.pipeline.mapping.values import text


@pytest.mark.parametrize(("values", "expected"), [
    (["a", "b c"], ["a", "b c"]),
    (["a ", " b", "\tc\r\n"], ["a", "b", "c"]),
    (["a", "", "   "], ["a", None, None]),
    (["été", "\u00a0x\u00a0", "y\u3000"], ["été", "x", "y"]),
    (["a", None], ["a", None]),
    (["éa", "aé", "!a~", "\x01b"], ["éa", "aé", "!a~", "\x01b"]),  # ends outside "!".."~" that are not space
    (["\x0bv", "w\x0c", "ok"], ["v", "w", "ok"]),
])
def test_values_are_stripped_and_blanks_are_null(values: list, expected: list) -> None:
    got = text(pd.Series(values, dtype=STRING_DTYPE))
    assert [None if pd.isna(v) else v for v in got] == expected


def test_slices_and_chunked_columns_are_read_as_their_own_values() -> None:
    sliced = pd.Series(pd.array(pa.array(["  ", "a", "b "]).slice(1), dtype=STRING_DTYPE))
    chunked = pd.Series(pd.array(pa.chunked_array([pa.array(["a"]), pa.array([" b"])]), dtype=STRING_DTYPE))
    assert text(sliced).tolist() == ["a", "b"] and text(chunked).tolist() == ["a", "b"]
