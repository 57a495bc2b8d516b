"""Bad configuration and bad answers: each fails with its exact error class, writes nothing.

Each row of `CASES` is one thing a deployment meets: an expired token, or one whose role is
too low (Dot's roles are admin, modeler and user; syncs need an admin), a proxy's HTML page
(on a sync: outcome unknown, never re-sent), a truncated body, an answer of the wrong shape,
a mistyped setting (an environment Dot does not list). It runs one pipeline step against the
emulator (through a shape-changing proxy where the emulator cannot produce the answer) and
is judged twice, by separate tests reading one outcome: the Dagster failure names the exact
error class (in the step failure's error chain, a resource's setup failure, or the exception
raised to the caller), and Dot was left exactly as it was (no write call succeeded, same
state) with no file written and no token in the error.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInvalidConfigError, ExecuteInProcessResult
from dagster_shared.error import SerializableErrorInfo
from pydantic import ValidationError

from dot_orchestration.client.errors import (
    DotAuthError,
    DotConfigError,
    DotOutcomeUnknownError,
    DotPermissionError,
    DotResponseError,
    DotServerError,
    DotUnknownEnvironmentError,
)
from dot_orchestration.emulator import EXPIRED_TOKEN, MODELER_TOKEN, USER_TOKEN
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer
from dot_orchestration.resources import DotResource
from dot_orchestration.transforms.catalogue import UnreadableListingError

from ._end_state import normalised_dot_state
from ._pipeline import (
    CANARY_TOKEN,
    CATALOGUE,
    EXPOSURES,
    NO_LOG_CAPTURE,
    NOTES,
    SYNCS,
    Deployment,
    PipelineStep,
    World,
    deployed,
    deployment_env,
    dot_run_config,
    environment,
)
from ._proxy import AnsweringProxy, CannedAnswer
from ._traffic import Control

#: Variables read when the definitions load (not `EnvVar`s): changing one means loading
#: the definitions again, as a redeploy would.
LOAD_TIME_VARIABLES = frozenset(
    {"DOT_AUTH_MODE", "DOT_USER_ID", "DOT_ENVIRONMENT", "DOT_ENVIRONMENT_NAME", "DOT_REGION"}
)
FAST_RETRIES = dot_run_config(initial_backoff_s=0.01, max_backoff_s=0.05)
EVERY_CALL = "/api/*"


@dataclass(frozen=True)
class BadInput:
    """One bad configuration or answer, the step it hits, and the error it must raise."""

    name: str
    step: PipelineStep
    expected: type[BaseException]
    env: Mapping[str, str] = field(default_factory=dict)
    faults: tuple[dict[str, Any], ...] = ()
    answers: Mapping[tuple[str, str], CannedAnswer] = field(default_factory=dict)
    run_config: Mapping[str, Any] | None = None


def html_page(status: int) -> dict[str, Any]:
    return {"kind": "malformed", "malformed": "html", "status": status}


def truncated(method: str, path: str) -> dict[str, Any]:
    return {"method": method, "path": path, "kind": "malformed", "malformed": "truncated_json"}


def json_answer(value: Any) -> CannedAnswer:
    return CannedAnswer(200, json.dumps(value).encode())


CASES = (
    BadInput(
        "expired token (401) on the syncs",
        SYNCS,
        DotAuthError,
        env={"DOT_API_KEY": EXPIRED_TOKEN},
    ),
    BadInput(
        "expired token (401) on the exposures snapshot",
        EXPOSURES,
        DotAuthError,
        env={"DOT_API_KEY": EXPIRED_TOKEN},
    ),
    BadInput(
        "user token (403) on the syncs",
        SYNCS,
        DotPermissionError,
        env={"DOT_API_KEY": USER_TOKEN},
    ),
    BadInput(
        "modeler token (403) on the syncs: Dot lets only admins sync",
        SYNCS,
        DotPermissionError,
        env={"DOT_API_KEY": MODELER_TOKEN},
    ),
    BadInput(
        "user token (403) on the catalogue's imports",
        CATALOGUE,
        DotPermissionError,
        env={"DOT_API_KEY": USER_TOKEN},
    ),
    BadInput(
        "proxy's HTML 502 page on every call, after the retries",
        EXPOSURES,
        DotServerError,
        faults=({"path": EVERY_CALL, **html_page(502)},),
        run_config=FAST_RETRIES,
    ),
    BadInput(
        "proxy's HTML 502 page on the syncs: outcome unknown, not re-sent",
        SYNCS,
        DotOutcomeUnknownError,
        faults=({"path": EVERY_CALL, **html_page(502)},),
        run_config=FAST_RETRIES,
    ),
    BadInput(
        "HTML login page with status 200",
        EXPOSURES,
        DotResponseError,
        faults=({"path": EVERY_CALL, **html_page(200)},),
    ),
    BadInput(
        "truncated JSON listing of external assets",
        CATALOGUE,
        DotResponseError,
        faults=(truncated("GET", "/api/external_assets"),),
    ),
    BadInput(
        "truncated JSON listing of org notes",
        NOTES,
        DotResponseError,
        faults=(truncated("GET", "/api/org_notes"),),
    ),
    BadInput(
        "external-asset listing of the wrong type",
        CATALOGUE,
        UnreadableListingError,
        answers={("GET", "/api/external_assets"): json_answer({"assets": "all of them"})},
    ),
    BadInput(
        "org-note listing of the wrong type",
        NOTES,
        DotResponseError,
        answers={("GET", "/api/org_notes"): json_answer({"notes": [{"id": 7}]})},
    ),
    BadInput(
        "dbt exposures of the wrong type",
        EXPOSURES,
        ValueError,
        answers={("GET", "/api/dbt/exposures"): json_answer(["orders", "customers"])},
    ),
    BadInput(
        "token with a trailing newline (read from a file)",
        SYNCS,
        DotConfigError,
        env={"DOT_API_KEY": CANARY_TOKEN + "\n"},
    ),
    BadInput(
        "base URL ending in /api",
        SYNCS,
        DotConfigError,
        env={"DOT_BASE_URL": "{dot}/api"},
    ),
    BadInput(
        "unknown Dot environment (not in GET /api/environments)",
        EXPOSURES,
        DotUnknownEnvironmentError,
        env={"DOT_ENVIRONMENT": "nowhere"},
    ),
    BadInput(
        "max_attempts of the wrong type in run config",
        SYNCS,
        DagsterInvalidConfigError,
        run_config=dot_run_config(max_attempts="five"),
    ),
    BadInput(
        "URL auth without DOT_USER_ID",
        SYNCS,
        ValidationError,
        env={"DOT_AUTH_MODE": "url"},
    ),
)

CASE_IDS = [case.name for case in CASES]


@dataclass
class CaseOutcome:
    """What one bad input did: whether the step ran green, the error classes Dagster (or
    the caller) saw, their full text, and what Dot and the deployment looked like."""

    succeeded: bool
    error_classes: set[str]
    error_text: str
    successful_writes: list[dict[str, Any]]
    dot_before: dict[str, Any]
    dot_after: dict[str, Any]
    files_written: list[str]


def info_chain(info: SerializableErrorInfo | None) -> Iterator[SerializableErrorInfo]:
    """An error info and its causes and contexts, depth first."""
    if info is None:
        return
    yield info
    yield from info_chain(info.cause)
    yield from info_chain(info.context)


def exception_chain(error: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def failure_infos(result: ExecuteInProcessResult) -> list[SerializableErrorInfo]:
    """Every error info the run recorded, with its chain: step failures', and those of
    engine events (a resource that failed to set up, e.g. the environment check)."""
    return [
        info
        for event in result.all_events
        if isinstance(
            error := getattr(event.event_specific_data, "error", None), SerializableErrorInfo
        )
        for info in info_chain(error)
    ]


def run_step(deployment: Deployment, case: BadInput) -> tuple[bool, set[str], str]:
    """Run the case's step; (succeeded, error class names, error text)."""
    try:
        result = case.step.run(deployment.defs, deployment.instance, case.run_config)
    except Exception as error:  # raised to the caller, e.g. invalid run config
        return False, {type(e).__name__ for e in exception_chain(error)}, _text(error)
    infos = failure_infos(result)
    return result.success, {i.cls_name or "" for i in infos}, "\n".join(map(str, infos))


def _text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


@pytest.fixture(scope="module")
def shared(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One deployment for the cases that change only `EnvVar`s, read at run time."""
    home = tmp_path_factory.mktemp("bad_input")
    with deployed(
        home, deployment_env(home, world), instance_overrides=NO_LOG_CAPTURE
    ) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def outcomes(
    shared: Deployment,
    world: World,
    wiki_emulator: ConfluenceEmulatorServer,
    _control_plane: Control,
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[BadInput], CaseOutcome]:
    """Each case's outcome, computed once: both tests of a case judge the same run."""
    cache: dict[str, CaseOutcome] = {}

    def outcome(case: BadInput) -> CaseOutcome:
        if case.name not in cache:
            _control_plane.reset()
            wiki_emulator.state.reset()
            home = tmp_path_factory.mktemp("case")
            cache[case.name] = run_case(case, shared, world, _control_plane, home)
        return cache[case.name]

    return outcome


def run_case(
    case: BadInput, shared: Deployment, world: World, control: Control, home: Path
) -> CaseOutcome:
    """Set the bad input up, run the step, and record what happened."""
    before = control.state()
    if case.faults:
        control.set_faults(case.faults, seed=0)
    with ExitStack() as stack:
        dot_url = world.dot
        if case.answers:
            dot_url = stack.enter_context(AnsweringProxy(world.dot, case.answers)).url
        env = {**deployment_env(shared.settings.demo_home, world), "DOT_BASE_URL": dot_url}
        env |= {name: value.format(dot=dot_url) for name, value in case.env.items()}
        succeeded, classes, text = run_in(stack, case, env, shared, home)
    after = control.state()
    state_file = shared.settings.exposures_state
    written = [str(p) for p in (state_file, home / state_file.name) if p.exists()]
    return CaseOutcome(
        succeeded,
        classes,
        text,
        control.traffic().successful_writes(),
        normalised_dot_state(before),
        normalised_dot_state(after),
        written,
    )


def run_in(
    stack: ExitStack, case: BadInput, env: dict[str, str], shared: Deployment, home: Path
) -> tuple[bool, set[str], str]:
    """Run in the shared deployment, or in a fresh one when the definitions must load again."""
    if not LOAD_TIME_VARIABLES & case.env.keys():
        stack.enter_context(environment(env))
        return run_step(shared, case)
    try:
        fresh = deployed(
            home, {**env, "DOT_DEMO_HOME": str(home)}, instance_overrides=NO_LOG_CAPTURE
        )
        deployment = stack.enter_context(fresh)
    except Exception as error:  # the definitions refused to load
        return False, {type(e).__name__ for e in exception_chain(error)}, _text(error)
    return run_step(deployment, case)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_the_failure_names_the_exact_error_class(
    case: BadInput, outcomes: Callable[[BadInput], CaseOutcome]
) -> None:
    outcome = outcomes(case)
    assert not outcome.succeeded, f"{case.name}: the step succeeded"
    assert case.expected.__name__ in outcome.error_classes, (
        f"{case.name}: expected {case.expected.__name__}, Dagster saw {outcome.error_classes}"
    )


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_nothing_is_written_and_no_token_is_shown(
    case: BadInput, outcomes: Callable[[BadInput], CaseOutcome]
) -> None:
    outcome = outcomes(case)
    assert not outcome.succeeded, f"{case.name}: the step succeeded"
    assert outcome.successful_writes == [], f"{case.name}: Dot accepted writes"
    assert outcome.dot_after == outcome.dot_before, f"{case.name}: Dot's state changed"
    assert outcome.files_written == [], f"{case.name}: wrote {outcome.files_written}"
    for token in (CANARY_TOKEN, EXPIRED_TOKEN, MODELER_TOKEN, USER_TOKEN):
        assert token not in outcome.error_text, f"{case.name}: the error shows a token"


@pytest.mark.parametrize(
    "settings",
    [{"auth_mode": "url"}, {"max_attempts": "five"}, {"max_backoff_s": 999}],
    ids=["url auth without user_id", "wrong type", "backoffs out of order"],
)
def test_a_literal_token_shows_in_no_resource_error_nor_repr(
    settings: dict[str, Any], world: World
) -> None:
    """A token passed as a value (`os.environ[...]` in code) rather than an `EnvVar`: the
    validation error would quote the start of the input, a repr the whole of it."""
    token = "dot-" + "5f2c9a7e" * 4  # shaped like a real one: everything after dot- is secret
    with pytest.raises(ValidationError) as refused:
        DotResource(api_token=token, base_url=world.dot, **settings)
    accepted = DotResource(api_token=token, base_url=world.dot)
    for text in (str(refused.value), repr(refused.value), repr(accepted), str(accepted)):
        assert "5f2c9a" not in text
