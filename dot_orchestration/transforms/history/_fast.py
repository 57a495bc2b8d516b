"""The DuckDB path: export bodies parsed by DuckDB and mapped column-wise in SQL.

The Python path reads each message in Python (a few microseconds each, half a million a
year). Here DuckDB parses a batch of bodies, a few passes in all (their structure, their
key lists, their values), and a handful of statements map every column of every body: no
value passes through Python. `_shapes.plan_for` decides from a body's structure whether
this gives exactly the Python path's tables; every value is then checked in SQL, and a body
that is not proved, fails a check or that DuckDB cannot parse is left to the Python path:
`fast_tables` gives None for it, and the Python path gives its tables or its error.

What the SQL mirrors, field by field, is the Python path's conversion of the types
`_shapes` admits: text as sent; timestamps in ISO 8601 (to the microsecond, in pandas'
range) to UTC; labels and ``raw`` as the JSON text Python's `json` writes (``", "``
separators, sorted keys, the same escapes); a label stripped of what `str.strip` strips;
messages ordered by index and counted; rows ordered by creation and id; the window refused
(by leaving the body to the Python path, which names the conversation).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type hints

from dot_orchestration.transforms.history._shapes import (
    BOOLEAN,
    NULL,
    TEXT,
    ItemPlan,
    Plan,
    Unknown,
    plan_for,
)
from dot_orchestration.transforms.history._tables import (
    CONVERSATION_SCHEMA,
    MESSAGE_SCHEMA,
    PARTITION_COLUMN,
    HistoryTables,
    partition_dates,
)


@dataclass(frozen=True)
class FastBody:
    """One spooled export body, the UTC window its conversations must lie in, and the one
    partition to keep (None: every partition)."""

    path: Path
    start: pd.Timestamp
    end: pd.Timestamp
    day: date | None


# What pandas' ISO 8601 parser and DuckDB's cast read alike: a date, a time to the
# microsecond, then Z, an offset or nothing (UTC). Anything else takes the Python path.
_ISO = (
    r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?"
    r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$"
)
# Inside pandas' nanosecond range, where the Python path can hold a timestamp.
_EARLIEST, _LATEST = "1677-09-22", "2262-04-10"
# What `str.strip` strips (`str.isspace`), as a regular-expression class.
_SPACE = (
    r"[\t\n\x{0b}\x{0c}\r\x{1c}-\x{1f} \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)
_MACROS = (
    # A string as `json.dumps(s, ensure_ascii=False)` writes it, except for nine control
    # characters `to_json` escapes in upper case (\u000B, `json`: \u000b): text holding
    # "\u00" is refused below (`_json_ok`), so the difference never reaches a table.
    "CREATE MACRO py_json(s) AS to_json(s)",
    f"CREATE MACRO py_ts(s) AS CASE WHEN regexp_full_match(s, '{_ISO}') "
    "THEN TRY_CAST(s AS TIMESTAMPTZ) END",
    f"CREATE MACRO ts_ok(s, t) AS s IS NULL OR t BETWEEN TIMESTAMPTZ '{_EARLIEST}' "
    f"AND TIMESTAMPTZ '{_LATEST}'",
    f"CREATE MACRO py_strip(s) AS regexp_replace(s, '^{_SPACE}+|{_SPACE}+$', '', 'g')",
)


def _json_ok(text: str) -> str:
    """JSON text `py_json` wrote as `json` would: no ``\\u00`` escape in it."""
    return f"{text} IS NULL OR NOT contains({text}, '\\u00')"


_database: duckdb.DuckDBPyConnection | None = None
_database_lock = threading.Lock()


def _connection() -> duckdb.DuckDBPyConnection:
    """A connection of the process's one in-memory database, which holds the macros.

    Opening a database costs tens of milliseconds (its extensions load); a cursor of an
    open one costs nothing, and its temporary tables are its own (one per thread).
    """
    global _database
    with _database_lock:
        if _database is None:
            database = duckdb.connect()
            database.execute("SET TimeZone = 'UTC'")  # naive timestamps are UTC, as in pandas
            for macro in _MACROS:
                database.execute(macro)
            _database = database
        return _database.cursor()


def fast_tables(bodies: Sequence[FastBody], zone: tzinfo) -> list[HistoryTables | None]:
    """Each body's tables, or None where the Python path must do it."""
    try:
        with _connection() as conn:
            return _Batch(conn, bodies, zone).tables()
    except duckdb.Error:
        if len(bodies) == 1:
            return [None]  # DuckDB cannot read it (e.g. not JSON): Python says why
        return [tables for body in bodies for tables in fast_tables([body], zone)]


class _Batch:
    """The statements for one batch of bodies, on one connection."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, bodies: Sequence[FastBody], zone: tzinfo):
        self.conn = conn
        self.bodies = bodies
        self.zone = zone

    def tables(self) -> list[HistoryTables | None]:
        self.conn.execute(
            """
            CREATE TEMP TABLE bodies AS
            SELECT request.ordinal, request.window_start, request.window_end, body.content,
                   json_structure(body.content) AS structure,
                   json_keys(body.content, '$[*]') AS conversation_keys,
                   json_keys(body.content, '$[*].messages[*]') AS message_keys
            FROM read_text($paths) AS body
            JOIN (
                SELECT unnest($paths) AS path, unnest($starts) AS window_start,
                       unnest($ends) AS window_end, unnest(range(len($paths))) AS ordinal
            ) AS request ON body.filename = request.path
            """,
            {
                "paths": [str(body.path) for body in self.bodies],
                "starts": [body.start.to_pydatetime() for body in self.bodies],
                "ends": [body.end.to_pydatetime() for body in self.bodies],
            },
        )
        described = self.conn.execute(
            "SELECT ordinal, structure, list_distinct(conversation_keys), "
            "list_distinct(message_keys) FROM bodies ORDER BY ordinal"
        ).fetchall()
        by_plan: dict[Plan, list[int]] = defaultdict(list)
        for ordinal, structure, conversation_keys, message_keys in described:
            plan = plan_for(structure, conversation_keys, message_keys)
            if plan is not None:
                by_plan[plan].append(ordinal)
        results: list[HistoryTables | None] = [None] * len(self.bodies)
        for plan, ordinals in by_plan.items():
            for ordinal, tables in self._mapped(plan, ordinals).items():
                results[ordinal] = tables
        return results

    def _mapped(self, plan: Plan, ordinals: list[int]) -> dict[int, HistoryTables]:
        """The bodies of one plan, mapped; those failing a check are left out."""
        items = f"""
            SELECT ordinal, window_start, window_end, message_keys AS body_message_keys,
                   unnest(parsed) AS item, unnest(conversation_keys) AS keys,
                   generate_subscripts(parsed, 1) AS position
            FROM (
                SELECT *, json_transform(content, {_literal(plan.target())}) AS parsed
                FROM bodies WHERE list_contains($ordinals, ordinal)
            )
        """
        message_keys = "NULL::VARCHAR[][]"
        if not all(unknown.everywhere for unknown in plan.message.unknown):
            # Each conversation's slice of its body's message key lists (`json_keys` lists
            # the messages of all conversations in order).
            items = f"""
                SELECT *, coalesce(sum(len(item.messages)) OVER (
                    PARTITION BY ordinal ORDER BY position
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS message_offset
                FROM ({items})
            """
            message_keys = (
                "body_message_keys[message_offset + 1 : message_offset + len(item.messages)]"
            )
        self.conn.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE conversations AS
            SELECT *, row_number() OVER (ORDER BY ordinal, created_at, conversation_id) AS seq
            FROM (
                SELECT ordinal, window_start, window_end, {message_keys} AS message_keys,
                       {_columns(_conversation_columns(plan.conversation))}
                FROM ({items})
            )
            """,
            {"ordinals": ordinals},
        )
        self.conn.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE messages AS
            SELECT ordinal, seq, conversation_id, {_columns(_message_columns(plan.message))}
            FROM (
                SELECT ordinal, seq, conversation_id, unnest(messages) AS item,
                       unnest(message_keys) AS keys,
                       generate_subscripts(messages, 1) - 1 AS position
                FROM conversations
            )
            """
        )
        refused = {
            ordinal
            for (ordinal,) in self.conn.execute(
                f"""
                SELECT ordinal FROM conversations WHERE NOT {_all(_CONVERSATION_CHECKS)}
                UNION SELECT ordinal FROM messages WHERE NOT {_all(_MESSAGE_CHECKS)}
                UNION SELECT ordinal FROM conversations
                      GROUP BY ordinal, conversation_id HAVING count(*) > 1
                UNION SELECT ordinal FROM messages
                      GROUP BY seq, ordinal, message_index HAVING count(*) > 1
                """
            ).fetchall()
        }
        kept = [ordinal for ordinal in ordinals if ordinal not in refused]
        conversations = self._arrow("conversations", CONVERSATION_SCHEMA, kept, "seq")
        messages = self._arrow("messages", MESSAGE_SCHEMA, kept, "seq, message_index")
        return self._split(kept, conversations, messages)

    def _arrow(self, table: str, schema: pa.Schema, kept: list[int], order: str) -> pa.Table:
        """The kept bodies' rows in order, every contract column but the partition date."""
        columns = ", ".join(name for name in schema.names if name != PARTITION_COLUMN)
        relation = self.conn.sql(
            f"SELECT ordinal, {columns} FROM {table} "
            f"WHERE list_contains({_literal(kept)}::BIGINT[], ordinal) ORDER BY {order}"
        )
        result: pa.Table = relation.to_arrow_table()
        return result

    def _split(
        self, kept: list[int], conversations: pa.Table, messages: pa.Table
    ) -> dict[int, HistoryTables]:
        """Each body's rows, with their partition dates, as the contract's tables."""
        dates = partition_dates(conversations["created_at"], self.zone)
        counts = conversations["message_count"].to_numpy()
        conversations = _contract(conversations, dates, CONVERSATION_SCHEMA)
        messages = _contract(messages, np.repeat(dates, counts), MESSAGE_SCHEMA)
        tables = {}
        for ordinal, (c_from, c_to), (m_from, m_to) in zip(
            kept, _ranges(conversations, kept), _ranges(messages, kept), strict=True
        ):
            body = HistoryTables(
                conversations.slice(c_from, c_to - c_from).drop_columns(["ordinal"]),
                messages.slice(m_from, m_to - m_from).drop_columns(["ordinal"]),
            )
            day = self.bodies[ordinal].day
            tables[ordinal] = body if day is None else body.of_day(day)
        return tables


def _ranges(table: pa.Table, kept: list[int]) -> list[tuple[int, int]]:
    """Where each kept body's rows start and end in a table sorted by ordinal."""
    ordinals = table["ordinal"].to_numpy()
    starts = np.searchsorted(ordinals, kept, side="left")
    ends = np.searchsorted(ordinals, kept, side="right")
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _contract(table: pa.Table, dates: np.ndarray, schema: pa.Schema) -> pa.Table:
    """The partition date put in its place, every column cast to the contract's type."""
    position = schema.get_field_index(PARTITION_COLUMN) + 1  # after "ordinal"
    with_dates = table.add_column(position, PARTITION_COLUMN, pa.array(dates, pa.date32()))
    return with_dates.cast(pa.schema([pa.field("ordinal", pa.int64()), *schema]))


# --- the SQL of each column, and the checks on them ----------------------------------------
# The columns are computed once into a table; the checks then read them (and the text they
# came from, kept as `…_sent`).

_CONVERSATION_CHECKS = (
    "found AND messages IS NOT NULL",
    "conversation_id IS NOT NULL AND conversation_id <> ''",
    "created_at >= window_start AND created_at < window_end",
    "ts_ok(updated_sent, updated_at)",
    "labels_ok",
    _json_ok("labels"),
    _json_ok("raw"),
)
_MESSAGE_CHECKS = (
    "found",
    "index_sent IS NULL OR TRY_CAST(index_sent AS BIGINT) IS NOT NULL",
    "parent IS NULL OR parent = conversation_id",
    "ts_ok(created_sent, created_at)",
    _json_ok("raw"),
)


def _conversation_columns(plan: ItemPlan) -> dict[str, str]:
    labels = _field("labels", plan)
    return {
        "conversation_id": _field("conversation_id", plan),
        "created_at": f"py_ts({_field('created_at', plan)})",
        "updated_at": f"py_ts({_field('updated_at', plan)})",
        "author_email": _field("author_email", plan),
        "author_name": _field("author_name", plan),
        "title": _field("title", plan),
        "message_count": "len(item.messages)",
        "labels": (
            f"CASE WHEN {labels} IS NOT NULL THEN "
            f"'[' || array_to_string([py_json(label) FOR label IN {labels}], ', ') || ']' END"
        ),
        "auto_review_label": f"nullif(py_strip({_field('auto_review_label', plan)}), '')",
        "auto_review_score": f"CAST({_field('auto_review_score', plan)} AS DOUBLE)",
        "auto_review_reason": _field("auto_review_reason", plan),
        "environment": _field("environment", plan),
        "workspace": _field("workspace", plan),
        "raw": _raw(plan, _count_entry(plan.key("message_count"))),
        "messages": "item.messages",
        "found": "item IS NOT NULL",
        "updated_sent": _field("updated_at", plan),
        "labels_ok": f"{labels} IS NULL OR len([label FOR label IN {labels} IF label IS NULL]) = 0",
    }


def _message_columns(plan: ItemPlan) -> dict[str, str]:
    index = _field("message_index", plan)
    return {
        "message_index": f"coalesce(TRY_CAST({index} AS BIGINT), position)",
        "role": _field("role", plan),
        "created_at": f"py_ts({_field('created_at', plan)})",
        "content": _field("content", plan),
        "raw": _raw(plan, None),
        "found": "item IS NOT NULL",
        "index_sent": index,
        "parent": _field("conversation_id", plan),
        "created_sent": _field("created_at", plan),
    }


def _count_entry(key: str | None) -> tuple[str, str] | None:
    """A reported count that disagrees with the messages listed goes into ``raw``."""
    if key is None:
        return None
    value = f"item.{_identifier(key)}"
    return key, (
        f"CASE WHEN {value} IS NOT NULL AND {value} <> len(item.messages) "
        f"THEN {_literal(_json_key(key))} || CAST({value} AS VARCHAR) END"
    )


def _columns(columns: dict[str, str]) -> str:
    return ", ".join(f"{expression} AS {name}" for name, expression in columns.items())


def _all(checks: Sequence[str]) -> str:
    return "coalesce(" + " AND ".join(f"({check})" for check in checks) + ", false)"


def _field(name: str, plan: ItemPlan) -> str:
    """The SQL reading a field: its key in the item, or NULL when no item has one."""
    key = plan.key(name)
    return "NULL" if key is None else f"item.{_identifier(key)}"


def _raw(plan: ItemPlan, count: tuple[str, str] | None) -> str:
    """The unknown keys an item has, as `json.dumps(..., sort_keys=True)` writes them."""
    entries = [(unknown.key, _unknown_entry(unknown)) for unknown in plan.unknown]
    if count is not None:
        entries.append(count)
    if not entries:
        return "'{}'"
    ordered = ", ".join(entry for _, entry in sorted(entries))
    return f"'{{' || concat_ws(', ', {ordered}) || '}}'"


def _unknown_entry(unknown: Unknown) -> str:
    value = f"item.{_identifier(unknown.key)}"
    encoded = {
        TEXT: f"py_json({value})",
        BOOLEAN: f"CASE WHEN {value} THEN 'true' ELSE 'false' END",
        NULL: "NULL",
    }.get(unknown.kind, f"CAST({value} AS VARCHAR)")  # integers
    entry = f"{_literal(_json_key(unknown.key))} || coalesce({encoded}, 'null')"
    if unknown.everywhere:
        return entry
    return f"CASE WHEN list_contains(keys, {_literal(unknown.key)}) THEN {entry} END"


def _json_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False) + ": "


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    """A constant as SQL: text quoted, anything else as its JSON (lists of numbers)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value)
