"""Dot environments through the client, over real HTTP against the emulator.

The configured environment is checked against `GET /api/environments` (documented),
because what Dot does with an unknown `X-Dot-Environment` is not. The environments API
(create, diff, conflicts, targets, sync_target, merge, delete) documents bodies, not
replies: creates and deletes are verified by listing, and the main flow runs against both
emulator profiles (the strict one answers every write with `null`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from dot_orchestration.client import (
    ChangedFile,
    DotAPIError,
    DotClient,
    DotEffectNotObservedError,
    DotNotFoundError,
    DotOutcomeUnknownError,
    DotServerError,
    DotUnknownEnvironmentError,
    ExternalAsset,
    changed_files,
)
from dot_orchestration.client._environments import environment_names
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer

from ._support import FAST_RETRY, USER_TOKEN, Control


def test_a_listed_environment_passes(make_dot: Callable[..., DotClient], control: Control) -> None:
    make_dot(environment="staging").check_environment()
    [call] = control.calls("/api/environments")
    assert (call["method"], call["status"]) == ("GET", 200)


def test_an_unknown_environment_fails_naming_the_known_ones(
    make_dot: Callable[..., DotClient],
) -> None:
    with pytest.raises(DotUnknownEnvironmentError) as raised:
        make_dot(environment="stagin").check_environment()
    assert raised.value.known == ("staging",)
    message = str(raised.value)
    assert "no environment id 'stagin'" in message and "lists staging" in message
    assert "DOT_ENVIRONMENT" in message


def test_a_token_that_may_not_list_environments_skips_the_check(
    make_dot: Callable[..., DotClient], control: Control
) -> None:
    make_dot(api_token=USER_TOKEN, environment="anything").check_environment()
    assert [call["status"] for call in control.calls("/api/environments")] == [403]


def test_no_environment_means_no_call(make_dot: Callable[..., DotClient], control: Control) -> None:
    make_dot().check_environment()
    assert control.calls("/api/*") == []


@pytest.mark.parametrize(
    ("listed", "names"),
    [
        ([{"id": "env_1", "name": "dev-rick"}], {"env_1": "env_1", "dev-rick": "env_1"}),
        ({"environments": [{"env_id": "e2", "slug": "pr-7"}]}, {"e2": "e2", "pr-7": "e2"}),
        (["staging"], {"staging": "staging"}),
        ([], {}),
        ({"detail": "?"}, None),
        ([{"name": "no id"}], None),
        ("staging", None),
    ],
)
def test_the_undocumented_list_is_read_or_refused(listed: Any, names: Any) -> None:
    assert environment_names(listed) == names


def test_an_environment_name_in_place_of_its_id_is_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch, make_dot: Callable[..., DotClient]
) -> None:
    dot = make_dot(environment="dev-rick")
    monkeypatch.setattr(dot, "list_environments", lambda: [{"id": "env_1", "name": "dev-rick"}])
    with pytest.raises(DotUnknownEnvironmentError, match="'dev-rick' is the name of 'env_1'"):
        dot.check_environment()


def test_an_unknown_environment_header_is_a_404_only_in_the_default_profile(
    dot_emulator: EmulatorServer, strict_dot_emulator: EmulatorServer
) -> None:
    headers = {"X-API-KEY": ADMIN_TOKEN, "X-Dot-Environment": "nope"}
    default = httpx.get(f"{dot_emulator.url}/api/org_notes", headers=headers)
    assert default.status_code == 404  # the default profile's guess
    strict = httpx.get(f"{strict_dot_emulator.url}/api/org_notes", headers=headers)
    assert strict.status_code == 200  # undocumented: the strict profile serves production


# The environments API ------------------------------------------------------------------


@pytest.fixture
def on(any_dot_emulator: EmulatorServer) -> Iterator[Callable[..., DotClient]]:
    """Admin clients on the default, then the strict emulator (`environment=` to scope)."""
    clients: list[DotClient] = []

    def make(environment: str | None = None) -> DotClient:
        client = DotClient(
            api_token=ADMIN_TOKEN,
            base_url=any_dot_emulator.url,
            retry=FAST_RETRY,
            environment=environment,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_a_note_made_in_an_environment_reaches_production_only_by_merge(
    on: Callable[..., DotClient],
) -> None:
    production = on()
    env_id = production.create_environment("dev-rick", color="#3A86E8")
    assert environment_names(production.list_environments())["dev-rick"] == env_id
    in_env = on(environment=env_id)
    in_env.create_org_note("Customer tier", "Gold means > 10k a year")
    [note] = in_env.list_org_notes()
    assert production.list_org_notes() == []

    assert changed_files(production.environment_diff(env_id)) == (
        ChangedFile(f"notes/{note.id}.md", "added"),
    )
    assert changed_files(production.environment_conflicts(env_id)) == ()
    production.merge_environment(env_id)
    assert [(n.id, n.note) for n in production.list_org_notes()] == [(note.id, note.note)]
    assert changed_files(production.environment_diff(env_id)) == ()

    production.delete_environment(env_id)
    assert "dev-rick" not in environment_names(production.list_environments())
    with pytest.raises(DotNotFoundError):
        in_env.environment_diff(env_id)


def test_a_merge_is_refused_while_production_changed_the_same_file(
    on: Callable[..., DotClient],
) -> None:
    production = on()
    env_id = production.create_environment("pr-7")
    asset = ExternalAsset.model_validate(
        {
            name: value
            for name, value in production.list_external_assets()[0].items()
            if name in ExternalAsset.model_fields
        }
    )
    in_env = on(environment=env_id)
    in_env.import_external_asset(asset.model_copy(update={"description": "in the environment"}))
    production.import_external_asset(asset.model_copy(update={"description": "in production"}))

    [conflict] = changed_files(production.environment_conflicts(env_id)) or ()
    assert conflict.path == f"external_assets/{asset.id}.json"
    with pytest.raises(DotAPIError) as refused:
        production.merge_environment(env_id)
    assert refused.value.status_code == 409
    [kept] = [a for a in production.list_external_assets() if a["id"] == asset.id]
    assert kept["description"] == "in production"


def test_every_call_in_an_environment_carries_its_header(
    make_dot: Callable[..., DotClient], control: Control
) -> None:
    env_id = make_dot().create_environment("pr-8")  # and its listing: /api/environments
    in_env = make_dot(environment=env_id)
    in_env.create_org_note("t", "n")
    in_env.list_org_notes()
    in_env.set_environment_targets(env_id, {"snowflake-main": {"schema": "dbt_dev_pr_8"}})
    in_env.sync_environment_target(env_id)
    in_env.environment_diff(env_id)
    in_env.environment_conflicts(env_id)
    in_env.merge_environment(env_id)
    scoped = [call for call in control.calls() if call["path"] != "/api/environments"]
    assert len(scoped) == 7
    assert {call["environment"] for call in scoped} == {env_id}
    # The listing is org-wide on purpose: it must answer for an id Dot no longer has.
    in_env.delete_environment(env_id)
    [listing] = control.calls("/api/environments", "GET")[-1:]
    assert listing["environment"] is None
    assert control.calls("/api/environments/*", "DELETE")[0]["environment"] == env_id


def test_targets_are_sent_as_given_and_synced(
    make_dot: Callable[..., DotClient], dot_emulator: EmulatorServer, control: Control
) -> None:
    dot = make_dot()
    env_id = dot.create_environment("dev")
    targets = {"connection_id": "snowflake-main", "schema": "dbt_dev", "database": "ANALYTICS"}
    dot.set_environment_targets(env_id, targets)
    dot.sync_environment_target(env_id)
    [put] = control.calls(f"/api/environments/{env_id}/targets", "PUT")
    assert put["body"] == targets
    environment = dot_emulator.state.environments.get(env_id)
    assert (environment.targets, environment.target_syncs) == (targets, 1)


def test_a_create_is_not_sent_again_after_a_502(
    make_dot: Callable[..., DotClient], control: Control
) -> None:
    control.inject({"path": "/api/environments", "method": "POST", "status": 502, "phase": "after"})
    with pytest.raises(DotServerError):
        make_dot().create_environment("dev-rick")
    assert len(control.calls("/api/environments", "POST")) == 1
    assert environment_names(make_dot().list_environments())["dev-rick"]  # made once


def test_a_sync_or_merge_that_may_have_reached_dot_is_not_sent_again(
    make_dot: Callable[..., DotClient], control: Control
) -> None:
    dot = make_dot()
    env_id = dot.create_environment("dev")
    dot.set_environment_targets(env_id, {"schema": "dbt_dev"})
    control.inject({"path": "/api/environments/*", "method": "POST", "status": 502})
    with pytest.raises(DotOutcomeUnknownError):
        dot.sync_environment_target(env_id)
    with pytest.raises(DotOutcomeUnknownError):
        dot.merge_environment(env_id)
    assert len(control.calls("/api/environments/*", "POST")) == 2


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/api/environments"), ("DELETE", "/api/environments/*")]
)
def test_a_2xx_that_did_nothing_is_caught_by_the_listing(
    make_dot: Callable[..., DotClient], control: Control, method: str, path: str
) -> None:
    dot = make_dot()
    env_id = dot.create_environment("dev")
    control.inject({"path": path, "method": method, "status": 200})  # answered, not done
    with pytest.raises(DotEffectNotObservedError, match="Manage environments"):
        if method == "POST":
            dot.create_environment("other")
        else:
            dot.delete_environment(env_id)


@pytest.mark.parametrize(
    ("reply", "files"),
    [
        ({"files": [{"path": "a.md", "status": "added"}]}, (ChangedFile("a.md", "added"),)),
        ([{"file": "b.yml", "change": "deleted"}], (ChangedFile("b.yml", "deleted"),)),
        ({"conflicts": ["c.md"]}, (ChangedFile("c.md"),)),
        ({"changes": []}, ()),
        ({"detail": "?"}, None),
        ([{"status": "added"}], None),
        ([3], None),
    ],
)
def test_the_undocumented_diff_is_read_or_refused(reply: Any, files: Any) -> None:
    assert changed_files(reply) == files
