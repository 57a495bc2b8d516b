"""Dot environments in the emulator: copy-on-write branches of the model (org note, notes,
external assets) with a diff against their fork point, conflicts with production, merge and
delete, spoken over raw HTTP (docs: Environments, "For coding agents: CLI & API")."""

from typing import Any

import httpx

from dot_orchestration.emulator import ADMIN_TOKEN, MODELER_TOKEN, EmulatorServer

from .conftest import Client

ENV = "X-Dot-Environment"


def create(api: httpx.Client, name: str, **body: Any) -> str:
    response = api.post("/api/environments", json={"name": name, **body})
    assert response.status_code == 200, response.text
    env_id: str = response.json()["id"]
    return env_id


def diff(api: httpx.Client, env_id: str) -> dict[str, str]:
    files = api.get(f"/api/environments/{env_id}/diff").json()["files"]
    return {file["path"]: file["status"] for file in files}


def conflicts(api: httpx.Client, env_id: str) -> list[dict[str, str]]:
    reply: list[dict[str, str]] = api.get(f"/api/environments/{env_id}/conflicts").json()[
        "conflicts"
    ]
    return reply


def test_a_new_environment_is_listed_and_starts_as_production(api: httpx.Client) -> None:
    env_id = create(api, "dev-rick", color="#3A86E8")
    listed = {env["id"]: env for env in api.get("/api/environments").json()}
    assert set(listed) == {"staging", env_id}
    assert (listed[env_id]["name"], listed[env_id]["color"]) == ("dev-rick", "#3A86E8")
    assert diff(api, env_id) == {}
    assets = api.get("/api/external_assets").json()
    assert api.get("/api/external_assets", headers={ENV: env_id}).json() == assets


def test_the_diff_marks_each_file_added_modified_or_deleted(api: httpx.Client) -> None:
    env_id = create(api, "pr-1")
    first, second = api.get("/api/external_assets").json()[:2]
    scoped = {"headers": {ENV: env_id}}
    note = api.post("/api/org_notes", json={"title": "t", "note": "n"}, **scoped).json()
    changed = {"id": first["id"], "subtype": first["subtype"], "name": "Renamed"}
    api.post("/api/import_and_overwrite_external_asset", json={"external_asset": changed}, **scoped)
    api.post("/api/delete_external_asset", params={"asset_id": second["id"]}, **scoped)
    api.post("/api/save_note", json={"note": "env wide"}, **scoped)
    assert diff(api, env_id) == {
        f"notes/{note['id']}.md": "added",
        f"external_assets/{first['id']}.json": "modified",
        f"external_assets/{second['id']}.json": "deleted",
        "org_note.md": "added",
    }
    assert api.get("/api/org_notes").json() == []  # production untouched


def test_a_change_made_only_in_production_is_neither_diff_nor_conflict(api: httpx.Client) -> None:
    env_id = create(api, "pr-2")
    api.post("/api/org_notes", json={"title": "prod", "note": "p"})
    ours = api.post("/api/org_notes", json={"title": "env", "note": "e"}, headers={ENV: env_id})
    assert list(diff(api, env_id)) == [f"notes/{ours.json()['id']}.md"]
    assert conflicts(api, env_id) == []
    assert api.post(f"/api/environments/{env_id}/merge", json={"confirm": True}).status_code == 200
    assert {note["title"] for note in api.get("/api/org_notes").json()} == {"prod", "env"}
    assert diff(api, env_id) == {}


def test_a_conflict_blocks_the_merge_until_both_sides_agree(api: httpx.Client) -> None:
    env_id = create(api, "pr-3")
    asset = api.get("/api/external_assets").json()[0]
    path = f"external_assets/{asset['id']}.json"

    def rename(name: str, **headers: str) -> None:
        body = {"external_asset": {"id": asset["id"], "subtype": asset["subtype"], "name": name}}
        api.post("/api/import_and_overwrite_external_asset", json=body, headers=headers)

    rename("env name", **{ENV: env_id})
    rename("prod name")
    assert conflicts(api, env_id) == [
        {"path": path, "production": "modified", "environment": "modified"}
    ]
    refused = api.post(f"/api/environments/{env_id}/merge", json={"confirm": True})
    assert refused.status_code == 409 and path in refused.json()["detail"]
    rename("prod name", **{ENV: env_id})  # the environment takes production's version
    assert conflicts(api, env_id) == []
    assert api.post(f"/api/environments/{env_id}/merge", json={"confirm": True}).status_code == 200


def test_a_fork_of_an_environment_carries_its_unmerged_changes(api: httpx.Client) -> None:
    parent = create(api, "parent")
    note = api.post("/api/org_notes", json={"title": "t", "note": "n"}, headers={ENV: parent})
    child = create(api, "child", source_env_id=parent)
    assert diff(api, child) == {f"notes/{note.json()['id']}.md": "added"}
    unknown_source = {"name": "x", "source_env_id": "nope"}
    assert api.post("/api/environments", json=unknown_source).status_code == 404


def test_targets_and_target_syncs_are_kept(api: httpx.Client) -> None:
    env_id = create(api, "dev")
    refused = api.post(f"/api/environments/{env_id}/sync_target")
    assert refused.status_code == 400  # nothing to sync from yet
    targets = {"snowflake-main": {"database": "ANALYTICS", "schema": "dbt_dev"}}
    assert api.put(f"/api/environments/{env_id}/targets", json=targets).json()["targets"] == targets
    synced = api.post(f"/api/environments/{env_id}/sync_target").json()
    assert synced["target_syncs"] == 1 and synced["last_synced_at"]


def test_merge_and_delete_need_their_confirmation_and_merge_an_admin(
    api: httpx.Client, client: Client
) -> None:
    env_id = create(api, "pr-4")
    merge = f"/api/environments/{env_id}/merge"
    assert api.post(merge, json={}).status_code == 400
    assert client(MODELER_TOKEN).post(merge, json={"confirm": True}).status_code == 403
    assert api.delete(f"/api/environments/{env_id}").status_code == 400
    assert api.delete(f"/api/environments/{env_id}", params={"confirm": "true"}).json() == {
        "deleted": env_id
    }
    assert [env["id"] for env in api.get("/api/environments").json()] == ["staging"]
    assert api.get("/api/org_notes", headers={ENV: env_id}).status_code == 404
    assert api.get(f"/api/environments/{env_id}/diff").status_code == 404


def test_a_taken_name_is_a_conflict(api: httpx.Client) -> None:
    create(api, "dev")
    assert api.post("/api/environments", json={"name": "dev"}).status_code == 409


def test_the_strict_profile_answers_writes_with_null(strict_dot_emulator: EmulatorServer) -> None:
    with httpx.Client(base_url=strict_dot_emulator.url, headers={"X-API-KEY": ADMIN_TOKEN}) as api:
        assert api.post("/api/environments", json={"name": "dev"}).json() is None
        [env] = [env for env in api.get("/api/environments").json() if env["name"] == "dev"]
        assert set(env) == {"id", "name"}
        path = f"/api/environments/{env['id']}"
        assert api.put(f"{path}/targets", json={"schema": "dev"}).json() is None
        assert api.post(f"{path}/merge", json={"confirm": True}).json() is None
        assert api.delete(path, params={"confirm": "true"}).json() is None
        # A deleted id in the header: ignored, production served (the strict guess).
        assert api.get("/api/org_notes", headers={ENV: env["id"]}).status_code == 200
