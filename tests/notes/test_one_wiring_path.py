"""One wiring path: the YAML `confluence` section and Python's `DotNotesSettings` are one
class, and both go through `build_dot_notes_definitions`, so the same settings give the
same definitions whichever way they were written."""

from __future__ import annotations

from typing import Any

from components._support import write_dot_yaml
from dagster import Definitions, EnvVar
from dagster.components.testing import create_defs_folder_sandbox

from dot_orchestration.components import DotComponent
from dot_orchestration.confluence import PageSelection
from dot_orchestration.notes import (
    ConfluenceNoteSync,
    ConfluenceResource,
    DotNotesSettings,
    NoteSchedule,
    NoteSensor,
    build_dot_notes_definitions,
)
from dot_orchestration.resources import DotResource

YAML = """\
workspace:
  api_token: "{{ env.DOT_API_KEY }}"
  base_url: http://127.0.0.1:9
confluence:
  site:
    base_url: http://127.0.0.1:9/wiki
    personal_access_token: "{{ env.CONFLUENCE_PERSONAL_ACCESS_TOKEN }}"
  syncs:
    - name: metrics
      selection:
        page_ids: ["100101"]
      dialect: single_note
      step_retries: 1
  sensor:
    enabled: false
  schedule:
    cron_schedule: "30 2 * * *"
    timezone: Europe/Berlin
  pool: wiki_notes
"""

PYTHON = DotNotesSettings(
    site=ConfluenceResource(
        base_url="http://127.0.0.1:9/wiki",
        personal_access_token=EnvVar("CONFLUENCE_PERSONAL_ACCESS_TOKEN"),
    ),
    syncs=(
        ConfluenceNoteSync(
            name="metrics",
            selection=PageSelection(page_ids=("100101",)),
            dialect="single_note",
            step_retries=1,
        ),
    ),
    sensor=NoteSensor(enabled=False),
    schedule=NoteSchedule(cron_schedule="30 2 * * *", timezone="Europe/Berlin"),
    pool="wiki_notes",
)


def shape(defs: Definitions) -> dict[str, Any]:
    """What a user gets: assets (spec and step), checks, jobs, schedules, sensors, the
    `confluence` resource. Metadata: ours (Dagster adds where a component was loaded)."""
    repo = defs.get_repository_def()
    assets = {
        key.to_user_string(): (
            {name: value for name, value in spec.metadata.items() if name.startswith("dot/")},
            spec.description,
            spec.group_name,
            spec.kinds,
            assets_def.op.pool,
            assets_def.op.retry_policy,
        )
        for assets_def in repo.assets_defs_by_key.values()
        if assets_def.is_executable
        for key, spec in assets_def.specs_by_key.items()
        if key.path[:2] == ["dot", "notes"]
    }
    schedules = {
        s.name: (s.cron_schedule, s.execution_timezone, s.default_status)
        for s in repo.schedule_defs
    }
    return {
        "assets": assets,
        "checks": sorted(k.to_user_string() for k in repo.asset_graph.asset_check_keys),
        "jobs": sorted(j.name for j in repo.get_all_jobs() if j.name.startswith("dot_notes")),
        "schedules": schedules,
        "sensors": sorted(s.name for s in repo.sensor_defs),
        "confluence": (defs.resources or {})["confluence"],
    }


def test_yaml_and_python_settings_build_the_same_note_definitions() -> None:
    with create_defs_folder_sandbox() as sandbox:
        path = write_dot_yaml(sandbox, YAML)
        with sandbox.load_component_and_build_defs(defs_path=path.parent) as (component, defs):
            assert isinstance(component, DotComponent)
            assert component.confluence == PYTHON  # one settings class, equal values
            from_yaml = shape(defs)

    dot = DotResource(api_token=EnvVar("DOT_API_KEY"), base_url="http://127.0.0.1:9")
    from_python = shape(
        Definitions.merge(build_dot_notes_definitions(PYTHON), Definitions(resources={"dot": dot}))
    )

    assert from_yaml == from_python
    assert from_python["sensors"] == []  # switched off from Python as from YAML
    [(cron, timezone, _)] = from_python["schedules"].values()
    assert (cron, timezone) == ("30 2 * * *", "Europe/Berlin")
    [(*_, pool, retry)] = from_python["assets"].values()
    assert (pool, retry.max_retries) == ("wiki_notes", 1)
