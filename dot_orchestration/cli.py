"""`dot-orchestration`: the package's command line.

Every subcommand is a `Command` (name, help, its arguments, its handler) in `COMMANDS`; add
one by appending to that tuple. Handlers import what they run lazily, so `--help` stays
fast and `dot-orchestration emulator` never imports Dagster.
"""

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dot_orchestration.emulator import EmulatorServer


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


def _dev_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `dot-orchestration dev`."""
    parser.add_argument("--port", type=int, default=3000, help="port of the Dagster UI")


def _run_dev(args: argparse.Namespace) -> int:
    """The Dagster UI on the demo's setup, with the emulator running beside it.

    Uses the same `.demo/` instance and DuckDB file as `make demo`, so the runs, assets and
    syncs of the last demo are what the UI shows first.
    """
    import os
    import subprocess

    from dot_orchestration.definitions import REPO_ROOT, ExampleSettings
    from dot_orchestration.demo import running_emulators

    settings = ExampleSettings.from_env()
    os.environ.setdefault("DOT_DAGSTER_UI_URL", f"http://localhost:{args.port}")
    with running_emulators(settings):
        dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
        command = [dagster, "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-p", str(args.port)]
        with contextlib.suppress(KeyboardInterrupt):
            return subprocess.call(command, cwd=REPO_ROOT)
    return 0


def _refresh_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `dot-orchestration refresh-exposures`."""
    parser.add_argument("--state", default=None, help="state file (default: DOT_EXPOSURES_STATE)")
    parser.add_argument("--connection-id", default=None, help="only this Dot connection")


def _run_refresh_exposures(args: argparse.Namespace) -> int:
    """Fetch Dot's dbt exposures into the state file the definitions read at load time.

    Configured like the code location (`DOT_API_KEY`, `DOT_REGION`/`DOT_BASE_URL`, ...), so
    a deployment runs it at build time and ships the file with the code.
    """
    import os
    from pathlib import Path

    from dot_orchestration.client import DotError
    from dot_orchestration.definitions import ExampleSettings
    from dot_orchestration.dot_exposures import refresh_dot_exposures
    from dot_orchestration.resources import DotResource

    state = Path(args.state) if args.state else ExampleSettings.from_env().exposures_state
    resource = DotResource.from_env(os.environ).process_config_and_initialize()
    try:
        with resource.get_client() as client:
            print(refresh_dot_exposures(client, state, connection_id=args.connection_id).summary())
    except (DotError, ValueError) as error:
        print(f"refresh-exposures failed: {error}", file=sys.stderr)
        return 1
    return 0


COMMANDS: tuple[Command, ...] = (
    Command(
        "dev",
        "open the Dagster UI on the demo setup, with the Dot emulator running",
        _dev_arguments,
        _run_dev,
    ),
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
