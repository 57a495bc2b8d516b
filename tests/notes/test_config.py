"""What is checked when the definitions load, the selection, the marker."""

from __future__ import annotations

from typing import Any

import pytest
from dagster import (
    AssetCheckKey,
    AssetKey,
    Backoff,
    Definitions,
    RetryPolicy,
    build_schedule_context,
)
from pydantic import ValidationError

from dot_orchestration.confluence import PageSelection, select_pages
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer
from dot_orchestration.notes import (
    NOTES_POOL,
    ConfluenceNoteSync,
    ConfluenceResource,
    DotNotesSettings,
    NoteSchedule,
    NoteSensor,
    build_dot_notes_definitions,
)
from dot_orchestration.resources import DotResource
from dot_orchestration.transforms.note_parts import OwnedNoteKey, owned_note_key, render_owned_notes

from ._support import ACTIVE_CUSTOMERS, FAQ, METRICS, NRR, REVENUE, confluence_resource

SELECTION = PageSelection(page_ids=("100101",))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"selection": {}}, "the page selection is empty"),
        ({"selection": {"page_ids": ["Revenue"]}}, "page ids are the digits"),
        ({"selection": {"descendants_of": ["1 2"]}}, "page ids are the digits"),
        ({"selection": {"cql": ["  "]}}, "a CQL query is blank"),
        ({"selection": {"spaces": ["DATA team"]}}, "space keys look like DATA"),
        ({"name": "my-notes"}, "must start with a letter"),
        ({"dialect": "single_note", "on_removed": "delete"}, "on_removed only apply to"),
        ({"dialect": "single_note", "title_prefix": "KB:"}, "title_prefix only apply to"),
        ({"dialect": "notes"}, "org_notes"),
        ({"step_retries": -1}, "greater than or equal to 0"),
        ({"step_retry_delay_s": -1}, "greater than or equal to 0"),
    ],
)
def test_mistakes_are_refused_at_load_naming_the_fix(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        ConfluenceNoteSync.model_validate({"selection": SELECTION, **settings})


def definitions(sync: ConfluenceNoteSync, **settings: Any) -> Definitions:
    """`build_dot_notes_definitions` of one sync, with a `dot` resource (nothing is called)."""
    site = ConfluenceResource(base_url="http://127.0.0.1:9/wiki", personal_access_token="x")
    notes = DotNotesSettings(site=site, syncs=(sync,), **settings)
    dot = DotResource(api_token="dot-x", base_url="http://127.0.0.1:9")
    return Definitions.merge(
        build_dot_notes_definitions(notes), Definitions(resources={"dot": dot})
    )


def test_the_definitions_load_with_one_pooled_asset_its_check_sensor_and_schedule() -> None:
    sync = ConfluenceNoteSync(name="wiki", selection=SELECTION, dialect="single_note")
    defs = definitions(sync)

    repository = defs.get_repository_def()
    [asset] = list(repository.assets_defs_by_key.values())
    assert asset.key == AssetKey(["dot", "notes", "wiki"])
    assert asset.op.pool == NOTES_POOL
    assert asset.op.retry_policy == RetryPolicy(
        max_retries=3, delay=5.0, backoff=Backoff.EXPONENTIAL
    )
    metadata = asset.specs_by_key[asset.key].metadata
    assert (metadata["dot/note_dialect"], metadata["dot/pool"]) == ("single_note", NOTES_POOL)
    assert all(name.startswith("dot/") for name in metadata)
    job = defs.resolve_job_def("dot_notes_wiki_job")
    check = AssetCheckKey(asset.key, "every_selected_page_has_a_current_note")
    assert check in job.asset_layer.asset_graph.asset_check_keys
    schedule = defs.resolve_schedule_def("dot_notes_wiki_schedule")
    [request] = schedule.evaluate_tick(build_schedule_context()).run_requests or []
    assert request.run_config == {
        "ops": {"dot_notes_wiki": {"config": {"page_ids": None, "refresh": True}}}
    }
    assert defs.resolve_sensor_def("dot_notes_wiki_sensor").job_name == "dot_notes_wiki_job"
    assert isinstance(defs.resources, dict)
    assert defs.resources["confluence"].base_url == "http://127.0.0.1:9/wiki"


def test_python_settings_switch_the_pool_the_sensor_and_the_schedule() -> None:
    sync = ConfluenceNoteSync(name="wiki", selection=SELECTION)
    defs = definitions(
        sync,
        pool="wiki_notes",
        sensor=NoteSensor(enabled=False),
        schedule=NoteSchedule(cron_schedule="30 2 * * *", timezone="Europe/Berlin"),
    )

    [asset] = list(defs.get_repository_def().assets_defs_by_key.values())
    assert asset.op.pool == "wiki_notes"
    assert asset.specs_by_key[asset.key].metadata["dot/pool"] == "wiki_notes"
    assert list(defs.sensors or []) == []
    [schedule] = list(defs.schedules or [])
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 2 * * *", "Europe/Berlin")
    assert list(definitions(sync, schedule=NoteSchedule(enabled=False)).schedules or []) == []


def test_a_selection_resolves_to_the_union_in_order_without_the_parents(
    site: ConfluenceEmulatorServer,
) -> None:
    selection = PageSelection(
        page_ids=(NRR, REVENUE), descendants_of=(METRICS,), cql=('label = "faq"',)
    )
    with confluence_resource(site).get_client() as client:
        selected = select_pages(client, selection)

    assert list(selected.pages) == [NRR, REVENUE, ACTIVE_CUSTOMERS, FAQ]
    assert selected.pages[NRR].version == 3 and selected.missing == ()
    assert selected.empty_sources == ()


def test_spaces_select_every_visible_page_of_the_space(site: ConfluenceEmulatorServer) -> None:
    with confluence_resource(site, "datacenter").get_client() as client:
        selected = select_pages(client, PageSelection(spaces=("ENG",), page_ids=("999999",)))

    assert list(selected.pages) == ["200000", "200100"]
    assert selected.missing == ("999999",)


def test_the_marker_records_the_page_version_in_every_part() -> None:
    parts = render_owned_notes(
        "# A\n\n" + "x" * 350 + "\n\n# B\n\nshort", "42", limit=400, version=7
    )

    assert [owned_note_key(part) for part in parts] == [
        OwnedNoteKey("42", 1, 2, 7),
        OwnedNoteKey("42", 2, 2, 7),
    ]
    assert parts[1].endswith("<!-- dot-orchestration:confluence page=42 part=2/2 version=7 -->")
    assert (
        owned_note_key("<!-- dot-orchestration:confluence page=42 part=1/1 version=0 -->") is None
    )
