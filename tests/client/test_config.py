"""Client settings are checked before anything is sent, and never echo the token."""

from __future__ import annotations

import subprocess
import sys
import traceback
from datetime import date

import pytest
from pydantic import SecretStr

from dot_orchestration.client import REGION_URLS, DotClient, DotConfigError

TOKEN = "dot-0123456789abcdef-config-test"


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({}, "exactly one of region"),
        ({"region": "eu", "base_url": "https://eu.getdot.ai"}, "exactly one of region"),
        ({"region": "us"}, "region: Input should be 'app' or 'eu'"),
        ({"base_url": "http://eu.getdot.ai"}, "refusing plain http://"),
        ({"base_url": "http://192.168.1.10:8765"}, "refusing plain http://"),
        ({"base_url": "https://eu.getdot.ai/api"}, "should not end in /api"),
        ({"region": "eu", "auth_mode": "url"}, "needs user_id"),
        ({"region": "eu", "auth_mode": "cookie"}, "auth_mode"),
        ({"region": "eu", "environment": ""}, "environment"),
        ({"region": "eu", "timeouts": {"read": -1}}, "timeouts.read"),
    ],
)
def test_bad_settings_raise_a_config_error_that_says_what_to_fix(
    settings: dict[str, object], complaint: str
) -> None:
    with pytest.raises(DotConfigError, match="invalid Dot client settings") as raised:
        DotClient(api_token=TOKEN, **settings)  # type: ignore[arg-type]
    assert complaint in str(raised.value)
    assert TOKEN not in "".join(traceback.format_exception(raised.value))


@pytest.mark.parametrize("token", ["", " dot-x", "dot-x\n"])
def test_empty_or_padded_tokens_are_refused(token: str) -> None:
    with pytest.raises(DotConfigError, match="api_token"):
        DotClient(api_token=token, region="eu")


@pytest.mark.parametrize(("region", "url"), list(REGION_URLS.items()))
def test_regions_map_to_dot_hosts(region: str, url: str) -> None:
    with DotClient(api_token=TOKEN, region=region) as dot:  # type: ignore[arg-type]
        assert repr(dot).startswith(f"DotClient(base_url={url!r}")


def test_loopback_http_is_allowed_for_emulators() -> None:
    with DotClient(api_token=SecretStr(TOKEN), base_url="http://localhost:8765/") as dot:
        assert "http://localhost:8765" in repr(dot)


def test_the_client_never_shows_its_token() -> None:
    with DotClient(api_token=TOKEN, region="eu", auth_mode="url", user_id="a@b.com") as dot:
        assert TOKEN not in repr(dot)
        assert TOKEN not in str(dot)


def test_usage_errors_are_raised_before_sending() -> None:
    # Port 9 on loopback: anything actually sent would fail as a transport error instead.
    with DotClient(api_token=TOKEN, base_url="http://127.0.0.1:9") as dot:
        with pytest.raises(DotConfigError, match="write it as 'snowflake'"):
            dot.sync_connection("Snowflake", "prod")
        with pytest.raises(DotConfigError, match="mode must be one of"):
            dot.agentic("q", mode="turbo")  # type: ignore[arg-type]
        with pytest.raises(DotConfigError, match="format is 'json' or 'yaml'"):
            dot.get_dbt_exposures(format="xml")  # type: ignore[call-overload]
        with pytest.raises(DotConfigError, match="invalid ExternalAsset: subtype"):
            dot.import_external_asset({"id": "a"})
        with pytest.raises(DotConfigError, match="invalid QualityIncident"):
            dot.report_quality_incidents("great_expectations", [{"table": "t", "status": "?"}])
        with pytest.raises(DotConfigError, match="start_date"):
            dot.export_history(date(2026, 2, 1), date(2026, 1, 1))
        with pytest.raises(DotConfigError, match="poll_interval_s"):
            dot.wait_for_answer("chat", poll_interval_s=0)


def test_importing_the_client_does_not_import_dagster() -> None:
    code = "import sys, dot_orchestration.client; assert 'dagster' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
