"""The catalogue against what Dot documents: a write counts only once Dot's list shows it.

The main flow runs against both emulator profiles (`any_dot_emulator`; the strict one
answers imports and deletions with `null` and lists only the `ExternalAsset` fields). A
proxy that answers imports or deletions itself, with a 2xx, plays a Dot that accepts a
write and does not carry it out.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dagster import AssetSpec, ExecuteInProcessResult, materialize
from reliability._proxy import AnsweringProxy, CannedAnswer

from dot_orchestration.catalogue import (
    CatalogueFile,
    DagsterAssetGraph,
    build_dot_catalogue_asset,
)
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.emulator.faults import FaultRule
from dot_orchestration.resources import DotResource

from ._catalogue_api import DELETE, EXAMPLE_CATALOGUE, IMPORT

LOOKER_DASHBOARD = AssetSpec(["looker", "Churn_40"], kinds={"looker", "dashboard"})
OWNED = {
    "dagster:metabase-daily-revenue",
    "dagster:streamlit-customer-lookup",
    "dagster:hex-order-funnel",
    "dagster:looker/Churn_40",
}


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    path = tmp_path / "dot_catalogue.yaml"
    path.write_text(EXAMPLE_CATALOGUE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def run(url: str, catalogue: Path, **options: Any) -> ExecuteInProcessResult:
    sources = [CatalogueFile(catalogue), DagsterAssetGraph([LOOKER_DASHBOARD])]
    return materialize(
        [build_dot_catalogue_asset(sources, **options)],
        resources={"dot": DotResource(api_token=ADMIN_TOKEN, base_url=url, max_attempts=1)},
        raise_on_error=False,
    )


def in_dot(server: EmulatorServer) -> dict[str, dict[str, Any]]:
    return {s.asset.id: s.asset.model_dump() for s in server.state.space().assets()}


def writes(server: EmulatorServer) -> list[str]:
    entries = httpx.get(f"{server.url}/_emulator/journal").json()["entries"]
    return [e["path"] for e in entries if e["path"] in (IMPORT, DELETE)]


def listings(server: EmulatorServer) -> int:
    entries = httpx.get(f"{server.url}/_emulator/journal").json()["entries"]
    return sum(1 for e in entries if (e["method"], e["path"]) == ("GET", "/api/external_assets"))


def materialized(result: ExecuteInProcessResult) -> dict[str, Any]:
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def failure(result: ExecuteInProcessResult) -> tuple[str, dict[str, Any]]:
    [event] = [e for e in result.all_events if e.is_step_failure]
    user = event.step_failure_data.user_failure_data
    assert user is not None
    return user.description or "", {k: v.value for k, v in user.metadata.items()}


def drop_hex_entry(catalogue: Path) -> None:
    text = catalogue.read_text()
    catalogue.write_text(text[: text.index("  - id: hex-order-funnel")], encoding="utf-8")


@pytest.fixture
def ignoring(dot_emulator: EmulatorServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A Dot that answers `request.param` (a path) with 200 and does nothing."""
    answers = {("POST", request.param): CannedAnswer(200, b'{"status": "ok"}')}
    with AnsweringProxy(dot_emulator.url, answers) as proxy:
        yield proxy.url


def test_catalogue_main_flow_in_both_profiles(
    any_dot_emulator: EmulatorServer, catalogue: Path
) -> None:
    dot = any_dot_emulator
    first = run(dot.url, catalogue)
    assert first.success
    assert set(in_dot(dot)) >= OWNED
    assert materialized(first)["dot/created"] == 4
    assert [c.passed for c in first.get_asset_check_evaluations()] == [True]

    assert listings(dot) == 2  # to plan, and after the writes (the check reuses it)
    httpx.delete(f"{dot.url}/_emulator/journal").raise_for_status()
    assert run(dot.url, catalogue).success
    assert writes(dot) == []  # a no-op run makes 0 writes
    assert listings(dot) == 1  # nothing written: nothing to read back

    drop_hex_entry(catalogue)
    removed = run(dot.url, catalogue)
    assert removed.success and materialized(removed)["dot/deactivated"] == 1
    assert in_dot(dot)["dagster:hex-order-funnel"]["active"] is False


@pytest.mark.parametrize("ignoring", [IMPORT], indirect=True)
def test_imports_dot_does_not_carry_out_fail_naming_the_ids(
    ignoring: str, dot_emulator: EmulatorServer, catalogue: Path
) -> None:
    before = in_dot(dot_emulator)

    result = run(ignoring, catalogue)

    description, meta = failure(result)
    assert "4 of 4 Dot external asset writes failed" in description
    assert set(meta["dot/failed_error_classes"].values()) == {"DotEffectNotObservedError"}
    assert set(meta["dot/failed_assets"]) == OWNED
    reason = meta["dot/failed_assets"]["dagster:hex-order-funnel"]
    assert "Dot answered 2xx to the create of external asset" in reason
    assert "shows no asset with this id" in reason and "Next:" in reason
    assert meta["dot/created"] == 0  # nothing reported created that Dot does not list
    assert in_dot(dot_emulator) == before


@pytest.mark.parametrize("ignoring", [DELETE], indirect=True)
def test_a_deletion_dot_does_not_carry_out_fails(
    ignoring: str, dot_emulator: EmulatorServer, catalogue: Path
) -> None:
    assert run(dot_emulator.url, catalogue).success
    drop_hex_entry(catalogue)

    result = run(ignoring, catalogue, on_removed="delete")

    _, meta = failure(result)
    assert meta["dot/failed_error_classes"] == {
        "dagster:hex-order-funnel": "DotEffectNotObservedError"
    }
    assert "the asset still listed" in meta["dot/failed_assets"]["dagster:hex-order-funnel"]
    assert meta["dot/deleted"] == 0


@pytest.mark.parametrize("body", ["truncated_json", "html"])
def test_import_replies_of_any_2xx_shape_cause_no_false_failure(
    dot_emulator: EmulatorServer, catalogue: Path, body: str
) -> None:
    dot_emulator.state.faults = [
        FaultRule(
            method="POST", path=IMPORT, kind="malformed", malformed=body, status=200, phase="after"
        )
    ]  # Dot imports, and answers 200 with a body that is no JSON object

    result = run(dot_emulator.url, catalogue)

    assert result.success and materialized(result)["dot/created"] == 4
    assert set(in_dot(dot_emulator)) >= OWNED
