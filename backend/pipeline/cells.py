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

    from backend.pipeline.chunk import Chunk

SUCCESS_COLUMNS = ["sf__Id", "sf__Created"]
ERROR_COLUMNS = ["sf__Row", "sf__Error"]
_RISKY = "=+\\-@\t\r\x00"
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


_FIRST_BYTES = bytes(c in (_RISKY.replace("\\", "") + "'").encode() for c in range(256))  # first bytes escape may need


def _may_need_escape(s: pd.Series) -> bool:
    """Whether some value starts with a byte `escape` may act on, read from the Arrow buffers."""
    import numpy as np
    import pyarrow as pa

    table = np.frombuffer(_FIRST_BYTES, dtype=bool)
    for a in pa.chunked_array(pa.array(s.array)).chunks:
        offsets = np.frombuffer(a.buffers()[1], dtype=np.int64 if pa.types.is_large_string(a.type) else np.int32)
        starts = offsets[a.offset:a.offset + len(a)]
        filled = starts[np.diff(offsets[a.offset:a.offset + len(a) + 1]) > 0]
        data = a.buffers()[2]
        if len(filled) and table[np.frombuffer(data, dtype=np.uint8)[filled]].any():
            return True
    return False


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Vectorised `escape` over a frame of strings (NA becomes empty)."""
    import pandas as pd

    from backend.pipeline.chunk import STRING_DTYPE

    out = {}
    for name in frame.columns:  # Arrow strings throughout: no Python object per cell
        s = frame[name].astype(STRING_DTYPE).fillna("")
        # Most columns have no risky first byte at all: the regex and the copy are only for those that do.
        out[name] = s.where(~s.str.match(_CSV_ESCAPE.pattern), "'" + s) if _may_need_escape(s) else s
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
