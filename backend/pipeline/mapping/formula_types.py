"""Values of the formula language: type names, the evaluation Context, Compiled, coerce and constants.

Every value is a pandas Series over the whole chunk, so a formula costs a few vectorised operations
per chunk, not a Python call per row. Types: text (string dtype, NA = blank), number (float64, NaN =
blank), bool (numpy bool), date (naive datetime64), datetime (UTC datetime64). Text is converted to
a number (written the job's number_locale way), date or bool where one is needed (`[Amount] > 100`).
The compiler (formula.py), its operators (formula_ops.py) and functions (formula_functions.py) all
build on this module, which imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from backend.pipeline.chunk import STRING_DTYPE
from backend.pipeline.mapping import values as V
from backend.pipeline.mapping.formula_parser import FormulaError, Node

TEXT, NUMBER, BOOL, DATE, DATETIME, NULL, MAP = "text", "number", "bool", "date", "datetime", "null", "map"
_TRUTHY = ["true", "yes", "y", "1", "x", "on", "wahr", "ja"]


@dataclass
class Context:
    """What a compiled formula runs against: the chunk's frame plus the job's date settings."""

    frame: pd.DataFrame
    time_zone: str = "UTC"
    date_formats: list[str] = field(default_factory=lambda: ["iso"])
    number_locale: str = "en"
    mask: np.ndarray | None = None
    errors: list[tuple[np.ndarray, pd.Series | str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mask is None:
            self.mask = np.ones(len(self.frame), dtype=bool)

    @property
    def index(self) -> pd.Index:
        return self.frame.index

    def fail(self, bad: np.ndarray | pd.Series, message: Callable[[np.ndarray], pd.Series] | str) -> None:
        """Record a row error for the rows in `bad` that the current IF branch covers.

        `message` is text for all those rows, or a function of the row mask returning a Series
        indexed by exactly those rows (so messages are only built for failing rows).
        """
        rows = np.asarray(bad, dtype=bool) & self.mask
        if rows.any():
            self.errors.append((rows, message if isinstance(message, str) else message(rows)))

    @contextmanager
    def within(self, rows: np.ndarray) -> Iterator[None]:
        saved = self.mask
        self.mask = saved & rows
        try:
            yield
        finally:
            self.mask = saved

    def row_errors(self) -> pd.Series:
        """One message per failing row, indexed by those rows, joining several with '; '."""
        out = pd.Series(dtype=object)
        for rows, message in self.errors:
            labels = self.index[rows]
            msg = pd.Series(message, index=labels) if isinstance(message, str) else message.reindex(labels)
            out = out.combine(msg, lambda a, b: b if pd.isna(a) else a if pd.isna(b) else f"{a}; {b}")
        return out.astype(object)


Fn = Callable[[Context], pd.Series]


class Compiler(Protocol):
    """What operators and functions need from the compiler (formula.FormulaCompiler)."""

    def compile(self, node: Node) -> Compiled: ...

    def error(self, message: str, node: Node) -> FormulaError: ...


@dataclass
class Compiled:
    """A typed, compiled expression; `node` is kept for positions and constant arguments."""

    type: str
    fn: Fn
    node: Node


def coerce(c: Compiled, to: str) -> Fn:
    """A function producing `c`'s value converted to type `to`."""
    src, fn = c.type, c.fn
    if src == to:
        return fn
    if src == NULL:
        return lambda ctx: blank(ctx, to)
    converters: dict[tuple[str, str], Callable[[pd.Series, Context], pd.Series]] = {
        (NUMBER, TEXT): lambda s, ctx: V.format_numbers(s),
        (BOOL, TEXT): lambda s, ctx: pd.Series(np.where(s, "true", "false"), index=s.index, dtype=STRING_DTYPE),
        (DATE, TEXT): lambda s, ctx: V.format_dates(s),
        (DATETIME, TEXT): lambda s, ctx: V.format_datetimes(s),
        (TEXT, NUMBER): lambda s, ctx: V.parse_numbers(s, ctx.number_locale),
        (BOOL, NUMBER): lambda s, ctx: s.astype("float64"),
        (TEXT, BOOL): lambda s, ctx: s.str.strip().str.lower().isin(_TRUTHY).fillna(False).to_numpy(bool),
        (NUMBER, BOOL): lambda s, ctx: (s.fillna(0) != 0).to_numpy(bool),
        (TEXT, DATE): lambda s, ctx: V.parse_dates(s, ctx.date_formats),
        (TEXT, DATETIME): lambda s, ctx: V.parse_datetimes(s, ctx.date_formats, ctx.time_zone),
        (DATE, DATETIME): lambda s, ctx: V.localize(s, ctx.time_zone),
        (DATETIME, DATE): lambda s, ctx: s.dt.tz_convert(ctx.time_zone).dt.tz_localize(None).dt.normalize(),
    }
    conv = converters.get((src, to))
    if conv is None:
        raise FormulaError(f"Cannot use a {src} value where a {to} is needed", "", c.node.pos)

    def run(ctx: Context) -> pd.Series:
        s = fn(ctx)
        out = conv(s, ctx)
        return pd.Series(out, index=ctx.index) if isinstance(out, np.ndarray) else out
    return run


def blank(ctx: Context, type_: str) -> pd.Series:
    n = len(ctx.index)
    if type_ == NUMBER:
        return pd.Series(np.full(n, np.nan), index=ctx.index)
    if type_ == BOOL:
        return pd.Series(np.zeros(n, dtype=bool), index=ctx.index)
    if type_ == DATE:
        return pd.Series(pd.NaT, index=ctx.index, dtype="datetime64[us]")
    if type_ == DATETIME:
        return pd.Series(pd.NaT, index=ctx.index, dtype="datetime64[us, UTC]")
    return pd.Series(pd.NA, index=ctx.index, dtype=STRING_DTYPE)


def constant(value: object, type_: str) -> Fn:
    """A function broadcasting a literal over the chunk."""
    def run(ctx: Context) -> pd.Series:
        if type_ == TEXT:
            return pd.Series(value, index=ctx.index, dtype=STRING_DTYPE)
        if type_ == BOOL:
            return pd.Series(np.full(len(ctx.index), bool(value)), index=ctx.index)
        return pd.Series(np.full(len(ctx.index), value, dtype="float64"), index=ctx.index)
    return run
