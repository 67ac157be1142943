"""Formula language: tokenizer and recursive-descent parser producing a small AST (never eval).

Grammar (lowest precedence first):
    expr       := comparison
    comparison := additive (("=" | "==" | "!=" | "<>" | "<" | ">" | "<=" | ">=") additive)?
    additive   := term (("+" | "-" | "&") term)*
    term       := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := NUMBER | STRING | [Column] | NAME "(" args? ")" | TRUE | FALSE | NULL
                | "(" expr ")" | "{" STRING ":" STRING ("," STRING ":" STRING)* "}"
Strings use double or single quotes with backslash escapes; `[Col]]umn]` escapes a `]` by doubling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from backend.errors import ConfigError


class FormulaError(ConfigError):
    """A formula that cannot be parsed or typed; `position` is the 0-based index of the culprit."""

    def __init__(self, problem: str, source: str, position: int) -> None:
        self.problem, self.source, self.position = problem, source, position
        line = source.replace("\n", " ")
        start = max(0, position - 40)
        excerpt, caret = line[start:position + 40], " " * (position - start) + "^"
        super().__init__(f"{problem} at column {position + 1}:\n  {excerpt}\n  {caret}")


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, column, name, op, end
    value: str
    pos: int


def _show(tok: Token) -> str:
    if tok.kind == "end":
        return "the end of the formula"
    if tok.kind == "column":
        return f"'[{tok.value}]'"
    if tok.kind == "string":
        return f'the text "{tok.value}"'
    return f"'{tok.value}'"


@dataclass
class Node:
    kind: str  # literal, column, call, binop, neg, map
    pos: int
    value: object = None  # literal value, column name, function name, operator, or dict for map
    args: list[Node] = field(default_factory=list)


_TOKEN_RE = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|<>|!=|==|[-+*/&=<>(),{}:])
""", re.VERBOSE)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def tokenize(src: str) -> list[Token]:
    tokens, i = [], 0
    while i < len(src):
        ch = src[i]
        if ch in "\"'":
            value, end = _string(src, i)
            tokens.append(Token("string", value, i))
            i = end
            continue
        if ch == "[":
            value, j = _column(src, i)
            tokens.append(Token("column", value, i))
            i = j
            continue
        m = _TOKEN_RE.match(src, i)
        if not m:
            raise FormulaError(f"Unexpected character '{ch}'", src, i)
        if m.lastgroup != "space":
            tokens.append(Token(m.lastgroup, m.group(), i))
        i = m.end()
    tokens.append(Token("end", "", len(src)))
    return tokens


def _string(src: str, i: int) -> tuple[str, int]:
    quote, j, out = src[i], i + 1, []
    while j < len(src):
        ch = src[j]
        if ch == "\\" and j + 1 < len(src):
            out.append(_ESCAPES.get(src[j + 1], src[j + 1]))
            j += 2
        elif ch == quote:
            return "".join(out), j + 1
        else:
            out.append(ch)
            j += 1
    raise FormulaError("Text is not closed (missing quote)", src, i)


def _column(src: str, i: int) -> tuple[str, int]:
    j, out = i + 1, []
    while j < len(src):
        if src[j] == "]":
            if src[j + 1:j + 2] == "]":
                out.append("]")
                j += 2
                continue
            name = "".join(out).strip()
            if not name:
                raise FormulaError("Empty column name", src, i)
            return name, j + 1
        out.append(src[j])
        j += 1
    raise FormulaError("Column reference is not closed (missing ']')", src, i)


class Parser:
    """Recursive-descent parser over the token list; `parse()` returns the root Node."""

    COMPARISONS = {"=", "==", "!=", "<>", "<", ">", "<=", ">="}

    def __init__(self, src: str) -> None:
        self.src = src
        self.tokens = tokenize(src)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, value: str, what: str) -> Token:
        tok = self.peek()
        if tok.kind != "op" or tok.value != value:
            raise FormulaError(f"Expected {what} but found {_show(tok)}", self.src, tok.pos)
        return self.take()

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise FormulaError("The formula is empty", self.src, 0)
        node = self.comparison()
        tok = self.peek()
        if tok.kind != "end":
            raise FormulaError(f"Unexpected {_show(tok)}", self.src, tok.pos)
        return node

    def comparison(self) -> Node:
        left = self.additive()
        tok = self.peek()
        if tok.kind == "op" and tok.value in self.COMPARISONS:
            self.take()
            return Node("binop", tok.pos, tok.value, [left, self.additive()])
        return left

    def additive(self) -> Node:
        node = self.term()
        while (tok := self.peek()).kind == "op" and tok.value in "+-&":
            self.take()
            node = Node("binop", tok.pos, tok.value, [node, self.term()])
        return node

    def term(self) -> Node:
        node = self.unary()
        while (tok := self.peek()).kind == "op" and tok.value in "*/":
            self.take()
            node = Node("binop", tok.pos, tok.value, [node, self.unary()])
        return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.value == "-":
            self.take()
            inner = self.unary()
            if inner.kind == "literal" and isinstance(inner.value, float):
                return Node("literal", tok.pos, -inner.value)
            return Node("neg", tok.pos, None, [inner])
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "number":
            return Node("literal", tok.pos, float(tok.value))
        if tok.kind == "string":
            return Node("literal", tok.pos, tok.value)
        if tok.kind == "column":
            return Node("column", tok.pos, tok.value)
        if tok.kind == "name":
            return self.name(tok)
        if tok.kind == "op" and tok.value == "(":
            node = self.comparison()
            self.expect(")", "')'")
            return node
        if tok.kind == "op" and tok.value == "{":
            return self.mapping(tok)
        raise FormulaError(f"Expected a value but found {_show(tok)}", self.src, tok.pos)

    def name(self, tok: Token) -> Node:
        upper = tok.value.upper()
        if self.peek().kind == "op" and self.peek().value == "(":
            self.take()
            args: list[Node] = []
            if not (self.peek().kind == "op" and self.peek().value == ")"):
                args.append(self.comparison())
                while self.peek().kind == "op" and self.peek().value == ",":
                    self.take()
                    args.append(self.comparison())
            self.expect(")", "',' or ')'")
            return Node("call", tok.pos, upper, args)
        if upper in ("TRUE", "FALSE"):
            return Node("literal", tok.pos, upper == "TRUE")
        if upper == "NULL":
            return Node("literal", tok.pos, None)
        raise FormulaError(f"Unknown name '{tok.value}' (columns are written [{tok.value}])", self.src, tok.pos)

    def mapping(self, open_tok: Token) -> Node:
        pairs: dict[str, str] = {}
        while not (self.peek().kind == "op" and self.peek().value == "}"):
            if pairs:
                self.expect(",", "',' or '}'")
            key = self.take()
            self.expect(":", "':'")
            value = self.take()
            for t in (key, value):
                if t.kind != "string":
                    raise FormulaError("Map keys and values must be quoted text", self.src, t.pos)
            pairs[key.value] = value.value
        self.take()
        return Node("map", open_tok.pos, pairs)


def parse(src: str) -> Node:
    """Parse a formula; raises FormulaError pointing at the problem."""
    return Parser(src).parse()
