"""A warm `dbt` for the test session: dbt imported once, then every `dbt` call forked from it.

Every dbt call of the suite used to pay for importing dbt (~3.5 s of CPU, most of it
mashumaro building dbt's schemas) before parsing or building anything, and the suite makes
dozens (each dagster-dbt build is two: `dbt --version`, then the build). Here one server
process per session imports, when its first client connects, the console entry point `dbt`
runs (`dbt = dbt.cli.main:cli`) and the adapters; a tiny client named `dbt`, first on the
session's `PATH` and chosen by `DOT_DEMO_DBT_EXECUTABLE`, asks it to fork a child per call.

Why this is still the real dbt: the child runs the installed `dbt` console entry point
with the client's argv, in the client's working directory, with its environment and umask,
writing to the client's own stdin/stdout/stderr (passed over a Unix socket), and exits as a
`dbt` process exits (the interpreter's own shutdown: threads joined, `atexit` run, streams
flushed), its exit status becoming the client's. Only the imports happened before the fork,
in a process started like the console script (same interpreter, `sys.path` and session
environment) that had run no dbt code but its imports and holds no threads; beside the
imports, the server fills two caches dbt fills lazily, per class, the same way in every call
(`warm_caches`), so each child finds them filled instead of filling them again. dbt reads its
settings from the environment when it runs, not when imported (the package hub's URL is the
one import-time read). What differs: the child's parent is the server, not the caller, and
what the interpreter fixed at start (flags, hash seed, stdio encoding) is the server's.

The client forwards SIGINT/SIGTERM to the child (dagster-dbt stops a build with SIGINT),
and the server kills the child when the client goes away, as a killed process group would.
Without a server (none started, or gone) the client runs the real `dbt` executable instead.
The server exits when the session closes its stdin, even if the session was killed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import importlib
import io
import json
import os
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import FrameType
from typing import NoReturn

#: What dbt imports for the calls the suite makes (`build`, `run`, `parse`, `ls`) beyond its
#: entry point: the DuckDB adapter and the build task's modules (the postgres adapter too,
#: where installed). Imported once by the server instead of by each child.
PRELOAD = ("dbt.adapters.duckdb", "dbt.task.build", "dbt.task.list", "dbt.compilation")
OPTIONAL_PRELOAD = ("dbt.adapters.postgres",)

#: dbt's classes whose JSON schema dbt builds to validate what it reads (project, profile,
#: selectors, node configs): the schemas of the suite's builds, parses and listings.
#: Building them cost each build ~0.7 CPU s and each full parse ~2.3 s. A name this dbt
#: does not have is skipped: a missing schema is built by the child, as without the server.
SCHEMAS = (
    "dbt.adapters.duckdb.credentials:DuckDBCredentials",
    "dbt.adapters.postgres.connections:PostgresCredentials",
    "dbt.artifacts.resources.v1.components:Contract",
    "dbt.artifacts.resources.v1.config:TestConfig",
    "dbt.artifacts.resources.v1.model:ModelConfig",
    "dbt.artifacts.resources.v1.seed:SeedConfig",
    "dbt.artifacts.resources.v1.source_definition:SourceConfig",
    "dbt.contracts.graph.nodes:GenericTestNode",
    "dbt.contracts.graph.nodes:ModelNode",
    "dbt.contracts.graph.nodes:SeedNode",
    "dbt.contracts.graph.unparsed:UnparsedModelUpdate",
    "dbt.contracts.graph.unparsed:UnparsedNodeUpdate",
    "dbt.contracts.graph.unparsed:UnparsedSourceDefinition",
    "dbt.contracts.project:Configuration",
    "dbt.contracts.project:PackageConfig",
    "dbt.contracts.project:ProfileConfig",
    "dbt.contracts.project:Project",
    "dbt.contracts.project:ProjectFlags",
    "dbt.contracts.selection:SelectorFile",
    "dbt.task.test:TestResultData",
)

#: Largest request (argv, working directory, environment) the server reads.
MAX_REQUEST = 1 << 20
#: The server's first answer: the child runs. Then the child's exit code, as text.
STARTED = b"started"
#: What the client forwards to the child.
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: Set for the session (and what it starts) to the warm client, when the session runs one.
SESSION_CLIENT = "DOT_TESTS_WARM_DBT"
#: The example's choice of dbt (`dot_demo.definitions.dbt_executable`).
EXAMPLE_DBT = "DOT_DEMO_DBT_EXECUTABLE"


@dataclass(frozen=True)
class WarmDbt:
    """A running server, its folder, and its client (`<folder>/bin/dbt`)."""

    server: subprocess.Popen[bytes]
    folder: Path
    client: Path

    def stop(self) -> None:
        """Close the server's stdin (it kills what still runs, and exits), wait for it,
        remove its folder. A server that died before is an error: dbt then ran cold."""
        died = self.server.poll()
        if self.server.stdin is not None:
            self.server.stdin.close()
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()
        log = (self.folder / "server.log").read_text(errors="replace")
        shutil.rmtree(self.folder, ignore_errors=True)
        if died is not None:
            raise RuntimeError(f"the warm dbt server exited early ({died}):\n{log}")


def start_for_session() -> WarmDbt:
    """Start a server and make its client the `dbt` of this process and of every process
    it starts: first on `PATH` (dagster-dbt's default `dbt`) and the example's choice."""
    warm = start(Path(tempfile.mkdtemp(prefix="warm-dbt-")))
    os.environ[SESSION_CLIENT] = os.environ[EXAMPLE_DBT] = str(warm.client)
    os.environ["PATH"] = f"{warm.client.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return warm


def real_dbt() -> Path:
    """The `dbt` console script installed beside this interpreter."""
    return Path(sys.executable).with_name("dbt")


def start(folder: Path) -> WarmDbt:
    """Start a server listening in `folder` and write its client.

    The socket listens before the server imports dbt: a client that connects meanwhile
    waits in the backlog rather than paying for the import itself.
    """
    socket_path = folder / "dbt.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with listener:
        listener.bind(str(socket_path))
        listener.listen(128)
        with (folder / "server.log").open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, __file__, "serve", str(listener.fileno()), str(real_dbt())],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
                pass_fds=[listener.fileno()],
                start_new_session=True,  # a Ctrl-C of the session reaches the callers only
            )
    client = write_client(folder / "bin", socket_path, real_dbt())
    return WarmDbt(server=server, folder=folder, client=client)


def write_client(folder: Path, socket_path: Path, dbt: Path) -> Path:
    """An executable `dbt` in `folder` asking the server at `socket_path` to run dbt, and
    becoming the executable `dbt` when no server answers."""
    folder.mkdir(parents=True, exist_ok=True)
    client = folder / "dbt"
    # -I -S: the client needs the standard library only, and starts in a few milliseconds.
    client.write_text(
        f"#!{sys.executable} -IS\n"
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from _warm_dbt import run_client\n"
        f"run_client({str(socket_path)!r}, {str(dbt)!r})\n"
    )
    client.chmod(0o755)
    return client


# The client ----------------------------------------------------------------------------


def run_client(socket_path: str, dbt: str) -> NoReturn:
    """Have the server run dbt with this process's argv, cwd, environment and stdio;
    exit as the child exited. Runs the real `dbt` at `dbt` when no server answers."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        conn.connect(socket_path)
    except OSError:
        os.execv(dbt, [dbt, *sys.argv[1:]])
    umask = os.umask(0)
    os.umask(umask)
    request = {"argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ), "umask": umask}
    socket.send_fds(conn, [json.dumps(request).encode()], [_open_fd(fd) for fd in (0, 1, 2)])

    def forward(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(OSError):  # the child is done already
            conn.send(str(signum).encode())

    for signum in FORWARDED_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:  # as dbt would ignore it
            signal.signal(signum, forward)
    if conn.recv(64) != STARTED:  # the server went away before forking: no dbt ran
        os.execv(dbt, [dbt, *sys.argv[1:]])
    reply = conn.recv(64)
    if not reply:
        sys.exit("warm dbt: the server went away while dbt ran")
    code = int(reply)
    if code < 0:  # killed by a signal: be killed by it too, for the caller to see
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


def _open_fd(fd: int) -> int:
    """`fd`, or `/dev/null` in its place when the caller closed it."""
    try:
        os.fstat(fd)
    except OSError:
        return os.open(os.devnull, os.O_RDWR)
    return fd


# The server ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One dbt call, as a client made it."""

    argv: list[str]
    cwd: str
    env: dict[str, str]
    umask: int


class _Server:
    """One thread, no threads started: forking is safe. A select loop over the listener,
    the clients' connections, the session's stdin and SIGCHLD (through a wakeup pipe)."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.selector = selectors.DefaultSelector()
        self.wakeup_r, self.wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_w, False)
        signal.set_wakeup_fd(self.wakeup_w)
        signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)  # wakes the selector
        self.selector.register(listener, selectors.EVENT_READ)
        self.selector.register(sys.stdin.fileno(), selectors.EVENT_READ)
        self.selector.register(self.wakeup_r, selectors.EVENT_READ)
        #: Each client's connection and its child (None until the request came).
        self.clients: dict[socket.socket, int | None] = {}
        #: Each running child and its client's connection (None once the client left).
        self.children: dict[int, socket.socket | None] = {}

    def run(self) -> Request | None:
        """Serve until the session closes stdin (None). Returns a request in a child."""
        while True:
            for key, _events in self.selector.select():
                if key.fileobj is self.listener:
                    conn, _address = self.listener.accept()
                    self.clients[conn] = None
                    self.selector.register(conn, selectors.EVENT_READ)
                elif key.fileobj == self.wakeup_r:
                    os.read(self.wakeup_r, 4096)
                    self.reap()
                elif key.fileobj == sys.stdin.fileno():
                    if not os.read(sys.stdin.fileno(), 4096):
                        self.shutdown()
                        return None
                else:
                    assert isinstance(key.fileobj, socket.socket)
                    request = self.on_message(key.fileobj)
                    if request is not None:
                        return request

    def on_message(self, conn: socket.socket) -> Request | None:
        """A request (fork; the child gets it back), a signal for the child, or the
        client gone (its child is killed)."""
        try:
            data, fds, _flags, _address = socket.recv_fds(conn, MAX_REQUEST, 3)
        except OSError:
            data, fds = b"", []
        pid = self.clients[conn]
        if pid is None and len(fds) == 3:
            pid = os.fork()
            if pid == 0:
                return self.become_child(conn, data, fds)
            for fd in fds:
                os.close(fd)
            self.clients[conn] = pid
            self.children[pid] = conn
            with contextlib.suppress(OSError):
                conn.send(STARTED)
        elif data and pid in self.children:
            os.kill(pid, int(data))
        elif not data:
            if pid in self.children:
                os.kill(pid, signal.SIGKILL)
                self.children[pid] = None
            self.drop(conn)
        return None

    def reap(self) -> None:
        """Collect every child that exited and tell its client how."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.send(str(os.waitstatus_to_exitcode(status)).encode())
                self.drop(conn)

    def drop(self, conn: socket.socket) -> None:
        self.selector.unregister(conn)
        del self.clients[conn]
        conn.close()

    def shutdown(self) -> None:
        """The session ended: nothing may outlive it."""
        for pid in self.children:
            os.kill(pid, signal.SIGKILL)

    def become_child(self, conn: socket.socket, data: bytes, fds: list[int]) -> Request:
        """In the forked child: drop the server's signal handling and files, take the
        client's stdio, working directory, umask and environment."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # As in a Python process started with them not ignored, whatever the server inherited.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        self.selector.close()
        self.listener.close()
        for client in self.clients:
            client.close()
        os.close(self.wakeup_r)
        os.close(self.wakeup_w)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        assert isinstance(sys.stdout, io.TextIOWrapper)
        sys.stdout.reconfigure(line_buffering=sys.stdout.isatty())  # as at a start on a tty
        fields = json.loads(data)
        request = Request(
            argv=fields["argv"], cwd=fields["cwd"], env=fields["env"], umask=fields["umask"]
        )
        os.chdir(request.cwd)
        os.umask(request.umask)
        os.environ.clear()
        os.environ.update(request.env)
        time.tzset()
        return request


def serve(listener_fd: int, dbt: str) -> None:
    """The server's life: wait for a first client (a session that runs no dbt imports
    none), import, serve; in each forked child, run dbt and exit."""
    listener = socket.socket(fileno=listener_fd)
    ready, _, _ = select.select([listener, sys.stdin], [], [])
    if listener not in ready:  # the session ended first
        return
    sys.path[0] = str(Path(dbt).parent)  # the console script's folder, not this file's
    (entry,) = entry_points(group="console_scripts", name="dbt")
    cli = entry.load()
    for module in PRELOAD:
        importlib.import_module(module)
    for module in OPTIONAL_PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    warm_caches()
    if threading.active_count() != 1:
        raise RuntimeError("importing dbt started a thread: forking would not be safe")
    gc.freeze()  # the imported objects stay shared with the children (copy-on-write)
    sys.stdout.flush()
    sys.stderr.flush()
    request = _Server(listener).run()
    if request is not None:
        sys.argv = request.argv
        sys.exit(cli())  # the console script's line


def warm_caches() -> None:
    """Fill, once, what dbt computes lazily per class and keeps for the process, and what
    every call computed again: the JSON schemas of `SCHEMAS` (`json_schema`, cached per
    class) and the dict codecs mashumaro compiles on a class's first `from_dict` or
    `to_dict` (dbt's classes compile lazily: ~0.85 CPU s of each build). Each codec is
    compiled by its own lazy stub, called as dbt's first call would; the call itself then
    fails on the empty input, which is all it was for. ~5 s once, for ~1-3 s per call."""
    from dbt_common.dataclass_schema import dbtClassMixin

    for name in SCHEMAS:
        module, _, qualname = name.partition(":")
        with contextlib.suppress(ImportError, AttributeError):
            getattr(importlib.import_module(module), qualname).json_schema()
    for cls in _dataclass_subclasses(dbtClassMixin):
        with contextlib.suppress(Exception):
            cls.from_dict({})
        with contextlib.suppress(Exception):
            cls.to_dict(object.__new__(cls))


def _dataclass_subclasses(base: type) -> set[type]:
    """Every dataclass below `base`, among the classes imported so far."""
    found: set[type] = set()
    pending = [base]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                pending.append(sub)
    return {cls for cls in found if dataclasses.is_dataclass(cls)}


if __name__ == "__main__":
    if sys.argv[1:2] != ["serve"]:
        sys.exit("usage: _warm_dbt.py serve LISTENER_FD DBT")
    serve(int(sys.argv[2]), sys.argv[3])
