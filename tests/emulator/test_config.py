"""`EmulatorConfig` refuses configurations Dot could not have."""

import pytest
from pydantic import ValidationError

from dot_orchestration.emulator import DEFAULT_TOKENS, EmulatorConfig, Role, TokenSpec


def test_the_defaults_match_the_contract() -> None:
    config = EmulatorConfig()
    assert config.answer_delay_s == 0.5
    assert config.environments == ["staging"]
    assert config.dbt_models == ["customers", "orders", "daily_revenue"]
    assert [(t.token, t.role, t.expired) for t in DEFAULT_TOKENS] == [
        ("dot-emulator-admin", Role.admin, False),
        ("dot-emulator-modeler", Role.modeler, False),
        ("dot-emulator-user", Role.user, False),
        ("dot-emulator-expired", Role.admin, True),
    ]


def test_production_is_not_an_environment_id() -> None:
    with pytest.raises(ValidationError, match="production"):
        EmulatorConfig(environments=["production"])


def test_a_user_has_one_role_whatever_token_they_use() -> None:
    tokens = [
        TokenSpec(token="dot-a", email="x@example.com", role=Role.admin),
        TokenSpec(token="dot-b", email="X@example.com", role=Role.user),
    ]
    with pytest.raises(ValidationError, match="two different roles"):
        EmulatorConfig(tokens=tokens)


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ValidationError):
        EmulatorConfig(answer_delay=1)  # type: ignore[call-arg]
