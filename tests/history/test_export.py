"""The history export end to end: emulator over HTTP → Dagster runs → a real DuckDB file.

Every count is compared with the emulator's generated truth; every failure with the rows
that were there before.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetRecordsFilter,
    DagsterInstance,
    ExecuteInProcessResult,
    asset,
)

from dot_orchestration.emulator import EmulatorServer
from dot_orchestration.emulator.clock import utc_today
from dot_orchestration.emulator.vocabulary import REVIEW_SCORES
from dot_orchestration.history import DotHistorySettings, DuckDBWarehouse
from dot_orchestration.transforms.history import NormalisedHistory
from dot_orchestration.warehouse import PartitionSession

from ._support import Export, StubDot, build_export, export_records, journal

DAYS = [date(2025, 3, 1) + timedelta(days=n) for n in range(12)]


def truth_by_day(server: EmulatorServer, days: list[date], **scope: object) -> dict:
    """(conversations, messages, chat ids) per day, as the emulator generated them."""
    return {day: server.state.history_truth(day, day + timedelta(days=1), **scope) for day in days}


def materialized(export: Export) -> dict[str, dict[str, int]]:
    """Per partition: the metadata of its latest materialization."""
    result = {}
    for key in sorted(export.instance.get_materialized_partitions(export.key)):
        records = export.instance.fetch_materializations(
            AssetRecordsFilter(asset_key=export.key, asset_partitions=[key]),
            limit=1,
            ascending=False,
        ).records
        metadata = records[0].asset_materialization.metadata  # type: ignore[union-attr]
        result[key] = {name: metadata[name].value for name in ("conversations", "messages")}
    return result


def test_a_backfill_lands_every_day_as_the_emulator_generated_it(
    dot: EmulatorServer, export: Export
) -> None:
    result = export.run("2025-03-01", "2025-03-05")
    assert result.success

    truth = truth_by_day(dot, DAYS[:5])
    assert export.counts("conversations") == {d: t.conversations for d, t in truth.items()}
    assert export.counts("messages") == {d: t.messages for d, t in truth.items()}
    landed = export.table("conversations")
    assert landed["conversation_id"].tolist() == [i for t in truth.values() for i in t.chat_ids]
    # one run, one step, one request per day for exactly that day
    assert len(result.get_step_success_events()) == 2  # the export and its table checks
    requests = [(e["query"]["start_date"], e["query"]["end_date"]) for e in journal(dot)]
    assert sorted(requests) == [(str(d), str(d + timedelta(days=1))) for d in DAYS[:5]]
    # row counts are numeric metadata of each partition
    assert materialized(export) == {
        str(d): {"conversations": t.conversations, "messages": t.messages} for d, t in truth.items()
    }
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "tables_match_contract": True,
        "unique_conversation_ids": True,
        "every_closed_day_exported": False,  # 2025-02-20 .. 02-28 and the days after 03-05
    }


def test_reruns_and_overlapping_backfills_leave_no_duplicates(
    dot: EmulatorServer, export: Export
) -> None:
    assert export.run("2025-03-01", "2025-03-04").success
    assert export.run("2025-03-03", "2025-03-07").success
    assert export.run("2025-03-05").success

    truth = truth_by_day(dot, DAYS[:7])
    conversations = export.table("conversations")
    assert not conversations["conversation_id"].duplicated().any()
    assert export.counts("conversations") == {d: t.conversations for d, t in truth.items()}
    assert export.counts("messages") == {d: t.messages for d, t in truth.items()}
    messages = export.table("messages")
    assert not messages.duplicated(["conversation_id", "message_index"]).any()


def three_days_exported(
    dot: EmulatorServer, stub_dot: StubDot, export_for: Callable[..., Export]
) -> tuple[Export, dict[str, pd.DataFrame]]:
    """An export from the stub (answering as the emulator does) with three days landed, and
    both tables as they then are."""
    stub_dot.answer = lambda start, end: export_records(dot, start)
    export = export_for(stub_dot.url)
    assert export.run("2025-03-01", "2025-03-03").success
    return export, {name: export.table(name) for name in ("conversations", "messages")}


def failure_message(result: ExecuteInProcessResult, export: Export) -> str:
    """The export step's error, its causes included."""
    failure = result.failure_data_for_node(export.node)
    assert failure is not None and failure.error is not None
    return failure.error.to_string()


class MessagesFailDuckDB(DuckDBWarehouse):
    """The DuckDB warehouse, failing inside the write's transaction once the day's
    conversations are replaced and its messages deleted (the writer's public `after_delete`
    hook raises a DuckDB error there, as a full disk or a dropped connection would)."""

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[PartitionSession]:
        def fail_at_messages(schema: str, table: str) -> None:
            if table == "messages":
                raise duckdb.IOException("injected: the disk is full")

        with self.as_location().session(read_only=read_only, after_delete=fail_at_messages) as s:
            yield s


def test_a_fault_between_the_two_tables_keeps_the_previous_rows_of_both(
    dot: EmulatorServer, stub_dot: StubDot, export_for: Callable[..., Export], tmp_path: Path
) -> None:
    """A fault between the two tables: the day's conversations are replaced (retitled),
    then writing its messages fails. The transaction holding both is rolled back: the old
    day, in both tables, and the partition's materialization is the earlier run's."""
    export, before = three_days_exported(dot, stub_dot, export_for)

    def retitled(start: date, end: date) -> list[dict[str, Any]]:
        records = export_records(dot, start)
        for record in records:
            record["title"] = f"retitled {record['title']}"
        return records

    stub_dot.answer = retitled
    failing = export_for(stub_dot.url, warehouse=MessagesFailDuckDB(path=str(export.db)))
    result = failing.run("2025-03-02")

    assert not result.success
    failure = failure_message(result, failing)
    assert "rolled back" in failure and "injected: the disk is full" in failure
    for name, frame in before.items():
        pd.testing.assert_frame_equal(export.table(name), frame)
    assert "2025-03-02" in export.instance.get_materialized_partitions(export.key)


def test_a_day_no_warehouse_can_store_fails_before_writing_and_says_why(
    dot: EmulatorServer, stub_dot: StubDot, export_for: Callable[..., Export]
) -> None:
    """A message Dot sent with a lone surrogate (an emoji cut in half) is text no warehouse
    stores as UTF-8: the day fails before anything is written, naming the field, the
    conversation and the value, and the previous rows stay."""
    export, before = three_days_exported(dot, stub_dot, export_for)

    def unstorable(start: date, end: date) -> list[dict[str, Any]]:
        records = export_records(dot, start)
        records[-1]["title"] = "retitled"
        records[-1]["messages"][-1]["content"] = "cut emoji \ud83d"
        return records

    stub_dot.answer = unstorable
    result = export.run("2025-03-02")

    assert not result.success
    failure = failure_message(result, export)
    assert "message content of conversation" in failure and "cut emoji" in failure
    assert "None of the run's 1 day(s) was written" in failure
    for name, frame in before.items():
        pd.testing.assert_frame_equal(export.table(name), frame)


def test_a_day_dot_has_nothing_for_is_written_as_an_empty_partition(
    dot: EmulatorServer, export: Export
) -> None:
    assert export.run("2025-03-01").success  # creates the tables
    empty_day = date(2025, 2, 27)  # before the emulator's history: Dot answers []
    earlier = export.table("conversations").iloc[:1].assign(partition_date=empty_day)
    with duckdb.connect(str(export.db)) as conn:
        conn.register("earlier", earlier)
        conn.execute("INSERT INTO dot_history.conversations SELECT * FROM earlier")

    result = export.run(str(empty_day))

    assert result.success
    assert empty_day not in export.counts("conversations")
    assert materialized(export)[str(empty_day)] == {"conversations": 0, "messages": 0}
    assert [e["status"] for e in journal(dot)][-1] == 200


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"kind": "status", "status": 503}, "503"),
        ({"kind": "malformed", "malformed": "truncated_json"}, "export_history"),
        ({"kind": "malformed", "malformed": "html", "status": 200}, "<html>"),
    ],
    ids=["dot-down", "truncated-json", "html-page"],
)
def test_a_failed_or_unreadable_answer_keeps_the_previous_rows(
    dot: EmulatorServer, export: Export, fault: dict[str, object], expected: str
) -> None:
    assert export.run("2025-03-02").success
    before = export.table("conversations")
    dot.state.faults = [{"method": "GET", "path": "/api/export_history", **fault}]

    result = export.run("2025-03-02")

    assert not result.success
    failure = result.failure_data_for_node(export.node)
    assert failure is not None
    message = str(failure.error.message if failure.error else failure)
    assert "Dot history export of 2025-03-02" in message
    assert expected in message
    assert "previous rows are intact" in message
    pd.testing.assert_frame_equal(export.table("conversations"), before)


def test_one_export_holds_every_environment_and_sends_none(
    dot: EmulatorServer, export_for: Callable[..., Export]
) -> None:
    """Dot's history is shared across environments: a resource scoped to one still exports
    the org's history, each conversation tagged with its environment."""
    export = export_for(dot.url, environment="staging")
    assert export.run("2025-03-01", "2025-03-12").success

    truth = dot.state.history_truth(DAYS[0], DAYS[-1] + timedelta(days=1))
    landed = export.table("conversations")
    assert list(landed["conversation_id"]) == list(truth.chat_ids)
    assert set(landed["environment"].fillna("production")) == {"production", "staging"}
    calls = journal(dot)
    assert {e["environment"] for e in calls} == {None}  # no X-Dot-Environment was sent
    assert all("include_all_workspaces" not in e["query"] for e in calls)  # off by default


def test_label_verdicts_land_with_the_labels_kept(
    any_dot_emulator: EmulatorServer, export_for: Callable[..., Export]
) -> None:
    """Both profiles: Dot's auto-review labels (strict: the label alone, under the score's
    name) land in `auto_review_label`; a score only where a number was sent."""
    day = utc_today() - timedelta(days=2)
    export = export_for(any_dot_emulator.url)
    assert export.run(day.isoformat()).success

    state = any_dot_emulator.state
    chats = [
        chat
        for batch in state.conversations(day, day + timedelta(days=1), workspace="default")
        for chat in batch
    ]
    landed = export.table("conversations").set_index("conversation_id")
    assert list(landed.index) == [chat.chat_id for chat in chats]
    labels = {chat.chat_id: chat.auto_review_label for chat in chats}
    assert set(labels.values()) <= {"Issue", "Abandoned", "Success", "OK"}
    assert landed["auto_review_label"].to_dict() == labels
    scores = landed["auto_review_score"]
    if state.config.strict:
        assert scores.isna().all()
    else:
        assert scores.to_dict() == {id_: REVIEW_SCORES[label] for id_, label in labels.items()}
    assert landed["auto_review_reason"].notna().all()


def test_all_workspaces_is_sent_only_when_asked(
    dot: EmulatorServer, export_for: Callable[..., Export]
) -> None:
    export = export_for(dot.url, include_all_workspaces=True)
    assert export.run("2025-03-01", "2025-03-03").success

    truth = dot.state.history_truth(DAYS[0], DAYS[3], include_all_workspaces=True)
    assert list(export.table("conversations")["conversation_id"]) == list(truth.chat_ids)
    assert {e["query"]["include_all_workspaces"] for e in journal(dot)} == {"true"}


def test_an_environment_setting_is_refused_naming_the_column_to_filter_on() -> None:
    with pytest.raises(ValueError, match="shared across environments") as caught:
        DotHistorySettings(start_date=date(2025, 1, 1), environment="staging")
    assert "remove `environment` and filter on the `environment` column" in str(caught.value)


def test_the_export_waits_for_its_own_read_timeout(
    stub_dot: StubDot, export_for: Callable[..., Export]
) -> None:
    """An export that takes longer than ordinary calls may still lands; beyond the export's
    own timeout it fails naming the day."""
    stub_dot.delay_s = 0.6
    patient = export_for(stub_dot.url, read_timeout_s=0.2, export_read_timeout_s=5)
    assert patient.run("2025-03-02").success
    hasty = export_for(stub_dot.url, read_timeout_s=5, export_read_timeout_s=0.2)
    failed = hasty.run("2025-03-03")
    assert not failed.success
    failure = failed.failure_data_for_node(hasty.node)
    assert failure is not None and failure.error is not None
    assert "Dot history export of 2025-03-03" in failure.error.message
    assert "timed out" in failure.error.message.lower()


def test_partitions_follow_the_configured_time_zone(
    dot: EmulatorServer, export_for: Callable[..., Export]
) -> None:
    zone = ZoneInfo("America/New_York")  # UTC-5, UTC-4 from 2025-03-09 (a 23-hour day)
    export = export_for(dot.url, timezone=zone.key)
    assert export.run("2025-03-05", "2025-03-10").success

    expected: dict[date, set[str]] = {}
    for batch in dot.state.conversations(date(2025, 3, 5), date(2025, 3, 12), workspace="default"):
        for chat in batch:
            local = chat.created_at.astimezone(zone).date()
            if date(2025, 3, 5) <= local <= date(2025, 3, 10):
                expected.setdefault(local, set()).add(chat.chat_id)
    landed = export.table("conversations")
    by_day = landed.groupby(landed["partition_date"].dt.date)["conversation_id"].apply(set)
    assert by_day.to_dict() == expected
    # the smallest call Dot's UTC days allow: the two UTC days each local day overlaps
    requests = sorted((e["query"]["start_date"], e["query"]["end_date"]) for e in journal(dot))
    assert requests == [
        (str(day), str(day + timedelta(days=2)))
        for day in (date(2025, 3, 5) + timedelta(days=n) for n in range(6))
    ]
    starts = landed["created_at"].dt.tz_localize("UTC").dt.tz_convert(zone).dt.date
    assert (starts == landed["partition_date"].dt.date).all()


def test_the_io_manager_loads_stored_days_for_python_consumers(
    dot: EmulatorServer, tmp_path: Path, instance: DagsterInstance
) -> None:
    settings = DotHistorySettings(
        start_date=date(2025, 3, 1),
        key=("reader_test", "history"),
        warehouse=DuckDBWarehouse(path=str(tmp_path / "w.duckdb")),
    )
    loaded: dict[str, NormalisedHistory] = {}

    @asset(
        partitions_def=settings.partitions_def(),
        ins={"history": AssetIn(key=settings.asset_key)},
    )
    def history_reader(context: AssetExecutionContext, history: NormalisedHistory) -> None:
        loaded[context.partition_key] = history

    export = build_export(
        settings, dot.url, tmp_path / "w.duckdb", instance, extra_assets=[history_reader]
    )
    assert export.run("2025-03-02").success
    result = export.defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, partition_key="2025-03-02", asset_selection=[history_reader.key]
    )

    assert result.success
    history = loaded["2025-03-02"]
    stored = export.table("conversations")
    assert history.conversations["conversation_id"].tolist() == (stored["conversation_id"].tolist())
    assert len(history.messages) == len(export.table("messages"))
    assert str(history.conversations["created_at"].dt.tz) == "UTC"


def test_settings_refuse_an_unknown_time_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        DotHistorySettings(start_date=date(2025, 1, 1), timezone="Mars/Olympus")


def test_partitions_start_at_the_start_date_and_end_with_the_last_closed_day() -> None:
    settings = DotHistorySettings(
        start_date=date(2025, 1, 1),
        timezone="Europe/Berlin",
        warehouse=DuckDBWarehouse(path="never-opened.duckdb"),
    )
    partitions = settings.partitions_def()
    now = datetime(2025, 1, 4, 0, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert partitions.get_partition_keys(current_time=now) == [
        "2025-01-01",
        "2025-01-02",
        "2025-01-03",
    ]
