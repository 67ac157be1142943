"""Formula operators: + (add or join), - * / on numbers, & (join), and comparisons."""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd

from backend.pipeline.chunk import STRING_DTYPE
from backend.pipeline.mapping.formula_parser import Node
from backend.pipeline.mapping.formula_types import (
    BOOL,
    DATE,
    DATETIME,
    NULL,
    NUMBER,
    TEXT,
    Compiled,
    Compiler,
    Context,
    coerce,
)

_COMPARE = {"=": operator.eq, "==": operator.eq, "!=": operator.ne, "<>": operator.ne,
            "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def join(parts: list[pd.Series]) -> pd.Series:
    """Concatenate text series, blanks counting as empty; an all-blank result is blank."""
    out = parts[0].fillna("")
    for p in parts[1:]:
        out = out + p.fillna("")
    out = out.astype(STRING_DTYPE)
    return out.mask(out == "")


def compile_binop(comp: Compiler, node: Node) -> Compiled:
    left, right = (comp.compile(a) for a in node.args)
    op = str(node.value)
    if op in _COMPARE:
        return _comparison(comp, node, left, right)
    if op == "&" or (op == "+" and _is_join(left.type, right.type)):
        fl, fr = coerce(left, TEXT), coerce(right, TEXT)
        return Compiled(TEXT, lambda ctx: join([fl(ctx), fr(ctx)]), node)
    if left.type in (DATE, DATETIME) and op in "+-":
        return _date_arith(comp, node, left, right)
    for side in (left, right):
        if side.type not in (NUMBER, TEXT, NULL, BOOL):
            raise comp.error(f"Operator '{op}' needs numbers, not a {side.type}", side.node)
    fl, fr, fn = _operand(left, op), _operand(right, op), _ARITH[op]

    def run(ctx: Context) -> pd.Series:
        a, b = fl(ctx), fr(ctx)
        if op == "/":
            ctx.fail((b == 0).to_numpy(bool), "Division by zero")
            b = b.mask(b == 0)
        return fn(a, b)
    return Compiled(NUMBER, run, node)


def _is_join(lt: str, rt: str) -> bool:
    """`+` adds when a number is involved (text is read as a number then) and joins text otherwise."""
    return NUMBER not in (lt, rt)


def _operand(c: Compiled, op: str):  # noqa: ANN202 - returns the compiled function
    """A number operand; text that is not a number is a row error, not a silent blank."""
    fn = coerce(c, NUMBER)
    if c.type != TEXT:
        return fn
    text = c.fn

    def run(ctx: Context) -> pd.Series:
        s, nums = text(ctx), fn(ctx)
        bad = (nums.isna() & s.notna() & (s.str.strip() != "")).to_numpy(bool)
        ctx.fail(bad, lambda rows: f"'{op}' needs a number, not '" + s[rows] + "'")
        return nums
    return run


def _date_arith(comp: Compiler, node: Node, left: Compiled, right: Compiled) -> Compiled:
    op = str(node.value)
    if op == "-" and right.type == left.type:
        fl, fr = left.fn, right.fn
        return Compiled(NUMBER, lambda ctx: (fl(ctx) - fr(ctx)).dt.total_seconds() / 86400, node)
    if right.type not in (NUMBER, TEXT):
        raise comp.error(f"Cannot apply '{op}' to a {left.type} and a {right.type}", node)
    fl, fr, sign = left.fn, coerce(right, NUMBER), 1 if op == "+" else -1

    def run(ctx: Context) -> pd.Series:
        days = fr(ctx) * sign
        return fl(ctx) + pd.to_timedelta(days * 86400, unit="s").dt.round("s")
    return Compiled(left.type, run, node)


def _comparison(comp: Compiler, node: Node, left: Compiled, right: Compiled) -> Compiled:
    types = {left.type, right.type} - {NULL}
    if types <= {TEXT} or not types:
        target = TEXT
    else:
        target = next(t for t in (DATETIME, DATE, NUMBER, BOOL) if t in types)
    fl, fr, fn = coerce(left, target), coerce(right, target), _COMPARE[str(node.value)]

    def run(ctx: Context) -> pd.Series:
        a, b = fl(ctx), fr(ctx)
        if target == TEXT:
            a, b = a.fillna(""), b.fillna("")
        result = fn(a, b)
        if hasattr(result, "fillna"):
            result = result.fillna(str(node.value) in ("!=", "<>"))
        return pd.Series(np.asarray(result, dtype=bool), index=ctx.index)
    return Compiled(BOOL, run, node)
