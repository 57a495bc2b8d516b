"""The catalogue rules without HTTP: file validation, ownership, content hash, the plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from dot_orchestration.client import ExternalAsset
from dot_orchestration.transforms.catalogue import (
    CatalogueError,
    Change,
    DesiredAsset,
    UnreadableListingError,
    collect_desired,
    content_hash,
    load_catalogue,
    parse_listed_assets,
    plan_reconcile,
    unobserved_writes,
)

EXAMPLE_CATALOGUE = Path(__file__).resolve().parents[2] / "examples" / "dot_catalogue.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dot_catalogue.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def owned(asset_id: str, **fields: object) -> DesiredAsset:
    return DesiredAsset(ExternalAsset(id=f"dagster:{asset_id}", subtype="app", **fields), "test")


def plan_actions(desired: list[DesiredAsset], current: list[ExternalAsset], **kw: object) -> dict:
    plan = plan_reconcile(desired, current, id_prefix="dagster:", **kw)  # type: ignore[arg-type]
    return {change.asset_id: change.action for change in plan.changes}


def test_the_example_catalogue_loads_with_timestamps_as_written() -> None:
    assets = load_catalogue(EXAMPLE_CATALOGUE)

    assert [a.id for a in assets] == [
        "metabase-daily-revenue",
        "streamlit-customer-lookup",
        "hex-order-funnel",
    ]
    assert assets[0].last_accessed_at == "2025-01-06T09:12:00Z"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("- id: sales\n    name: Sales", "entry 2 (id 'sales'): field 'subtype': Field required"),
        (
            "- id: sales\n    subtype: app\n    nmae: Sales",
            "entry 2 (id 'sales'): field 'nmae': unknown field; Dot's ExternalAsset has id, "
            "subtype",
        ),
        ("- id: ok\n    subtype: app", "entry 2 repeats id 'ok' of entry 1"),
        ("- id: '  '\n    subtype: app", "entry 2 (id '  '): field 'id': must not be blank"),
        ("- id: x\n    subtype: app\n    view_count: many", "field 'view_count'"),
        ("- just a string", "entry 2 must be a mapping of fields"),
    ],
)
def test_an_invalid_entry_is_named_with_file_entry_and_field(
    tmp_path: Path, entry: str, expected: str
) -> None:
    path = write(tmp_path, f"external_assets:\n  - id: ok\n    subtype: app\n  {entry}\n")

    with pytest.raises(CatalogueError) as raised:
        load_catalogue(path)

    assert str(raised.value).startswith(f"catalogue {path}: ")
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- id: x\n  subtype: app\n", "expected a mapping with the single key `external_assets:`"),
        ("external_assets: [\n", "not valid YAML"),
        ("external_assets: {id: x}\n", "expected a list of assets, got dict"),
    ],
)
def test_a_malformed_file_says_what_shape_is_expected(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(CatalogueError, match=r"catalogue .*dot_catalogue\.yaml") as raised:
        load_catalogue(write(tmp_path, text))
    assert expected in str(raised.value)


def test_source_ids_move_into_the_owned_namespace_once() -> None:
    desired = collect_desired(
        [
            (
                "a",
                [
                    ExternalAsset(id="x", subtype="app"),
                    ExternalAsset(id="dagster:y", subtype="app"),
                ],
            )
        ],
        id_prefix="dagster:",
    )

    assert [d.asset.id for d in desired] == ["dagster:x", "dagster:y"]


def test_an_id_from_two_sources_names_both() -> None:
    with pytest.raises(CatalogueError, match="'dagster:x' comes from both catalogue a and hook b"):
        collect_desired(
            [
                ("catalogue a", [ExternalAsset(id="x", subtype="app")]),
                ("hook b", [ExternalAsset(id="dagster:x", subtype="app")]),
            ],
            id_prefix="dagster:",
        )


def test_the_hash_counts_unset_fields_as_dots_defaults() -> None:
    declared = ExternalAsset(id="a", subtype="app", view_count=None)
    listed = ExternalAsset(id="a", subtype="app", view_count=0, active=True)

    assert content_hash(declared) == content_hash(listed)
    assert content_hash(declared) != content_hash(declared.model_copy(update={"name": "A"}))


def test_the_plan_creates_updates_skips_and_deactivates_only_owned_ids() -> None:
    current = [
        ExternalAsset(id="dagster:same", subtype="app"),
        ExternalAsset(id="dagster:changed", subtype="app", name="old"),
        ExternalAsset(id="dagster:gone", subtype="app"),
        ExternalAsset(id="dagster:gone-earlier", subtype="app", active=False),
        ExternalAsset(id="looker-dashboard-12", subtype="looker_dashboard"),
        ExternalAsset(id="hand-made", subtype="app"),
    ]
    desired = [owned("same"), owned("changed", name="new"), owned("new")]

    assert plan_actions(desired, current) == {
        "dagster:changed": "update",
        "dagster:gone": "deactivate",
        "dagster:new": "create",
        "dagster:same": "unchanged",
    }


def test_deactivation_keeps_what_dot_knows_and_sets_active_false() -> None:
    listed = ExternalAsset(id="dagster:gone", subtype="app", name="Gone", url="https://x")

    (change,) = plan_reconcile([], [listed], id_prefix="dagster:").writes

    assert change.asset == listed.model_copy(update={"active": False})


@pytest.mark.parametrize(("policy", "action"), [("delete", "delete"), ("keep", "keep")])
def test_the_removal_policy_decides_what_happens_to_a_removed_asset(
    policy: str, action: str
) -> None:
    current = [ExternalAsset(id="dagster:gone", subtype="app", active=False)]

    assert plan_actions([], current, on_removed=policy) == {"dagster:gone": action}


def test_a_blank_prefix_is_refused_because_it_would_own_everything() -> None:
    with pytest.raises(ValueError, match="id_prefix must not be blank"):
        plan_reconcile([], [], id_prefix="")


def test_the_listing_keeps_only_the_fields_of_the_spec() -> None:
    listing = {
        "external_assets": [
            {"id": "a", "subtype": "app", "source": "looker", "updated_at": "now", "folder": None}
        ]
    }

    assert parse_listed_assets(listing) == [ExternalAsset(id="a", subtype="app")]
    with pytest.raises(UnreadableListingError, match="neither a list"):
        parse_listed_assets({"items": []})


def test_unobserved_writes_name_what_dot_lists_instead() -> None:
    sent = ExternalAsset(id="dagster:a", subtype="looker_dashboard", name="Revenue")
    changes = [
        Change("create", sent, "catalogue", content_hash(sent)),
        Change("update", sent.model_copy(update={"id": "dagster:b"}), "catalogue", "x"),
        Change(
            "deactivate", sent.model_copy(update={"id": "dagster:c", "active": False}), None, ""
        ),
        Change("delete", sent.model_copy(update={"id": "dagster:d"}), None, ""),
    ]
    listed = [
        sent.model_copy(update={"name": "Revenue (old)"}),  # a: not what was sent
        sent.model_copy(update={"id": "dagster:d"}),  # d: still there; b and c: absent
    ]

    assert unobserved_writes(changes, listed) == {
        "dagster:a": "the asset with other values in name ('Revenue (old)', sent 'Revenue')",
        "dagster:b": "no asset with this id",
        "dagster:d": "the asset still listed",
    }  # c: no longer listed counts as deactivated
