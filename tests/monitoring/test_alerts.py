"""Alerts for failed runs and failing checks, sent through the real Slack and Teams clients.

Slack and Teams themselves are a recorded fake: `recorder` (see conftest) is a local HTTP
server that answers like Slack's Web API and a Teams webhook and keeps what it received.
Everything up to the HTTP request is the real code path: the sensors evaluated on a real
instance after real runs against the Dot emulator.
"""

import logging

import pytest
from dagster import (
    AssetCheckKey,
    DagsterInstance,
    Definitions,
    SensorDefinition,
    SensorResult,
    build_sensor_context,
)

from dot_orchestration.connection_sync import SYNC_ACCEPTED_CHECK
from dot_orchestration.emulator import EXPIRED_TOKEN, EmulatorServer
from dot_orchestration.emulator.faults import FaultRule
from dot_orchestration.monitoring import Alert, AlertChannels

from .conftest import DUCKDB_SYNC, UI_URL, Recorder, materialize_keys


def channels(recorder: Recorder) -> AlertChannels:
    return AlertChannels(
        slack_token="xoxb-test",
        slack_channel="#data-ops",
        slack_api_url=f"{recorder.url}/slack/",
        teams_webhook_url=f"{recorder.url}/teams",
    )


def tick(
    sensor: SensorDefinition, instance: DagsterInstance, cursor: str | None, alerts: AlertChannels
) -> str | None:
    """One evaluation as the daemon runs it; returns the next cursor."""
    context = build_sensor_context(instance=instance, cursor=cursor, resources={"alerts": alerts})
    return sensor.evaluate_tick(context).cursor


def slack_texts(recorder: Recorder) -> list[str]:
    return [body["text"] for body in recorder.bodies("/slack/chat.postMessage")]


def teams_texts(recorder: Recorder) -> list[str]:
    return [
        body["attachments"][0]["content"]["body"][0]["text"] for body in recorder.bodies("/teams")
    ]


def test_failed_run_alert_names_run_step_error_and_link(
    example: Definitions,
    instance: DagsterInstance,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sensor = example.resolve_sensor_def("dot_run_failure_alerts")
    alerts = channels(recorder)
    cursor = tick(sensor, instance, None, alerts)  # the first tick only marks where to start
    monkeypatch.setenv("DOT_API_KEY", EXPIRED_TOKEN)
    assert not materialize_keys(example, instance, [DUCKDB_SYNC])
    (run,) = instance.get_runs()

    tick(sensor, instance, cursor, alerts)

    (slack,) = recorder.bodies("/slack/chat.postMessage")
    assert slack["channel"] == "#data-ops"
    link = f"{UI_URL}/runs/{run.run_id}"
    for text in (slack["text"], *teams_texts(recorder)):
        assert f"Dagster run failed: __ASSET_JOB (run {run.run_id[:8]})" in text
        assert "Assets: dot/sync/duckdb/dot_demo" in text
        assert "Step dot_connection_syncs failed: 1 of 1 Dot syncs failed: duckdb/dot_demo" in text
        assert link in text
    assert slack["blocks"][-1]["elements"][0]["url"] == link
    assert len(teams_texts(recorder)) == 1


def fail_the_duckdb_sync(
    example: Definitions, instance: DagsterInstance, dot_emulator: EmulatorServer
) -> None:
    """Dot refuses the duckdb connection's sync (403): its `dot_sync_accepted` check fails."""
    dot_emulator.state.faults = [
        FaultRule(method="POST", path="/api/sync/duckdb/*", kind="status", status=403)
    ]
    assert not materialize_keys(example, instance, [DUCKDB_SYNC])


def test_check_alerts_once_when_failing_and_once_when_passing_again(
    example: Definitions,
    instance: DagsterInstance,
    recorder: Recorder,
    dot_emulator: EmulatorServer,
) -> None:
    sensor = example.resolve_sensor_def("dot_check_alerts")
    alerts = channels(recorder)
    fail_the_duckdb_sync(example, instance, dot_emulator)
    cursor = tick(sensor, instance, None, alerts)
    cursor = tick(sensor, instance, cursor, alerts)  # same state: nothing new
    assert not materialize_keys(example, instance, [DUCKDB_SYNC])
    cursor = tick(sensor, instance, cursor, alerts)  # failed again: still nothing new

    (failing,) = slack_texts(recorder)
    assert failing.startswith(
        f"Asset check failed: {SYNC_ACCEPTED_CHECK} on dot/sync/duckdb/dot_demo"
    )
    assert "Severity: ERROR" in failing and "403" in failing
    first_failed_run = instance.get_runs()[-1]
    assert f"{UI_URL}/runs/{first_failed_run.run_id}" in failing

    dot_emulator.state.faults = []
    assert materialize_keys(example, instance, [DUCKDB_SYNC])
    cursor = tick(sensor, instance, cursor, alerts)
    tick(sensor, instance, cursor, alerts)
    assert len(slack_texts(recorder)) == 2
    assert slack_texts(recorder)[1].startswith(
        f"Asset check passes again: {SYNC_ACCEPTED_CHECK} on dot/sync/duckdb/dot_demo"
    )
    assert len(teams_texts(recorder)) == 2


def test_refused_check_alert_is_sent_again_next_tick(
    example: Definitions,
    instance: DagsterInstance,
    recorder: Recorder,
    dot_emulator: EmulatorServer,
) -> None:
    sensor = example.resolve_sensor_def("dot_check_alerts")
    alerts = channels(recorder)
    fail_the_duckdb_sync(example, instance, dot_emulator)

    recorder.refuse = True
    context = build_sensor_context(instance=instance, resources={"alerts": alerts})
    result = sensor(context)
    assert isinstance(result, SensorResult)
    assert "1 refused (retried next tick)" in str(result.skip_reason)
    recorder.refuse = False
    tick(sensor, instance, result.cursor, alerts)

    assert len(slack_texts(recorder)) == 2, "refused once, then delivered"
    assert slack_texts(recorder)[0] == slack_texts(recorder)[1]


def test_without_channels_the_alert_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    alert = Alert("Dagster run failed: nightly (run 1234abcd)", ("Step x failed: boom",), "u")
    with caplog.at_level(logging.WARNING):
        AlertChannels().post(alert, logging.getLogger("alerts"))
    assert "No alert channel configured" in caplog.text
    assert "DOT_ALERTS_TEAMS_WEBHOOK_URL" in caplog.text
    assert alert.text in caplog.text


def test_half_configured_slack_fails_at_load() -> None:
    with pytest.raises(ValueError, match="DOT_ALERTS_SLACK_CHANNEL"):
        AlertChannels(slack_token="xoxb-test")


def test_channels_from_env_keep_secrets_as_references() -> None:
    env = {
        "DOT_ALERTS_SLACK_TOKEN": "xoxb-secret",
        "DOT_ALERTS_SLACK_CHANNEL": "#data-ops",
        "DOT_ALERTS_TEAMS_WEBHOOK_URL": "https://example.webhook.office.com/x",
    }
    configured = AlertChannels.from_env(env)
    assert "xoxb-secret" not in repr(configured)
    assert "webhook.office.com" not in repr(configured)
    assert configured.slack_channel == "#data-ops"
    assert AlertChannels.from_env({}) == AlertChannels()


def test_check_keys_watched_include_every_check(example: Definitions) -> None:
    """dbt tests, the sync checks and the catalogue check all raise alerts."""
    sensor = example.resolve_sensor_def("dot_check_alerts")
    checks = example.resolve_asset_graph().asset_check_keys
    assert AssetCheckKey(DUCKDB_SYNC, SYNC_ACCEPTED_CHECK) in checks
    assert f"one of {len(checks)} asset checks" in (sensor.description or "")
