"""Header-row checks shared by file sources: no empty names, no duplicates, named in the error."""

from __future__ import annotations

from collections.abc import Sequence

from backend.errors import SourceError


def check_header(raw: Sequence[object], *, drop_trailing_empty: bool = False) -> list[str]:
    """Strip the names and refuse empty or duplicate ones with a message naming the columns.

    `drop_trailing_empty` is for spreadsheets, where formatted but empty cells trail the real header.
    """
    names = ["" if v is None else str(v).strip().lstrip("\ufeff") for v in raw]
    while drop_trailing_empty and names and names[-1] == "":
        names.pop()
    empty = [i + 1 for i, n in enumerate(names) if n == ""]
    if empty:
        where = ", ".join(
            f"column {i}" + (f" (after '{names[i - 2]}')" if i > 1 and names[i - 2] else "") for i in empty)
        raise SourceError(f"The header row has empty column names: {where}. Give every column a name.")
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(names, start=1):
        seen.setdefault(n.casefold(), []).append(i)
    dupes = [(names[pos[0] - 1], pos) for pos in seen.values() if len(pos) > 1]
    if dupes:
        desc = "; ".join(f"'{n}' in columns {', '.join(map(str, pos))}" for n, pos in dupes)
        raise SourceError(f"The header row has duplicate column names: {desc}. Column names must be unique.")
    return names

