"""Formula compiler: type-checks the AST and turns it into a function over a chunk's column arrays.

Types and coercions are in formula_types.py, operators in formula_ops.py, functions in
formula_functions.py. Values a function cannot convert (NUMBER("abc"), DATE("31.02.2026", "eu"))
become row errors; inside IF only the branch a row takes can report errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from backend.pipeline.chunk import STRING_DTYPE
from backend.pipeline.mapping import values as V
from backend.pipeline.mapping.formula_functions import compile_call
from backend.pipeline.mapping.formula_ops import compile_binop
from backend.pipeline.mapping.formula_parser import FormulaError, Node, parse
from backend.pipeline.mapping.formula_types import (
    BOOL,
    MAP,
    NULL,
    NUMBER,
    TEXT,
    Compiled,
    Context,
    Fn,
    blank,
    coerce,
    constant,
)


class FormulaCompiler:
    """Compile a parsed formula for a given set of source columns (None = check names at run time)."""

    def __init__(self, src: str, columns: Sequence[str] | None = None) -> None:
        self.src = src
        self.columns = list(columns) if columns is not None else None
        self._folded = {c.casefold(): c for c in self.columns or []}

    def error(self, message: str, node: Node) -> FormulaError:
        return FormulaError(message, self.src, node.pos)

    def compile(self, node: Node) -> Compiled:
        if node.kind == "literal":
            v = node.value
            if v is None:
                return Compiled(NULL, lambda ctx: blank(ctx, TEXT), node)
            t = BOOL if isinstance(v, bool) else NUMBER if isinstance(v, float) else TEXT
            return Compiled(t, constant(v, t), node)
        if node.kind == "column":
            return Compiled(TEXT, self.column(node), node)
        if node.kind == "map":
            return Compiled(MAP, lambda ctx: pd.Series(dtype=object), node)
        if node.kind == "neg":
            inner = coerce(self.compile(node.args[0]), NUMBER)
            return Compiled(NUMBER, lambda ctx: -inner(ctx), node)
        if node.kind == "binop":
            return compile_binop(self, node)
        return compile_call(self, node)

    def column(self, node: Node) -> Fn:
        name = str(node.value)
        if self.columns is not None:
            if name not in self.columns:
                if name.casefold() not in self._folded:
                    raise self.error(f"Unknown column [{name}]", node)
                name = self._folded[name.casefold()]

        def run(ctx: Context) -> pd.Series:
            if name not in ctx.frame.columns:
                raise FormulaError(f"Unknown column [{name}]", self.src, node.pos)
            s = ctx.frame[name]
            return s if s.dtype == STRING_DTYPE else s.astype(STRING_DTYPE)
        return run


@dataclass
class Formula:
    """A compiled formula; `evaluate(ctx)` returns its values, `text(ctx)` them as strings (NA = blank)."""

    source: str
    compiled: Compiled

    @property
    def type(self) -> str:
        return self.compiled.type

    def evaluate(self, ctx: Context) -> pd.Series:
        return self.compiled.fn(ctx)

    def text(self, ctx: Context) -> pd.Series:
        return V.blank_as_null(coerce(self.compiled, TEXT)(ctx))

    def truth(self, ctx: Context) -> np.ndarray:
        return np.asarray(coerce(self.compiled, BOOL)(ctx), dtype=bool)


def compile_formula(src: str, columns: Sequence[str] | None = None) -> Formula:
    """Parse and type-check `src`; raises FormulaError with position and a caret excerpt."""
    compiler = FormulaCompiler(src, columns)
    try:
        compiled = compiler.compile(parse(src))
    except FormulaError as err:
        if not err.source:  # raised by coerce(), which does not know the text
            raise FormulaError(err.problem, src, err.position) from None
        raise
    return Formula(src, compiled)
