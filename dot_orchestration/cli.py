"""`dot-orchestration`: the package's command line.

Every subcommand is a `Command` (name, help, its arguments, its handler) in `COMMANDS`; add
one by appending to that tuple. Handlers import what they run lazily, so `--help` stays
fast and the emulators never import Dagster. Commands take explicit paths or environment
variables and never import the example code location (`examples/`), which is not part of
the installed package.
"""

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dot_orchestration.emulator import EmulatorServer
    from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer


@dataclass(frozen=True)
class Command:
    """One subcommand of `dot-orchestration`."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _emulator_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `dot-orchestration emulator`."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    parser.add_argument("--seed", type=int, default=0, help="seed of all generated data")
    parser.add_argument(
        "--answer-delay",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="how long Dot takes to answer a question",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="serve only what Dot's documentation describes (no guessed endpoints or fields)",
    )
    parser.add_argument(
        "--sync-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="how long a warehouse sync takes to answer",
    )
    data = parser.add_argument_group("answers that follow the data")
    data.add_argument(
        "--answer-rules",
        type=Path,
        default=None,
        metavar="FILE",
        help="YAML or JSON rules: a question matching a rule's pattern is answered by its SQL",
    )
    data.add_argument(
        "--answer-warehouse",
        type=Path,
        default=None,
        metavar="DUCKDB_FILE",
        help="the DuckDB file the rules query (opened read-only per answer)",
    )
    history = parser.add_argument_group("generated conversation history")
    history.add_argument("--history-days", type=int, default=365, help="days of history")
    history.add_argument(
        "--history-per-day", type=float, default=20.0, help="conversations per average day"
    )
    history.add_argument(
        "--history-end",
        type=date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="first day after the history (default: today, UTC)",
    )


def _run_emulator(args: argparse.Namespace) -> int:
    """Serve the Dot API emulator in the foreground until Ctrl+C."""
    from dot_orchestration.emulator import EmulatorConfig, EmulatorServer

    config = EmulatorConfig(
        seed=args.seed,
        answer_delay_s=args.answer_delay,
        history_days=args.history_days,
        history_conversations_per_day=args.history_per_day,
        history_end=args.history_end,
        strict=args.strict,
        sync_delay_s=args.sync_delay,
        answer_warehouse=args.answer_warehouse,
        answer_rules=args.answer_rules or [],
    )
    server = EmulatorServer(config, host=args.host, port=args.port, verbose=True)
    # uvicorn shuts down gracefully on Ctrl+C, then re-raises it: here it is the normal stop.
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(on_ready=_announce_emulator)
    return 0


def _announce_emulator(server: "EmulatorServer") -> None:
    """Tell the user where the emulator listens and which tokens it accepts."""
    print(f"Dot API emulator on {server.url}  (API: /api, docs: /docs, control: /_emulator)")
    for spec in server.config.tokens:
        suffix = "  (expired)" if spec.expired else ""
        print(f"  token {spec.token:<24} {spec.role.value:<8} {spec.email}{suffix}")
    sys.stdout.flush()


#: Where `refresh-exposures` writes when `--state` is not given.
EXPOSURES_STATE_VAR = "DOT_EXPOSURES_STATE"


def _refresh_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `dot-orchestration refresh-exposures`."""
    parser.add_argument(
        "--state",
        default=None,
        metavar="PATH",
        help=f"the state file your code location loads (default: ${EXPOSURES_STATE_VAR})",
    )
    parser.add_argument("--connection-id", default=None, help="only this Dot connection")


def _run_refresh_exposures(args: argparse.Namespace) -> int:
    """Fetch Dot's dbt exposures into the state file the definitions read at load time.

    For code locations built in Python (`build_dot_catalogue_definitions` with an
    `ExposuresSettings(state_path=...)`), which `dg utils refresh-defs-state` does not
    reach: it refreshes only components (a `DotComponent` without `state_path` keeps the
    exposures in Dagster's defs state instead). Configured like the code location
    (`DOT_API_KEY`, `DOT_REGION`/`DOT_BASE_URL`, ...), so a deployment runs it at build
    time and ships the file with the code. The file is the one the code location reads, so
    there is no default here: a guessed path would be written and never read.
    """
    import os
    from pathlib import Path

    from dot_orchestration.catalogue_runs import refresh_dot_exposures
    from dot_orchestration.client import DotError
    from dot_orchestration.resources import DotResource

    target = args.state or os.environ.get(EXPOSURES_STATE_VAR)
    if not target:
        print(
            "refresh-exposures: no state file given; pass --state PATH or set "
            f"{EXPOSURES_STATE_VAR} to the file your code location reads (its "
            "ExposuresSettings.state_path)",
            file=sys.stderr,
        )
        return 2
    state = Path(target)
    resource = DotResource.from_env(os.environ).process_config_and_initialize()
    try:
        with resource.get_client() as client:
            print(refresh_dot_exposures(client, state, connection_id=args.connection_id).summary())
    except (DotError, ValueError) as error:
        print(f"refresh-exposures failed: {error}", file=sys.stderr)
        return 1
    return 0


def _confluence_emulator_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `dot-orchestration confluence-emulator`."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8766, help="port (0 picks a free one)")


def _run_confluence_emulator(args: argparse.Namespace) -> int:
    """Serve the Confluence emulator (seeded pages, two users) in the foreground."""
    from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer

    server = ConfluenceEmulatorServer(host=args.host, port=args.port, verbose=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(on_ready=_announce_confluence_emulator)
    return 0


def _announce_confluence_emulator(server: "ConfluenceEmulatorServer") -> None:
    """Tell the user where the site is, who can log in, and which pages it holds."""
    state = server.state
    print(f"Confluence emulator on {server.url}  (REST v2: /api/v2, v1 and CQL: /rest/api)")
    for user in state.config.users:
        print(
            f"  login {user.email:<22} api token {user.api_token:<28} "
            f"Data Center PAT {user.personal_access_token:<24} {user.display_name}"
        )
    first = state.config.users[0]
    print(
        f"  e.g. CONFLUENCE_BASE_URL={server.url} CONFLUENCE_EMAIL={first.email} "
        f"CONFLUENCE_API_TOKEN={first.api_token}"
    )
    for space in state.spaces():
        print(f"  space {space.key:<6} {space.name}")
        for page in (p for p in state.pages() if p.space_key == space.key):
            only = f"  (only {', '.join(sorted(page.restricted_to))})" if page.restricted_to else ""
            print(f"    page {page.id:<8} {page.title}{only}")
    sys.stdout.flush()


COMMANDS: tuple[Command, ...] = (
    Command(
        "refresh-exposures",
        "fetch Dot's dbt exposures into the state file the definitions load",
        _refresh_arguments,
        _run_refresh_exposures,
    ),
    Command(
        "emulator",
        "run the local Dot API emulator in the foreground",
        _emulator_arguments,
        _run_emulator,
    ),
    Command(
        "confluence-emulator",
        "run the local Confluence emulator (seeded pages, two users) in the foreground",
        _confluence_emulator_arguments,
        _run_confluence_emulator,
    ),
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of `COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="dot-orchestration", description="Run Dot (getdot.ai) operations."
    )
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        subparser = subcommands.add_parser(command.name, help=command.help)
        command.add_arguments(subparser)
        subparser.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dot-orchestration` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
