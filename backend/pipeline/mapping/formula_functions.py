"""Formula functions: one small compile function per name, each returning a vectorised Compiled."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from backend.errors import ConfigError
from backend.pipeline.chunk import STRING_DTYPE
from backend.pipeline.mapping import values as V
from backend.pipeline.mapping.formula_ops import join
from backend.pipeline.mapping.formula_parser import Node
from backend.pipeline.mapping.formula_types import (
    BOOL,
    DATE,
    DATETIME,
    MAP,
    NULL,
    NUMBER,
    TEXT,
    Compiled,
    Compiler,
    Context,
    coerce,
)

Builder = Callable[[Compiler, Node, list[Compiled]], Compiled]
FUNCTIONS: dict[str, tuple[int, int, Builder]] = {}


def function(name: str, min_args: int, max_args: int) -> Callable[[Builder], Builder]:
    def add(builder: Builder) -> Builder:
        FUNCTIONS[name] = (min_args, max_args, builder)
        return builder
    return add


def compile_call(comp: Compiler, node: Node) -> Compiled:
    name = str(node.value)
    if name not in FUNCTIONS:
        raise comp.error(f"Unknown function '{name}'", node)
    lo, hi, builder = FUNCTIONS[name]
    n = len(node.args)
    if not lo <= n <= hi:
        want = f"{lo}" if lo == hi else f"{lo} to {hi}" if hi < 99 else f"at least {lo}"
        raise comp.error(f"{name} takes {want} argument{'s' if hi != 1 else ''}, not {n}", node)
    return builder(comp, node, [comp.compile(a) for a in node.args])


def literal(comp: Compiler, arg: Compiled, kind: type, what: str) -> object:
    """The constant value of an argument that must be written literally (a pattern, a length)."""
    value = arg.node.value
    if arg.node.kind != "literal" or not isinstance(value, kind) or isinstance(value, bool):
        raise comp.error(f"Expected {what} written directly here", arg.node)
    return value


def count(comp: Compiler, arg: Compiled, what: str) -> int:
    value = literal(comp, arg, float, what)
    if value != int(value) or value < 0:
        raise comp.error(f"Expected {what} (a whole number, 0 or more)", arg.node)
    return int(value)


def _text_fn(name: str, op: Callable[[pd.Series], pd.Series]) -> None:
    @function(name, 1, 1)
    def build(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
        f = coerce(args[0], TEXT)
        return Compiled(TEXT, lambda ctx: op(f(ctx)), node)


_text_fn("UPPER", lambda s: V.change_case(s, upper=True))
_text_fn("LOWER", lambda s: V.change_case(s, upper=False))
_text_fn("PROPER", lambda s: s.str.title())
_text_fn("TRIM", lambda s: s.str.replace(r"\s+", " ", regex=True).str.strip())
_text_fn("TEXT", lambda s: s)


@function("IF", 2, 3)
def _if(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    cond = coerce(args[0], BOOL)
    a = args[1]
    b = args[2] if len(args) == 3 else Compiled(NULL, lambda ctx: pd.Series(dtype=object), node)
    types = {a.type, b.type} - {NULL}
    out = types.pop() if len(types) == 1 else TEXT if types else TEXT
    fa, fb = coerce(a, out), coerce(b, out)

    def run(ctx: Context) -> pd.Series:
        c = np.asarray(cond(ctx), dtype=bool)
        with ctx.within(c):
            va = fa(ctx)
        with ctx.within(~c):
            vb = fb(ctx)
        return va.where(c, vb)
    return Compiled(out, run, node)


def _logic(name: str, reduce: Callable[[list[np.ndarray]], np.ndarray], lo: int, hi: int) -> None:
    @function(name, lo, hi)
    def build(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
        fns = [coerce(a, BOOL) for a in args]
        return Compiled(BOOL, lambda ctx: pd.Series(reduce([np.asarray(f(ctx), bool) for f in fns]),
                                                    index=ctx.index), node)


_logic("AND", lambda xs: np.logical_and.reduce(xs), 1, 99)
_logic("OR", lambda xs: np.logical_or.reduce(xs), 1, 99)
_logic("NOT", lambda xs: ~xs[0], 1, 1)


@function("LEFT", 2, 2)
def _left(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    f, n = coerce(args[0], TEXT), count(comp, args[1], "a length")
    return Compiled(TEXT, lambda ctx: f(ctx).str.slice(0, n), node)


@function("RIGHT", 2, 2)
def _right(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    f, n = coerce(args[0], TEXT), count(comp, args[1], "a length")
    return Compiled(TEXT, lambda ctx: f(ctx).str.slice(-n) if n else f(ctx).str.slice(0, 0), node)


@function("MID", 3, 3)
def _mid(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    f = coerce(args[0], TEXT)
    start, n = count(comp, args[1], "a start position"), count(comp, args[2], "a length")
    if start < 1:
        raise comp.error("MID counts positions from 1", args[1].node)
    return Compiled(TEXT, lambda ctx: f(ctx).str.slice(start - 1, start - 1 + n), node)


@function("LEN", 1, 1)
def _len(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    f = coerce(args[0], TEXT)
    return Compiled(NUMBER, lambda ctx: f(ctx).str.len().fillna(0).astype("float64"), node)


@function("REPLACE", 3, 3)
def _replace(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    """Regex replace with RE2 (Arrow): linear time, so a user's pattern cannot stall a worker."""
    f = coerce(args[0], TEXT)
    pattern = str(literal(comp, args[1], str, "a quoted regular expression"))
    repl = str(literal(comp, args[2], str, "a quoted replacement"))
    try:
        pc.replace_substring_regex(pa.array([""]), pattern, repl)
    except pa.ArrowInvalid as err:
        culprit = args[2] if "replacement" in str(err) else args[1]
        raise comp.error(str(err), culprit.node) from None

    def run(ctx: Context) -> pd.Series:
        s = f(ctx)
        return V.series(pc.replace_substring_regex(V.arrow(s), pattern, repl), s.index)
    return Compiled(TEXT, run, node)


@function("SPLIT", 3, 3)
def _split(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    f, sep = coerce(args[0], TEXT), str(literal(comp, args[1], str, "a quoted separator"))
    value = literal(comp, args[2], float, "a position")
    if value != int(value) or value == 0:
        raise comp.error("SPLIT positions count from 1 (or from -1 at the end)", args[2].node)
    pos = int(value) - 1 if value > 0 else int(value)
    if not sep:
        raise comp.error("The separator cannot be empty", args[1].node)

    def run(ctx: Context) -> pd.Series:
        s = f(ctx)
        parts = s.astype(object).where(s.notna(), None).map(lambda v: v.split(sep) if v else None)
        out = parts.map(lambda p: p[pos] if p is not None and -len(p) <= pos < len(p) else None)
        return out.astype(STRING_DTYPE)
    return Compiled(TEXT, run, node)


@function("MAP", 2, 3)
def _map(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    f = coerce(args[0], TEXT)
    if args[1].type != MAP:
        raise comp.error('MAP needs a table such as {"a": "b"} here', args[1].node)
    table = dict(args[1].node.value)  # type: ignore[arg-type]
    default = coerce(args[2], TEXT) if len(args) == 3 else f

    def run(ctx: Context) -> pd.Series:
        s = f(ctx)
        mapped = s.map(table).astype(STRING_DTYPE)
        return mapped.where(s.isin(list(table)).fillna(False), default(ctx))
    return Compiled(TEXT, run, node)


@function("TODAY", 0, 0)
def _today(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    def run(ctx: Context) -> pd.Series:
        today = pd.Timestamp.now(tz=V.zone(ctx.time_zone)).tz_localize(None).normalize()
        return pd.Series(today, index=ctx.index, dtype="datetime64[us]")
    return Compiled(DATE, run, node)


@function("NOW", 0, 0)
def _now(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    return Compiled(DATETIME, lambda ctx: pd.Series(pd.Timestamp.now(tz="UTC").floor("s"), index=ctx.index,
                                                   dtype="datetime64[us, UTC]"), node)


def _formats(comp: Compiler, args: list[Compiled]) -> list[str] | None:
    if len(args) < 2:
        return None
    fmt = str(literal(comp, args[1], str, "a quoted date format"))
    try:
        return [V.check_format(fmt)]
    except ConfigError as err:
        raise comp.error(str(err).rstrip("."), args[1].node) from None


def _parser(name: str, out: str) -> None:
    @function(name, 1, 2)
    def build(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
        f, fixed = coerce(args[0], TEXT), _formats(comp, args)

        def run(ctx: Context) -> pd.Series:
            s, formats = f(ctx), fixed or ctx.date_formats
            got = (V.parse_dates(s, formats) if out == DATE
                   else V.parse_datetimes(s, formats, ctx.time_zone))
            bad = (got.isna() & s.notna() & (s.str.strip() != "")).to_numpy(bool)
            ctx.fail(bad, lambda rows: f"{name}: '" + s[rows] + f"' does not match {' or '.join(formats)}")
            return got
        return Compiled(out, run, node)


_parser("DATE", DATE)
_parser("DATETIME", DATETIME)


@function("NUMBER", 1, 2)
def _number(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    f = coerce(args[0], TEXT)
    locale = str(literal(comp, args[1], str, "a quoted locale such as \"de\"")) if len(args) == 2 else None
    if locale is not None and locale not in V.LOCALES:
        raise comp.error(f"Unknown locale '{locale}'; use one of {', '.join(V.LOCALES)}", args[1].node)

    def run(ctx: Context) -> pd.Series:
        s, loc = f(ctx), locale or ctx.number_locale
        got = V.parse_numbers(s, loc)
        bad = (got.isna() & s.notna() & (s.str.strip() != "")).to_numpy(bool)
        ctx.fail(bad, lambda rows: "NUMBER: '" + s[rows] + f"' is not a number ({loc})")
        return got
    return Compiled(NUMBER, run, node)


@function("ROUND", 2, 2)
def _round(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    f, digits = coerce(args[0], NUMBER), count(comp, args[1], "a number of digits")
    return Compiled(NUMBER, lambda ctx: f(ctx).round(digits), node)


@function("ISBLANK", 1, 1)
def _isblank(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    a = args[0]
    f = coerce(a, TEXT) if a.type in (TEXT, NULL) else a.fn

    def run(ctx: Context) -> pd.Series:
        s = f(ctx)
        blank = s.isna() | (s.str.strip() == "") if a.type in (TEXT, NULL) else s.isna()
        return pd.Series(np.asarray(blank.fillna(True), dtype=bool), index=ctx.index)
    return Compiled(BOOL, run, node)


@function("BLANKVALUE", 2, 2)
def _blankvalue(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    out = args[0].type if args[0].type == args[1].type else TEXT
    fa, fb = coerce(args[0], out), coerce(args[1], out)

    def run(ctx: Context) -> pd.Series:
        a = fa(ctx)
        missing = a.isna() | (a.str.strip() == "").fillna(True) if out == TEXT else a.isna()
        return a.where(~missing, fb(ctx))
    return Compiled(out, run, node)


@function("CONCAT", 1, 99)
def _concat(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    fns = [coerce(a, TEXT) for a in args]
    return Compiled(TEXT, lambda ctx: join([f(ctx) for f in fns]), node)


@function("CONTAINS", 2, 2)
def _contains(comp: Compiler, node: Node, args: list[Compiled]) -> Compiled:
    f, sub = coerce(args[0], TEXT), str(literal(comp, args[1], str, "quoted text"))
    return Compiled(BOOL, lambda ctx: pd.Series(f(ctx).str.contains(sub, regex=False).fillna(False)
                                                .to_numpy(bool), index=ctx.index), node)
