"""The subset of CQL (Confluence Query Language) that page-sync users plausibly write.

Supported: clauses joined by ``AND``, optionally followed by ``ORDER BY``.

=====================================  =========================================
field                                  operators
=====================================  =========================================
``type``                               ``=  !=  in  not in``  (only ``page`` exists)
``space`` / ``space.key``              ``=  !=  in  not in``
``id`` / ``content``                   ``=  !=  in  not in``
``ancestor``, ``parent``               ``=  !=  in  not in``
``label``                              ``=  !=  in  not in``
``title``                              ``=  !=  ~  !~``  (``~``: every word, ``*`` wildcards)
``lastModified`` / ``created``         ``=  !=  >  >=  <  <=``  with ``"yyyy-MM-dd[ HH:mm]"``
=====================================  =========================================

Everything else (``OR``, ``NOT``, parentheses, functions such as ``now()``, other fields)
raises :class:`CqlError`, which the emulator answers with 400 as Confluence does for CQL
it cannot parse: a client must not get silently wrong results from an unsupported query.
Dates are read in UTC.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from dot_orchestration.emulator.confluence.state import PageRecord

if TYPE_CHECKING:  # a typeshed-only protocol: what `list.sort(key=...)` accepts
    from _typeshed import SupportsRichComparison

__all__ = ["CqlError", "CqlQuery", "parse_cql"]


class CqlError(ValueError):
    """The query is not CQL, or uses CQL this emulator does not support."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|!~|>=|<=|=|~|>|<)
      | (?P<punct>[(),])
      | (?P<word>[^\s"'(),=~<>!]+)
    )""",
    re.VERBOSE,
)
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")
_FIELD_ALIASES = {"space.key": "space", "content": "id"}
_SET_OPERATORS = ("=", "!=", "in", "not in")
_FIELD_OPERATORS = {
    "type": _SET_OPERATORS,
    "space": _SET_OPERATORS,
    "id": _SET_OPERATORS,
    "ancestor": _SET_OPERATORS,
    "parent": _SET_OPERATORS,
    "label": _SET_OPERATORS,
    "title": ("=", "!=", "~", "!~"),
    "lastmodified": ("=", "!=", ">", ">=", "<", "<="),
    "created": ("=", "!=", ">", ">=", "<", "<="),
}
_ORDER_FIELDS = {"id", "title", "lastmodified", "created"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str

    @property
    def value(self) -> str:
        """The token's text with quotes and backslash escapes removed."""
        if self.kind != "string":
            return self.text
        return re.sub(r"\\(.)", r"\1", self.text[1:-1])


@dataclass(frozen=True)
class _Clause:
    field: str
    operator: str
    values: tuple[str, ...]
    date: tuple[datetime, bool] | None = None  # for date fields: (instant, names a whole day)


#: A page's ancestors (the site knows them, the page only knows its parent).
Ancestry = Callable[[PageRecord], Sequence[PageRecord]]


@dataclass(frozen=True)
class CqlQuery:
    """A parsed query: clauses that must all hold, and the result order."""

    clauses: tuple[_Clause, ...]
    order_by: tuple[tuple[str, bool], ...]  # (field, descending)

    def select(self, pages: Sequence[PageRecord], ancestry: Ancestry) -> list[PageRecord]:
        """The matching pages in query order (by id when the query names none)."""
        matching = [page for page in pages if all(_holds(c, page, ancestry) for c in self.clauses)]
        matching.sort(key=lambda page: int(page.id))
        for name, descending in reversed(self.order_by):  # stable sorts, last key first
            matching.sort(key=_SORT_KEYS[name], reverse=descending)
        return matching


def parse_cql(cql: str) -> CqlQuery:
    """Parse `cql`, raising :class:`CqlError` with Confluence's wording on failure."""
    tokens = _tokenize(cql)
    parser = _Parser(tokens, cql)
    return parser.query()


def _tokenize(cql: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while cql[position:].strip():
        match = _TOKEN.match(cql, position)
        if match is None or match.lastgroup is None:
            raise CqlError(f"Could not parse cql : {cql}")
        tokens.append(_Token(match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent over ``clause (AND clause)* [ORDER BY key (, key)*]``."""

    def __init__(self, tokens: list[_Token], cql: str) -> None:
        self._tokens = tokens
        self._cql = cql
        self._next = 0

    def query(self) -> CqlQuery:
        if not self._tokens:
            raise CqlError("Could not parse cql : query is empty")
        clauses = [self._clause()]
        while self._accept_word("and"):
            clauses.append(self._clause())
        order_by = self._order_by() if self._accept_word("order") else ()
        if self._peek() is not None:
            raise self._unsupported(self._peek())
        return CqlQuery(tuple(clauses), order_by)

    def _clause(self) -> _Clause:
        field_token = self._take()
        if field_token.kind != "word":
            raise self._unsupported(field_token)
        name = _FIELD_ALIASES.get(field_token.text.lower(), field_token.text.lower())
        if name not in _FIELD_OPERATORS:
            raise CqlError(f"Could not parse cql : {self._cql} (unsupported field {name!r})")
        operator = self._operator()
        if operator not in _FIELD_OPERATORS[name]:
            raise CqlError(f"Could not parse cql : {self._cql} ({operator!r} on {name!r})")
        values = self._list() if operator.endswith("in") else (self._value(),)
        if name not in {"lastmodified", "created"}:
            return _Clause(name, operator, values)
        date = _read_date(values[0])
        if date is None:
            raise CqlError(f"Could not parse cql : {self._cql} (bad date {values[0]!r})")
        return _Clause(name, operator, values, date)

    def _operator(self) -> str:
        token = self._take()
        if token.kind == "op":
            return token.text
        if token.kind == "word" and token.text.lower() == "in":
            return "in"
        if token.kind == "word" and token.text.lower() == "not" and self._accept_word("in"):
            return "not in"
        raise self._unsupported(token)

    def _list(self) -> tuple[str, ...]:
        if self._take().text != "(":
            raise CqlError(f"Could not parse cql : {self._cql} (expected a list)")
        values = [self._value()]
        while (token := self._take()).text == ",":
            values.append(self._value())
        if token.text != ")":
            raise self._unsupported(token)
        return tuple(values)

    def _value(self) -> str:
        token = self._take()
        if token.kind not in {"string", "word"}:
            raise self._unsupported(token)
        if (after := self._peek()) is not None and after.text == "(":  # a function: now(), ...
            raise CqlError(f"Could not parse cql : {self._cql} (functions are not supported)")
        return token.value

    def _order_by(self) -> tuple[tuple[str, bool], ...]:
        if not self._accept_word("by"):
            raise CqlError(f"Could not parse cql : {self._cql} (expected ORDER BY)")
        keys = [self._order_key()]
        while (after := self._peek()) is not None and after.text == ",":
            self._take()
            keys.append(self._order_key())
        return tuple(keys)

    def _order_key(self) -> tuple[str, bool]:
        text = self._take().text.lower()
        name = _FIELD_ALIASES.get(text, text)
        if name not in _ORDER_FIELDS:
            raise CqlError(f"Could not parse cql : {self._cql} (cannot order by {name!r})")
        descending = self._accept_word("desc")
        if not descending:
            self._accept_word("asc")
        return name, descending

    def _accept_word(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "word" and token.text.lower() == word:
            self._next += 1
            return True
        return False

    def _peek(self) -> _Token | None:
        return self._tokens[self._next] if self._next < len(self._tokens) else None

    def _take(self) -> _Token:
        token = self._peek()
        if token is None:
            raise CqlError(f"Could not parse cql : {self._cql} (unexpected end)")
        self._next += 1
        return token

    def _unsupported(self, token: _Token | None) -> CqlError:
        near = token.text if token is not None else "end"
        return CqlError(f"Could not parse cql : {self._cql} (unsupported near {near!r})")


def _read_date(text: str) -> tuple[datetime, bool] | None:
    """The instant a date literal names (UTC) and whether it names a whole day."""
    for date_format in _DATE_FORMATS:
        try:
            moment = datetime.strptime(text, date_format).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
        return moment, "%H" not in date_format
    return None


def _holds(clause: _Clause, page: PageRecord, ancestry: Ancestry) -> bool:
    if clause.field in {"lastmodified", "created"}:
        moment = page.modified_at if clause.field == "lastmodified" else page.created_at
        return _compare_date(clause, moment)
    if clause.field == "title" and clause.operator in {"~", "!~"}:
        return _title_matches(clause.values[0], page.title) == (clause.operator == "~")
    found = bool(_field_values(clause.field, page, ancestry) & _normalised(clause))
    return found if clause.operator in {"=", "in"} else not found


def _field_values(name: str, page: PageRecord, ancestry: Ancestry) -> set[str]:
    values: dict[str, Callable[[], Sequence[str]]] = {
        "type": lambda: ["page"],
        "space": lambda: [page.space_key.lower()],
        "id": lambda: [page.id],
        "ancestor": lambda: [ancestor.id for ancestor in ancestry(page)],
        "parent": lambda: [page.parent_id] if page.parent_id else [],
        "label": lambda: [label.lower() for label in page.labels],
        "title": lambda: [page.title.lower()],
    }
    return set(values[name]())


def _normalised(clause: _Clause) -> set[str]:
    """Keys, labels, titles and types compare case-insensitively; ids as written."""
    if clause.field in {"id", "ancestor", "parent"}:
        return set(clause.values)
    return {value.lower() for value in clause.values}


def _title_matches(query: str, title: str) -> bool:
    """``title ~ "net rev*"``: every query word matches some title word."""
    words = re.findall(r"\w+", title.lower())
    terms = re.findall(r"[\w*?]+", query.lower())
    return bool(terms) and all(any(fnmatch.fnmatchcase(w, t) for w in words) for t in terms)


def _compare_date(clause: _Clause, moment: datetime) -> bool:
    """Order operators compare with the literal's instant (a day's start); ``=``/``!=``
    test membership of the day, or of the minute, that the literal names."""
    assert clause.date is not None  # the parser sets it on every date clause
    start, whole_day = clause.date
    within = start <= moment < start + (timedelta(days=1) if whole_day else timedelta(minutes=1))
    comparisons = {
        "=": within,
        "!=": not within,
        ">": moment > start,
        ">=": moment >= start,
        "<": moment < start,
        "<=": moment <= start,
    }
    return comparisons[clause.operator]


_SORT_KEYS: dict[str, Callable[[PageRecord], SupportsRichComparison]] = {
    "id": lambda page: int(page.id),
    "title": lambda page: page.title.lower(),
    "lastmodified": lambda page: page.modified_at,
    "created": lambda page: page.created_at,
}
