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
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, tzinfo
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type hints
import pyarrow.compute as pc  # type: ignore[import-untyped]

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


#: DuckDB's errors about a body's content (not JSON, not UTF-8, a value out of range): the
#: Python path then says what is wrong. Any other error is a bug here and is raised.
_UNREADABLE = (
    duckdb.InvalidInputException,
    duckdb.ConversionException,
    duckdb.OutOfRangeException,
)


class FastPath:
    """An in-memory DuckDB database that maps batches of bodies (`tables`).

    Opening one costs tens of milliseconds (its extensions load), so an export keeps one
    for all its batches; closing it gives its memory back, and pyarrow's spare memory too.
    Batches may be mapped from several threads at once: each gets a connection of its own.
    The structure of the batch to come can be read meanwhile (`read_ahead`).
    """

    def __init__(self) -> None:
        self._database = duckdb.connect()
        self._lock = threading.Lock()
        self._database.execute("SET TimeZone = 'UTC'")  # naive timestamps are UTC, as in pandas
        # One thread per statement: rows come out in the bodies' order (the messages sorted),
        # and a second thread cost more memory and CPU than it saved wall time.
        self._database.execute("SET threads = 1")
        for macro in _MACROS:
            self._database.execute(macro)
        self._ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dot-history-ahead")
        self._read: dict[tuple[Path, ...], Future[dict[str, str]]] = {}

    def __enter__(self) -> FastPath:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def read_ahead(self, paths: Sequence[Path]) -> None:
        """Start reading the structure of the bodies at `paths`, which a later `tables` call
        maps, on another thread: DuckDB parses them without the GIL, on another core, while
        this thread maps the batch before. Measured over a year: the mapping thread's CPU
        2.8 -> 2.5 s, the same CPU in all, ~5 MiB more peak RSS. Paths only: the bodies'
        windows are checked when their turn comes."""
        self._read[tuple(paths)] = self._ahead.submit(self._structures, tuple(paths))

    def tables(self, bodies: Sequence[FastBody], zone: tzinfo) -> list[HistoryTables | None]:
        """Each body's tables, or None where the Python path must do it."""
        paths = tuple(body.path for body in bodies)
        ahead = self._read.pop(paths, None)
        try:
            structures = self._structures(paths) if ahead is None else ahead.result()
            with self._connection() as conn:
                return _Batch(conn, bodies, zone).tables(structures)
        except _UNREADABLE:
            if len(bodies) == 1:
                return [None]  # DuckDB cannot read it (e.g. not JSON): Python says why
            return [tables for body in bodies for tables in self.tables([body], zone)]

    def close(self) -> None:
        self._ahead.shutdown(cancel_futures=True)  # a structure being read is waited for
        self._database.close()
        pa.default_memory_pool().release_unused()

    def _connection(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._database.cursor()

    def _structures(self, paths: tuple[Path, ...]) -> dict[str, str]:
        """Each body's `json_structure`, by its path as DuckDB names the file."""
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT filename, json_structure(content) FROM read_text($paths)",
                {"paths": [str(path) for path in paths]},
            ).fetchall()
        return dict(rows)


def fast_tables(bodies: Sequence[FastBody], zone: tzinfo) -> list[HistoryTables | None]:
    """`FastPath.tables` for one batch."""
    with FastPath() as fast:
        return fast.tables(bodies, zone)


class _Batch:
    """The statements for one batch of bodies (distinct files), on one connection.

    The bodies are parsed into a temporary table of their conversations (a batch's worth,
    about its size again in memory), which the conversations and the messages are then
    selected from.
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection, bodies: Sequence[FastBody], zone: tzinfo):
        self.conn = conn
        self.bodies = bodies
        self.zone = zone

    def tables(self, described: dict[str, str]) -> list[HistoryTables | None]:
        """Each body's tables; None for those left to the Python path. ``described``: each
        body's structure, by path (`FastPath._structures`).

        Most exports give every item every key: `json_transform_strict` then proves that
        while it parses (it refuses a missing or repeated key), and no item's key list is
        needed. Bodies it refuses are read again with their key lists (`_keyed`).
        """
        self.conn.execute(
            """
            CREATE TEMP TABLE requests AS
            SELECT unnest($paths) AS path, unnest($starts) AS window_start,
                   unnest($ends) AS window_end, unnest(range(len($paths))) AS ordinal
            """,
            {
                "paths": self._paths(range(len(self.bodies))),
                "starts": [body.start.to_pydatetime() for body in self.bodies],
                "ends": [body.end.to_pydatetime() for body in self.bodies],
            },
        )
        structures = {
            ordinal: described[path]
            for ordinal, path in enumerate(self._paths(range(len(self.bodies))))
        }
        results: list[HistoryTables | None] = [None] * len(self.bodies)
        plans = {ordinal: plan_for(structure) for ordinal, structure in structures.items()}
        for plan, ordinals in _grouped(plans).items():
            try:
                mapped = self._mapped(plan, ordinals, keyed=False)
            except duckdb.InvalidInputException:  # an item lacks a key or repeats one
                mapped = self._keyed(ordinals, structures)
            for ordinal, tables in mapped.items():
                results[ordinal] = tables
        return results

    def _keyed(self, ordinals: list[int], structures: dict[int, str]) -> dict[int, HistoryTables]:
        """Bodies whose items differ in their keys, planned and mapped with the key list of
        every conversation and message (`json_keys`, repeated keys kept)."""
        described = self.conn.execute(
            f"""
            SELECT ordinal, list_distinct(list(json_keys(body.json))),
                   list_distinct(flatten(list(json_keys(body.json, '$.messages[*]'))))
            FROM {_OBJECTS} GROUP BY ordinal
            """,
            {"paths": self._paths(ordinals)},
        ).fetchall()
        plans = {ordinal: plan_for(structures[ordinal], [], []) for ordinal in ordinals}
        plans |= {
            ordinal: plan_for(structures[ordinal], conversation_keys, message_keys)
            for ordinal, conversation_keys, message_keys in described
        }
        mapped: dict[int, HistoryTables] = {}
        for plan, group in _grouped(plans).items():
            mapped.update(self._mapped(plan, group, keyed=True))
        return mapped

    def _paths(self, ordinals: Iterable[int]) -> list[str]:
        return [str(self.bodies[ordinal].path) for ordinal in ordinals]

    def _mapped(self, plan: Plan, ordinals: list[int], *, keyed: bool) -> dict[int, HistoryTables]:
        """The bodies of one plan, mapped; those failing a check are left out.

        The bodies are parsed once, into a table of their conversations, which the
        conversations and the messages are both selected from; ordering, splitting and
        dating the rows is Arrow's and numpy's.
        """
        self.conn.execute(
            f"CREATE OR REPLACE TEMP TABLE items AS {_items(plan.target(), keyed)}",
            {"paths": self._paths(ordinals)},
        )
        try:
            conversations = self._rows(
                f"""
                SELECT ordinal, window_start, window_end,
                       {_columns(_conversation_columns(plan.conversation))}
                FROM items
                """,
                _CONVERSATION_CHECKS,
                CONVERSATION_SCHEMA,
            )
            messages = self._rows(
                f"""
                SELECT ordinal, {_columns(_message_columns(plan.message))}
                FROM (
                    SELECT ordinal,
                           {_field("conversation_id", plan.conversation)} AS conversation_id,
                           unnest(item.messages) AS message, unnest(message_keys) AS keys,
                           generate_subscripts(item.messages, 1) - 1 AS position
                    FROM items
                )
                """,
                _MESSAGE_CHECKS,
                MESSAGE_SCHEMA,
            )
        finally:
            self.conn.execute("DROP TABLE items")
        index = ["conversation_id", "message_index"] if plan.message.key("message_index") else []
        refused = _refused(conversations, ["conversation_id"]) | _refused(messages, index)
        kept = [ordinal for ordinal in ordinals if ordinal not in refused]
        if refused:
            conversations, messages = _of_bodies(conversations, kept), _of_bodies(messages, kept)
        return self._split(kept, conversations, messages)

    def _rows(self, select: str, checks: Sequence[str], schema: pa.Schema) -> pa.Table:
        """A select's contract columns (all but the partition date), each row's body and
        whether it passed every check (``ok``)."""
        columns = ", ".join(name for name in schema.names if name != PARTITION_COLUMN)
        ok = " AND ".join(f"({check})" for check in checks)
        sql = f"SELECT ordinal, {columns}, coalesce({ok}, false) AS ok FROM ({select})"
        table: pa.Table = self.conn.sql(sql).to_arrow_table()
        return table

    def _split(
        self, kept: list[int], conversations: pa.Table, messages: pa.Table
    ) -> dict[int, HistoryTables]:
        """Each kept body's rows in order, dated, as the contract's tables: conversations
        by creation and id, messages by their conversation's place and their index."""
        conversations = conversations.sort_by(
            [
                ("ordinal", "ascending"),
                ("created_at", "ascending"),
                ("conversation_id", "ascending"),
            ]
        )
        place = pc.index_in(_conversation_keys(messages), _conversation_keys(conversations))
        of_message = place.to_numpy(zero_copy_only=False)  # ids are unique in a kept body
        index = messages["message_index"].to_numpy()
        if not _in_order(of_message, index):  # DuckDB streams them in the bodies' order
            order = np.lexsort((index, of_message))
            messages, of_message = messages.take(order), of_message[order]
        dates = partition_dates(conversations["created_at"], self.zone)
        conversations = _contract(conversations, dates, CONVERSATION_SCHEMA)
        messages = _contract(messages, dates[of_message], MESSAGE_SCHEMA)
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


def _of_texts(select: str) -> str:
    """``select`` (columns of `read_text`: ``filename``, ``content``) over each body's text,
    its rows beside their body's request. The join comes after: joined first, the text and
    what is computed from it cost a third more CPU."""
    return (
        f"(SELECT {select} FROM read_text($paths)) AS body "
        "JOIN requests ON body.filename = requests.path"
    )


# The bodies' conversations, one JSON text each, beside their body's request.
_OBJECTS = (
    "read_json_objects($paths, format = 'array', filename = true) AS body "
    "JOIN requests ON body.filename = requests.path"
)


def _items(target: str, keyed: bool) -> str:
    """The bodies' conversations, one row each: its body (``ordinal``, window), the
    conversation parsed to ``target`` (``item``), and, when the plan needs them (`keyed`:
    only some items have some key), its key list (``keys``) and its messages'
    (``message_keys``).

    Without key lists a body's text is parsed whole, as a list of ``target``: splitting it
    into conversations first (`read_json_objects`) parses and writes every one of them
    once more, which cost a batch a third more CPU.
    """
    if keyed:
        return f"""
            SELECT ordinal, window_start, window_end,
                   json_transform(body.json, {_literal(target)}) AS item,
                   json_keys(body.json) AS keys,
                   json_keys(body.json, '$.messages[*]') AS message_keys
            FROM {_OBJECTS}
        """
    items = f"unnest(json_transform_strict(content, {_literal(f'[{target}]')})) AS item"
    return f"""
        SELECT ordinal, window_start, window_end, item,
               NULL::VARCHAR[] AS keys, NULL::VARCHAR[][] AS message_keys
        FROM {_of_texts(f"filename, {items}")}
    """


def _in_order(conversation: np.ndarray, index: np.ndarray) -> bool:
    """Whether messages are ordered by conversation, then index."""
    step, within = np.diff(conversation), np.diff(index)
    return bool(np.all((step > 0) | ((step == 0) & (within > 0))))


def _conversation_keys(rows: pa.Table) -> pa.Array:
    """Each row's conversation, as text unique in the batch: its body and id."""
    ordinal = pc.cast(rows["ordinal"], pa.string())
    return pc.binary_join_element_wise(ordinal, pc.cast(rows["conversation_id"], pa.string()), ":")


def _grouped(plans: dict[int, Plan | None]) -> dict[Plan, list[int]]:
    """The bodies of each plan, in order; a body without one is the Python path's."""
    grouped: dict[Plan, list[int]] = defaultdict(list)
    for ordinal, plan in sorted(plans.items()):
        if plan is not None:
            grouped[plan].append(ordinal)
    return grouped


def _refused(rows: pa.Table, unique: list[str]) -> set[int]:
    """The bodies with a row failing a check, or two rows alike in the ``unique`` columns."""
    failed = pc.unique(rows.filter(pc.invert(rows["ok"]))["ordinal"]).to_pylist()
    if not unique:
        return set(failed)
    counted = rows.group_by(["ordinal", *unique]).aggregate([([], "count_all")])
    repeated = counted.filter(pc.greater(counted["count_all"], 1))["ordinal"]
    return set(failed) | set(pc.unique(repeated).to_pylist())


def _of_bodies(rows: pa.Table, kept: list[int]) -> pa.Table:
    """The rows of the kept bodies."""
    return rows.filter(pc.is_in(rows["ordinal"], pa.array(kept, pa.int64())))


def _ranges(table: pa.Table, kept: list[int]) -> list[tuple[int, int]]:
    """Where each kept body's rows start and end in a table sorted by ordinal."""
    ordinals = table["ordinal"].to_numpy()
    starts = np.searchsorted(ordinals, kept, side="left")
    ends = np.searchsorted(ordinals, kept, side="right")
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _contract(table: pa.Table, dates: np.ndarray, schema: pa.Schema) -> pa.Table:
    """The contract's columns in their types and order, after the body's ordinal."""
    table = table.drop_columns(["ok"])
    position = schema.get_field_index(PARTITION_COLUMN) + 1  # after "ordinal"
    with_dates = table.add_column(position, PARTITION_COLUMN, pa.array(dates, pa.date32()))
    return with_dates.cast(pa.schema([pa.field("ordinal", pa.int64()), *schema]))


# --- the SQL of each column, and the checks on them ----------------------------------------
# The columns are computed once; the checks then read them (and the text a value came from,
# kept as `…_sent`).

_CONVERSATION_CHECKS = (
    "found AND listed",
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
        "raw": _raw(plan, "item", _count_entry(plan.key("message_count"))),
        "found": "item IS NOT NULL",
        "listed": "item.messages IS NOT NULL",
        "updated_sent": _field("updated_at", plan),
        "labels_ok": f"{labels} IS NULL OR len([label FOR label IN {labels} IF label IS NULL]) = 0",
    }


def _message_columns(plan: ItemPlan) -> dict[str, str]:
    index = _field("message_index", plan, "message")
    created = _field("created_at", plan, "message")
    return {
        "conversation_id": "conversation_id",
        "message_index": f"coalesce(TRY_CAST({index} AS BIGINT), position)",
        "role": _field("role", plan, "message"),
        "created_at": f"py_ts({created})",
        "content": _field("content", plan, "message"),
        "raw": _raw(plan, "message", None),
        "found": "message IS NOT NULL",
        "index_sent": index,
        "parent": _field("conversation_id", plan, "message"),
        "created_sent": created,
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


def _field(name: str, plan: ItemPlan, source: str = "item") -> str:
    """The SQL reading a field of ``source``: its key, or NULL when no item has one."""
    key = plan.key(name)
    return "NULL" if key is None else f"{source}.{_identifier(key)}"


def _raw(plan: ItemPlan, source: str, count: tuple[str, str] | None) -> str:
    """The unknown keys an item has, as `json.dumps(..., sort_keys=True)` writes them."""
    entries = [(unknown.key, _unknown_entry(unknown, source)) for unknown in plan.unknown]
    if count is not None:
        entries.append(count)
    if not entries:
        return "'{}'"
    ordered = ", ".join(entry for _, entry in sorted(entries))
    return f"'{{' || concat_ws(', ', {ordered}) || '}}'"


def _unknown_entry(unknown: Unknown, source: str) -> str:
    value = f"{source}.{_identifier(unknown.key)}"
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
