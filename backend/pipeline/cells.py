"""Cell values in Inflow's own result files: the formula-injection escape, and its exact reversal on reading.

A CSV cell that a spreadsheet would run as a formula (first character `=`, `+`, `-`, `@`, tab, CR or NUL)
is written with a leading `'`. So that reading can undo it without guessing, a value that already starts
with `'` followed by one of those characters or by another `'` gets one more `'` too. Reading a result file
(recognised by its first two columns, `sf__Id, sf__Created` or `sf__Row, sf__Error`) removes one `'` from
every cell that starts with `'` plus a risky character or `'`: `unescape(escape(v)) == v` for every `v`.
Excel files hold typed text cells, where nothing runs, so they only need the `'` guard (`escape_typed`),
and the same `unescape` reverses it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas only where frames are used: the export's CSV header needs `escape` alone
    import pandas as pd
    import pyarrow as pa

    from backend.pipeline.chunk import Chunk

SUCCESS_COLUMNS = ["sf__Id", "sf__Created"]
ERROR_COLUMNS = ["sf__Row", "sf__Error"]
RISKY_FIRST = b"=+-@\t\r\x00"  # a cell starting with one of these runs as a formula in a spreadsheet
_RISKY = RISKY_FIRST.decode().replace("-", "\\-")  # a character class for Python's re and Arrow's RE2 alike
_CSV_ESCAPE = re.compile(f"^(?:[{_RISKY}]|'[{_RISKY}'])")
_TYPED_ESCAPE = re.compile(f"^'[{_RISKY}']")
_ESCAPED = _TYPED_ESCAPE  # what both escapes produce, and only they: one `'` to remove


def _text(value: object) -> str:
    pandas = sys.modules.get("pandas")  # pd.NA can only be passed once pandas is loaded
    return "" if value is None or (pandas is not None and value is pandas.NA) else str(value)


def escape(value: object) -> str:
    """A cell as CSV text that spreadsheets will not evaluate (None and NA become empty)."""
    text = _text(value)
    return "'" + text if _CSV_ESCAPE.match(text) else text


def escape_typed(value: object) -> str:
    """A cell for a typed text cell (.xlsx): no formula can run there, so only the `'` guard applies."""
    text = _text(value)
    return "'" + text if _TYPED_ESCAPE.match(text) else text


def unescape(text: str) -> str:
    """The original value of a result-file cell written by `escape` or `escape_typed`."""
    return text[1:] if _ESCAPED.match(text) else text


def starting_with(values: pa.Array | pa.ChunkedArray, first: bytes) -> pa.Array | pa.ChunkedArray:
    """Arrow booleans: which string values start with one of the bytes `first` (one kernel, no regex)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.is_in(pc.binary_slice(values.cast(pa.binary()), 0, 1),
                    value_set=pa.array([bytes([b]) for b in first], pa.binary()))


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Vectorised `escape` over a frame of strings (NA becomes empty)."""
    import pandas as pd
    import pyarrow as pa

    from backend.pipeline.chunk import STRING_DTYPE

    out = {}
    for name in frame.columns:  # Arrow strings throughout: no Python object per cell
        s = frame[name].astype(STRING_DTYPE).fillna("")
        # Most columns have no risky first byte at all: the regex and the copy are only for those that do.
        may = starting_with(pa.array(s.array), RISKY_FIRST + b"'").to_numpy(zero_copy_only=False).any()
        out[name] = s.where(~s.str.match(_CSV_ESCAPE.pattern), "'" + s) if may else s
    return pd.DataFrame(out, index=frame.index)


def unescape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Vectorised `unescape` over a frame of strings, in place of each column."""
    for name in frame.columns:
        s = frame[name]
        hit = s.str.match(_ESCAPED.pattern)
        if hit.any():
            frame[name] = s.where(~hit, s.str.slice(1))
    return frame


def is_result_header(header: Sequence[str]) -> bool:
    """Whether a file's header is that of an Inflow success or error file."""
    first = [unescape(h) for h in header[:2]]
    return first in (SUCCESS_COLUMNS, ERROR_COLUMNS)


def restore_chunk(chunk: Chunk) -> Chunk:
    """A chunk read from a result file with every cell back to its original value."""
    unescape_frame(chunk.frame)
    chunk.rejected = [replace(r, raw_values=tuple(unescape(v) for v in r.raw_values)) for r in chunk.rejected]
    return chunk
