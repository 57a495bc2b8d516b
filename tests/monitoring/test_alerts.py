"""Alerts for failed runs and failing checks, sent through the real Slack and Teams clients.

Slack and Teams themselves are the only fakes here: `recorder` (see conftest) is a local
HTTP server that answers like Slack's Web API and a Teams webhook and keeps what it
received, so the tests assert what on-call would read. Everything up to that HTTP request is
the real code path: the sensors evaluated on a real instance after real runs, the failing
run's error a real refusal of the Dot emulator.
"""

import logging

import pytest
from dagster import (
    AssetCheckKey,
    DagsterInstance,
    Definitions,
    SensorResult,
    asset,
    build_sensor_context,
)

from dot_orchestration.emulator import EXPIRED_TOKEN, EmulatorServer
from dot_orchestration.monitoring import (
    Alert,
    AlertChannels,
    MonitoringSettings,
    build_dot_monitoring_definitions,
)
from dot_orchestration.resources import DotResource

from .conftest import CUSTOMERS, ORDERS, UI_URL, Recorder, check_run, small_defs, tick


@asset
def dot_catalogue_size(dot: DotResource) -> int:
    """An asset that reads Dot: with an expired token, its step fails with Dot's 401."""
    with dot.get_client() as client:
        return len(client.list_external_assets())


def test_failed_run_alert_names_run_step_error_and_link(
    dot_emulator: EmulatorServer, instance: DagsterInstance, recorder: Recorder
) -> None:
    expired = DotResource(api_token=EXPIRED_TOKEN, base_url=dot_emulator.url, max_attempts=1)
    defs = build_dot_monitoring_definitions(
        Definitions(assets=[dot_catalogue_size], resources={"dot": expired}),
        MonitoringSettings(ui_url=UI_URL),
    )
    sensor = defs.resolve_sensor_def("dot_run_failure_alerts")
    alerts = recorder.channels()
    cursor = tick(sensor, instance, None, alerts=alerts)  # the first tick marks where to start
    job = defs.resolve_implicit_global_asset_job_def()
    key = dot_catalogue_size.key
    assert not job.execute_in_process(
        instance=instance, asset_selection=[key], raise_on_error=False
    ).success
    (run,) = instance.get_runs()

    tick(sensor, instance, cursor, alerts=alerts)

    (slack,) = recorder.bodies("/slack/chat.postMessage")
    assert slack["channel"] == "#data-ops"
    link = f"{UI_URL}/runs/{run.run_id}"
    (teams,) = recorder.teams_texts()
    for text in (slack["text"], teams):
        assert f"Dagster run failed: __ASSET_JOB (run {run.run_id[:8]})" in text
        assert "Assets: dot_catalogue_size" in text
        assert "Step dot_catalogue_size failed: " in text
        assert "401" in text and "/api/external_assets" in text, "Dot's refusal, quoted"
        assert link in text
        assert EXPIRED_TOKEN not in text
    assert slack["blocks"][-1]["elements"][0]["url"] == link


def test_check_alerts_once_when_failing_and_once_when_passing_again(
    dot_emulator: EmulatorServer, instance: DagsterInstance, recorder: Recorder
) -> None:
    sensor = small_defs(dot_emulator).resolve_sensor_def("dot_check_alerts")
    alerts = recorder.channels()
    failed_run = check_run(instance, orders=False)
    cursor = tick(sensor, instance, None, alerts=alerts)
    cursor = tick(sensor, instance, cursor, alerts=alerts)  # same state: nothing new
    check_run(instance, orders=False)
    cursor = tick(sensor, instance, cursor, alerts=alerts)  # failed again: still nothing new

    (failing,) = recorder.slack_texts()
    assert failing.startswith("Asset check failed: orders_add_up on orders")
    assert "Severity: ERROR" in failing and "Check said: 3 != 4" in failing
    assert f"{UI_URL}/runs/{failed_run}" in failing

    passed_run = check_run(instance, orders=True)
    cursor = tick(sensor, instance, cursor, alerts=alerts)
    tick(sensor, instance, cursor, alerts=alerts)
    assert len(recorder.slack_texts()) == 2
    passing = recorder.slack_texts()[1]
    assert passing.startswith("Asset check passes again: orders_add_up on orders")
    assert f"{UI_URL}/runs/{passed_run}" in passing
    assert len(recorder.teams_texts()) == 2


def test_refused_check_alert_is_sent_again_next_tick(
    dot_emulator: EmulatorServer, instance: DagsterInstance, recorder: Recorder
) -> None:
    sensor = small_defs(dot_emulator).resolve_sensor_def("dot_check_alerts")
    alerts = recorder.channels()
    check_run(instance, orders=False)

    recorder.refuse = True
    result = sensor(build_sensor_context(instance=instance, resources={"alerts": alerts}))
    assert isinstance(result, SensorResult)
    assert "1 refused (retried next tick)" in str(result.skip_reason)
    recorder.refuse = False
    tick(sensor, instance, result.cursor, alerts=alerts)

    assert len(recorder.slack_texts()) == 2, "refused once, then delivered"
    assert recorder.slack_texts()[0] == recorder.slack_texts()[1]


def test_every_check_raises_alerts_those_of_upstream_assets_too(
    dot_emulator: EmulatorServer, instance: DagsterInstance, recorder: Recorder
) -> None:
    """The check sensor watches every check of the definitions and of `upstream` (the dbt
    component's tests, for `DotComponent`): each failing check reaches Slack."""
    from .conftest import customers, customers_unique, orders, orders_add_up

    defs = build_dot_monitoring_definitions(
        Definitions(assets=[orders, orders_add_up]),
        MonitoringSettings(ui_url=UI_URL),
        upstream=[customers, customers_unique],
    )
    assert {key for spec in defs.resolve_all_asset_specs() for key in [spec.key]} == {ORDERS}
    sensor = defs.resolve_sensor_def("dot_check_alerts")
    check_run(instance, orders=False, customers=False)

    tick(sensor, instance, None, alerts=recorder.channels())

    alerted = {text.splitlines()[0] for text in recorder.slack_texts()}
    assert alerted == {
        f"Asset check failed: {key.name} on {key.asset_key.to_user_string()}"
        for key in (
            AssetCheckKey(ORDERS, "orders_add_up"),
            AssetCheckKey(CUSTOMERS, "customers_unique"),
        )
    }


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
