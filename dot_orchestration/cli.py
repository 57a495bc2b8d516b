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


def _run_emulator(args: argparse.Namespace) -> int:
    """Serve the Dot API emulator in the foreground until Ctrl+C."""
    from dot_orchestration.emulator import EmulatorConfig, EmulatorServer

    config = EmulatorConfig(seed=args.seed, answer_delay_s=args.answer_delay)
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


COMMANDS: tuple[Command, ...] = (
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
