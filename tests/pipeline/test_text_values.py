"""text(): every value stripped (ASCII and Unicode white space), blanks become null, clean columns unchanged."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from backend.pipeline.chunk import STRING_DTYPE
from backend.pipeline.mapping.values import change_case, text


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


def test_upper_and_lower_change_every_letter_ascii_or_not() -> None:
    plain = pd.Series(["Ann.Lee@Example.COM", None, ""], dtype=STRING_DTYPE)
    accented = pd.Series(["ÉLODIE@Exemple.fr", "Straße", "ǅ"], dtype=STRING_DTYPE)
    # Only the slice is looked at: an accented value outside it does not change the answer, nor does one inside hide.
    sliced = pd.Series(pd.array(pa.array(["ÀÉ", "Ab", "cD"]).slice(1), dtype=STRING_DTYPE))
    chunked = pd.Series(pd.array(pa.chunked_array([pa.array(["Ab"]), pa.array(["Öl"])]), dtype=STRING_DTYPE))
    assert change_case(plain, upper=False).tolist() == ["ann.lee@example.com", pd.NA, ""]
    assert change_case(accented, upper=False).tolist() == ["élodie@exemple.fr", "straße", "ǆ"]
    assert change_case(accented, upper=True).tolist()[::2] == ["ÉLODIE@EXEMPLE.FR", "Ǆ"]
    assert change_case(sliced, upper=True).tolist() == ["AB", "CD"]
    assert change_case(chunked, upper=True).tolist() == ["AB", "ÖL"]
