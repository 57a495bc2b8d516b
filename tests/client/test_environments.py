"""The configured environment is checked against `GET /api/environments` (documented),
because what Dot does with an unknown `X-Dot-Environment` is not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from dot_orchestration.client import DotClient, DotUnknownEnvironmentError
from dot_orchestration.client._environments import environment_names
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer

from ._support import USER_TOKEN, Control


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
