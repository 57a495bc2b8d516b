"""One `MonitoringSettings` for Python and `defs.yaml`: what one can switch, the other can.

Python: each switch of the settings adds or leaves out its part of what
`build_dot_monitoring_definitions` returns. YAML: `DotComponent`'s `monitoring` section is
the same class, read from a real `defs.yaml` in a dg sandbox and handed to the same factory.
"""

import textwrap
from collections.abc import Iterator
from datetime import timedelta

import pytest
from dagster import AssetKey, Definitions, FreshnessPolicy
from dagster.components.testing import DefsFolderSandbox, create_defs_folder_sandbox
from pydantic import ValidationError

from dot_orchestration.components import settings as yaml_sections
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.monitoring import MonitoringSettings

from .conftest import small_defs

ALL_SENSORS = {"dot_run_failure_alerts", "dot_check_alerts", "dot_quality_incidents"}


def sensor_names(defs: Definitions) -> set[str]:
    return {sensor.name for sensor in defs.sensors or ()}


def test_the_yaml_section_is_the_python_settings_class() -> None:
    assert yaml_sections.MonitoringSettings is MonitoringSettings


@pytest.mark.parametrize(
    ("switch", "sensor"),
    [
        ("run_failure_alerts", "dot_run_failure_alerts"),
        ("check_alerts", "dot_check_alerts"),
        ("quality_incidents", "dot_quality_incidents"),
    ],
)
def test_each_sensor_can_be_switched_off(
    dot_emulator: EmulatorServer, switch: str, sensor: str
) -> None:
    assert sensor_names(small_defs(dot_emulator)) == ALL_SENSORS
    off = small_defs(dot_emulator, MonitoringSettings.model_validate({switch: False}))
    assert sensor_names(off) == ALL_SENSORS - {sensor}
    assert off.resources is not None and "alerts" in off.resources


def test_bad_settings_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="ui_url must be the Dagster UI's http"):
        MonitoringSettings(ui_url="dagster.example.com")
    with pytest.raises(ValidationError, match="freshness_grace_minutes"):
        MonitoringSettings(freshness_grace_minutes=-1)
    with pytest.raises(ValidationError, match="incident_table_name_case"):
        MonitoringSettings(incident_table_name_case="title")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="check_alert"):
        MonitoringSettings(check_alert=False)  # type: ignore[call-arg]  # misspelt


def test_from_env_reads_the_ui_url_and_keeps_alert_secrets_as_references() -> None:
    settings = MonitoringSettings.from_env(
        {
            "DOT_DAGSTER_UI_URL": "https://dagster.example.com",
            "DOT_ALERTS_SLACK_TOKEN": "xoxb-1",
            "DOT_ALERTS_SLACK_CHANNEL": "#ops",
        }
    )
    assert settings.ui_url == "https://dagster.example.com"
    assert settings.alerts.slack_channel == "#ops" and "xoxb-1" not in repr(settings)
    assert MonitoringSettings.from_env({}) == MonitoringSettings()


@pytest.fixture
def sandbox(
    dot_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DefsFolderSandbox]:
    monkeypatch.setenv("DOT_API_KEY", ADMIN_TOKEN)
    monkeypatch.setenv("DOT_BASE_URL", dot_emulator.url)
    with create_defs_folder_sandbox() as created:
        yield created


def test_yaml_switches_reach_the_same_factory(sandbox: DefsFolderSandbox) -> None:
    """A catalogue (the one operation that needs no other system) with its daily schedule:
    the section's switches decide the sensors and the grace of the freshness policy."""
    path = sandbox.defs_folder_path / "dot" / "defs.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        textwrap.dedent(
            """\
            type: dot_orchestration.DotComponent
            attributes:
              workspace:
                api_token: "{{ env.DOT_API_KEY }}"
                base_url: "{{ env.DOT_BASE_URL }}"
              catalogue:
                schedule: {}
              monitoring:
                check_alerts: false
                ui_url: https://dagster.example.com
                freshness_grace_minutes: 15
            """
        ),
        encoding="utf-8",
    )
    with sandbox.build_all_defs() as defs:
        repo = defs.get_repository_def()
        sensors = {sensor.name for sensor in repo.sensor_defs}
        policy = repo.asset_graph.get(AssetKey(["dot", "external_assets"])).freshness_policy
    assert sensors == {"dot_run_failure_alerts"}, "no syncs: no tables Dot reads"
    assert policy == FreshnessPolicy.time_window(fail_window=timedelta(hours=24, minutes=15))
