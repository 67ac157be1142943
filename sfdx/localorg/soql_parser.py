"""SOQL tokenizer and recursive-descent parser producing a small AST (no eval anywhere).

Supported: SELECT field paths (Account.Name, Owner.Email), COUNT() / COUNT(field) [alias],
FROM object [alias], WHERE with = != <> < > <= >= IN, NOT IN, LIKE, INCLUDES, EXCLUDES, AND/OR/NOT,
parentheses, null/true/false, strings, numbers, date and datetime literals, date literals such as
TODAY / LAST_N_DAYS:n, ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], LIMIT, OFFSET, ALL ROWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import SfError

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\d:T])
  | (?P<number>[+-]?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?::\d+)?)
""", re.VERBOSE)
KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC", "NULLS",
            "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE", "INCLUDES", "EXCLUDES", "ALL", "ROWS",
            "GROUP", "HAVING", "FOR", "WITH", "USING", "TYPEOF"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


@dataclass
class Token:
    kind: str
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass
class FieldPath:
    parts: list[str]
    pos: int


@dataclass
class Count:
    field: FieldPath | None
    alias: str | None
    pos: int


@dataclass
class Subquery:
    """A parent-to-child subquery in the select list: (SELECT LastName FROM Contacts)."""

    query: Query
    pos: int


@dataclass
class Literal:
    kind: str     # string, number, date, datetime, null, boolean, dateliteral
    value: Any
    pos: int
    quoted: bool = False


@dataclass
class Condition:
    op: str                      # and, or, not, cmp, in, notin, like, includes, excludes
    items: list[Condition] = field(default_factory=list)
    path: FieldPath | None = None
    operator: str = ""
    values: list[Literal] = field(default_factory=list)


@dataclass
class Query:
    text: str
    select: list[FieldPath | Count | Subquery]
    sobject: str
    sobject_pos: int
    alias: str | None = None
    where: Condition | None = None
    order: list[tuple[FieldPath, bool, bool]] = field(default_factory=list)  # (path, desc, nulls_first)
    limit: int | None = None
    offset: int | None = None
    all_rows: bool = False


def soql_error(q: str, pos: int, message: str, code: str = "MALFORMED_QUERY") -> SfError:
    """Salesforce's SOQL error text: the query, a caret line and 'ERROR at Row:1:Column:N'."""
    caret = " " * pos + "^"
    return SfError(code, f"\n{q}\n{caret}\nERROR at Row:1:Column:{pos + 1}\n{message}", with_fields=False)


def tokenize(q: str) -> list[Token]:
    out, i = [], 0
    while i < len(q):
        m = _TOKEN.match(q, i)
        if m is None:
            raise soql_error(q, i, f"unexpected token: {q[i]}")
        if m.lastgroup != "ws":
            kind = m.lastgroup or ""
            if kind == "ident" and m.group().upper() in KEYWORDS:
                kind = "kw"
            out.append(Token(kind, m.group(), i))
        i = m.end()
    out.append(Token("eof", "<EOF>", len(q)))
    return out


class Parser:
    def __init__(self, text: str) -> None:
        self.q = text
        self.toks = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def next(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def accept(self, *words: str) -> Token | None:
        t = self.tok
        if (t.kind == "kw" and t.upper in words) or (t.kind in ("punct", "op") and t.text in words):
            self.i += 1
            return t
        return None

    def expect(self, *words: str) -> Token:
        t = self.accept(*words)
        if t is None:
            raise self.unexpected()
        return t

    def unexpected(self) -> SfError:
        return soql_error(self.q, self.tok.pos, f"unexpected token: {self.tok.text}")

    def parse(self, nested: bool = False) -> Query:
        self.expect("SELECT")
        select = [self.select_item()]
        while self.accept(","):
            select.append(self.select_item())
        self.expect("FROM")
        obj = self.next()
        if obj.kind != "ident":
            raise soql_error(self.q, obj.pos, f"unexpected token: {obj.text}")
        query = Query(self.q, select, obj.text, obj.pos)
        if self.tok.kind == "ident":
            query.alias = self.next().text
        if self.accept("WHERE"):
            query.where = self.condition()
        if self.accept("ORDER"):
            self.expect("BY")
            query.order.append(self.order_item())
            while self.accept(","):
                query.order.append(self.order_item())
        if self.accept("LIMIT"):
            query.limit = self.integer()
        if self.accept("OFFSET"):
            query.offset = self.integer()
        if self.accept("ALL"):
            self.expect("ROWS")
            query.all_rows = True
        if self.tok.kind != ("punct" if nested else "eof") or (nested and self.tok.text != ")"):
            raise self.unexpected()
        return query

    def integer(self) -> int:
        t = self.next()
        if t.kind != "number" or not t.text.isdigit():
            raise soql_error(self.q, t.pos, f"unexpected token: {t.text}")
        return int(t.text)

    def select_item(self) -> FieldPath | Count | Subquery:
        t = self.tok
        if t.text == "(" and self.toks[self.i + 1].upper == "SELECT":
            self.i += 1
            sub = self.parse(nested=True)
            self.expect(")")
            return Subquery(sub, t.pos)
        if t.kind == "ident" and t.upper == "COUNT" and self.toks[self.i + 1].text == "(":
            self.i += 2
            target = None if self.tok.text == ")" else self.path()
            self.expect(")")
            alias = self.next().text if self.tok.kind == "ident" else None
            return Count(target, alias, t.pos)
        return self.path()

    def path(self) -> FieldPath:
        t = self.next()
        if t.kind != "ident" or ":" in t.text:
            raise soql_error(self.q, t.pos, f"unexpected token: {t.text}")
        return FieldPath(t.text.split("."), t.pos)

    def order_item(self) -> tuple[FieldPath, bool, bool]:
        p = self.path()
        desc = bool(self.accept("DESC"))
        if not desc:
            self.accept("ASC")
        nulls_first = not desc
        if self.accept("NULLS"):
            nulls_first = self.expect("FIRST", "LAST").upper == "FIRST"
        return p, desc, nulls_first

    def condition(self) -> Condition:
        items = [self.conjunction()]
        while self.accept("OR"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Condition("or", items)

    def conjunction(self) -> Condition:
        items = [self.negation()]
        while self.accept("AND"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else Condition("and", items)

    def negation(self) -> Condition:
        if self.accept("NOT"):
            return Condition("not", [self.negation()])
        if self.accept("("):
            inner = self.condition()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self) -> Condition:
        p = self.path()
        if self.accept("NOT"):
            self.expect("IN")
            return Condition("notin", path=p, values=self.value_list())
        if self.accept("IN"):
            return Condition("in", path=p, values=self.value_list())
        if self.accept("LIKE"):
            return Condition("like", path=p, values=[self.literal()])
        kw = self.accept("INCLUDES", "EXCLUDES")
        if kw:
            return Condition(kw.upper.lower(), path=p, values=self.value_list())
        if self.tok.kind != "op":
            raise self.unexpected()
        op = self.next().text
        return Condition("cmp", path=p, operator="!=" if op == "<>" else op, values=[self.literal()])

    def value_list(self) -> list[Literal]:
        self.expect("(")
        values = [self.literal()]
        while self.accept(","):
            values.append(self.literal())
        self.expect(")")
        return values

    def literal(self) -> Literal:
        t = self.next()
        if t.kind == "string":
            body = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), t.text[1:-1])
            return Literal("string", body, t.pos, quoted=True)
        if t.kind == "number":
            return Literal("number", float(t.text) if "." in t.text else int(t.text), t.pos)
        if t.kind in ("date", "datetime"):
            return Literal(t.kind, t.text, t.pos)
        if t.kind == "kw" and t.upper in ("NULL", "TRUE", "FALSE"):
            return Literal("null" if t.upper == "NULL" else "boolean", t.upper == "TRUE", t.pos)
        if t.kind == "ident":
            return Literal("dateliteral", t.upper, t.pos)
        raise soql_error(self.q, t.pos, f"unexpected token: {t.text}")


def parse(text: str) -> Query:
    """Parse one SOQL statement or raise SfError MALFORMED_QUERY with Salesforce's position text."""
    return Parser(text.strip()).parse()
