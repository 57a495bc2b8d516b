"""The catalogue asset against the Dot emulator over HTTP: what it writes, and what it never does.

Each test materializes `dot/external_assets` on a fresh ephemeral Dagster instance, so
"no write calls on the second run" holds without any memory on the Dagster side: the
comparison is with what Dot lists.
"""

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest
from dagster import AssetSpec, ExecuteInProcessResult, MetadataValue, materialize

from dot_orchestration.catalogue import (
    CatalogueFile,
    DagsterAssetGraph,
    ExternalAssetSource,
    build_dot_catalogue_asset,
)
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.resources import DotResource
from dot_orchestration.transforms.catalogue import CatalogueError

from ._catalogue_api import DELETE, EXAMPLE_CATALOGUE, IMPORT

LOOKER_DASHBOARD = AssetSpec(
    ["looker", "Churn_40"],
    kinds={"looker", "dashboard"},
    metadata={"dagster-looker/web_url": MetadataValue.url("https://looker.example.com/40")},
)
EXPECTED_IDS = {
    "dagster:metabase-daily-revenue",
    "dagster:streamlit-customer-lookup",
    "dagster:hex-order-funnel",
    "dagster:looker/Churn_40",
}

Run = Callable[..., ExecuteInProcessResult]


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    path = tmp_path / "dot_catalogue.yaml"
    path.write_text(EXAMPLE_CATALOGUE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture
def run(dot_emulator: EmulatorServer, catalogue: Path) -> Run:
    """Materialize the catalogue asset once; `sources` replaces the example's sources."""

    def _run(
        sources: Iterable[ExternalAssetSource] | None = None, **options: Any
    ) -> ExecuteInProcessResult:
        chosen = sources or [CatalogueFile(catalogue), DagsterAssetGraph([LOOKER_DASHBOARD])]
        return materialize(
            [build_dot_catalogue_asset(list(chosen), **options)],
            resources={
                "dot": DotResource(
                    api_token=ADMIN_TOKEN, base_url=dot_emulator.url, max_concurrency=4
                )
            },
            raise_on_error=False,
        )

    return _run


def assets_in_dot(server: EmulatorServer) -> dict[str, dict[str, Any]]:
    return {stored.asset.id: stored.public() for stored in server.state.space().assets()}


def writes(server: EmulatorServer) -> list[dict[str, Any]]:
    entries = httpx.get(f"{server.url}/_emulator/journal").json()["entries"]
    return [e for e in entries if e["path"] in (IMPORT, DELETE)]


def clear_journal(server: EmulatorServer) -> None:
    httpx.delete(f"{server.url}/_emulator/journal").raise_for_status()


def materialized(result: ExecuteInProcessResult) -> dict[str, Any]:
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def counts(metadata: dict[str, Any]) -> dict[str, int]:
    """The non-zero counts per outcome, under the `dot/` metadata namespace."""
    names = ("created", "updated", "unchanged", "deactivated", "deleted", "kept", "failed")
    return {name: metadata[f"dot/{name}"] for name in names if metadata[f"dot/{name}"]}


def test_first_run_imports_everything_and_leaves_dot_owned_assets_alone(
    run: Run, dot_emulator: EmulatorServer
) -> None:
    before = assets_in_dot(dot_emulator)

    result = run()

    assert result.success
    after = assets_in_dot(dot_emulator)
    assert set(after) == set(before) | EXPECTED_IDS
    assert {k: after[k] for k in before} == before
    assert counts(materialized(result)) == {"created": 4}
    looker = after["dagster:looker/Churn_40"]
    assert (looker["subtype"], looker["url"]) == (
        "looker_dashboard",
        "https://looker.example.com/40",
    )
    assert len(writes(dot_emulator)) == 4


def test_second_run_makes_no_write_call(run: Run, dot_emulator: EmulatorServer) -> None:
    assert run().success
    clear_journal(dot_emulator)

    result = run()

    assert result.success
    assert writes(dot_emulator) == []
    assert counts(materialized(result)) == {"unchanged": 4}


def test_changing_one_entry_updates_exactly_that_asset(
    run: Run, dot_emulator: EmulatorServer, catalogue: Path
) -> None:
    assert run().success
    clear_journal(dot_emulator)
    catalogue.write_text(
        catalogue.read_text().replace("name: Customer lookup", "name: Customer 360"),
        encoding="utf-8",
    )

    result = run()

    assert result.success
    assert [w["body"]["external_asset"]["id"] for w in writes(dot_emulator)] == [
        "dagster:streamlit-customer-lookup"
    ]
    assert assets_in_dot(dot_emulator)["dagster:streamlit-customer-lookup"]["name"] == (
        "Customer 360"
    )
    assert counts(materialized(result)) == {"updated": 1, "unchanged": 3}


def test_removing_one_entry_deactivates_exactly_that_one(
    run: Run, dot_emulator: EmulatorServer, catalogue: Path
) -> None:
    assert run().success
    hand_imported = {"id": "hand-made-report", "subtype": "sheets_report", "name": "Budget"}
    httpx.post(
        f"{dot_emulator.url}{IMPORT}",
        json={"external_asset": hand_imported},
        headers={"X-API-KEY": ADMIN_TOKEN},
    ).raise_for_status()
    before = assets_in_dot(dot_emulator)
    clear_journal(dot_emulator)
    text = catalogue.read_text()
    catalogue.write_text(text[: text.index("  - id: hex-order-funnel")], encoding="utf-8")

    result = run()

    assert result.success
    after = assets_in_dot(dot_emulator)
    gone = "dagster:hex-order-funnel"
    assert after[gone] == {**before[gone], "active": False, "updated_at": after[gone]["updated_at"]}
    assert {k: v for k, v in after.items() if k != gone} == {
        k: v for k, v in before.items() if k != gone
    }
    assert len(writes(dot_emulator)) == 1
    assert counts(materialized(result)) == {"unchanged": 3, "deactivated": 1}

    clear_journal(dot_emulator)
    assert run().success
    assert writes(dot_emulator) == [], "an asset already deactivated is not written again"


def test_the_delete_policy_deletes_only_the_removed_owned_asset(
    run: Run, dot_emulator: EmulatorServer
) -> None:
    assert run().success
    before = assets_in_dot(dot_emulator)

    result = run([DagsterAssetGraph([LOOKER_DASHBOARD])], on_removed="delete")

    assert result.success
    assert set(assets_in_dot(dot_emulator)) == set(before) - (
        EXPECTED_IDS - {"dagster:looker/Churn_40"}
    )
    assert counts(materialized(result)) == {"unchanged": 1, "deleted": 3}


def test_an_invalid_catalogue_fails_at_load_naming_the_entry(
    catalogue: Path, dot_emulator: EmulatorServer
) -> None:
    catalogue.write_text(
        catalogue.read_text().replace("    subtype: streamlit_app\n", ""), encoding="utf-8"
    )

    with pytest.raises(CatalogueError) as raised:
        CatalogueFile(catalogue)

    assert "entry 2 (id 'streamlit-customer-lookup'): field 'subtype': Field required" in str(
        raised.value
    )
    assert writes(dot_emulator) == []


class HookSource:
    """A user's own source: plain mappings, one of them broken when `broken` is set."""

    name = "source crm-apps"

    def __init__(self, broken: bool = False) -> None:
        self.broken = broken

    def external_assets(self) -> list[dict[str, Any]]:
        entry = {"id": "crm-pipeline", "subtype": "salesforce_report", "name": "Pipeline"}
        return [{"id": "crm-pipeline"} if self.broken else entry]


def test_a_hook_adds_its_assets_and_a_broken_hook_writes_nothing(
    run: Run, dot_emulator: EmulatorServer
) -> None:
    assert run([HookSource()]).success
    assert assets_in_dot(dot_emulator)["dagster:crm-pipeline"]["name"] == "Pipeline"
    clear_journal(dot_emulator)

    result = run([HookSource(broken=True)])

    assert not result.success
    failure = result.failure_data_for_node("dot__external_assets")
    assert failure is not None and failure.user_failure_data is not None
    assert "source crm-apps: entry 1 (id 'crm-pipeline'): field 'subtype'" in (
        failure.user_failure_data.description or ""
    )
    assert writes(dot_emulator) == []


def test_when_dot_cannot_list_its_assets_nothing_is_written(
    run: Run, dot_emulator: EmulatorServer
) -> None:
    httpx.put(
        f"{dot_emulator.url}/_emulator/faults",
        json={"rules": [{"path": "/api/external_assets", "kind": "status", "status": 500}]},
    ).raise_for_status()

    result = run()

    assert not result.success
    failure = result.failure_data_for_node("dot__external_assets")
    assert failure is not None and failure.user_failure_data is not None
    assert "nothing was written to Dot" in (failure.user_failure_data.description or "")
    assert failure.error is not None and failure.error.cause is not None
    assert failure.error.cause.cls_name == "DotServerError"
    assert failure.user_failure_data.metadata["dot/catalogue_error_class"].value == "DotServerError"
    assert writes(dot_emulator) == []


def test_a_5xx_on_one_asset_fails_the_run_naming_it_and_keeps_the_others(
    run: Run, dot_emulator: EmulatorServer
) -> None:
    httpx.put(
        f"{dot_emulator.url}/_emulator/faults",
        json={
            "rules": [
                {"method": "POST", "path": IMPORT, "kind": "status", "status": 500, "times": 1}
            ]
        },
    ).raise_for_status()

    result = run()

    assert not result.success
    (failed,) = [w["body"]["external_asset"]["id"] for w in writes(dot_emulator) if w["fault"]]
    assert set(assets_in_dot(dot_emulator)) & EXPECTED_IDS == EXPECTED_IDS - {failed}
    failure = result.failure_data_for_node("dot__external_assets")
    assert failure is not None and failure.user_failure_data is not None
    description = failure.user_failure_data.description or ""
    assert description.startswith(f"1 of 4 Dot external asset writes failed: {failed};")
    metadata = {k: v.value for k, v in failure.user_failure_data.metadata.items()}
    assert list(metadata["dot/failed_assets"]) == [failed]
    assert metadata["dot/failed_error_classes"] == {failed: "DotServerError"}
    assert failure.error is not None and failure.error.cause is not None
    assert failure.error.cause.cls_name == "DotServerError"
    assert counts(metadata) == {"created": 3, "failed": 1}
