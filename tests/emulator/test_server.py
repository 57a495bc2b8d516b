"""The server itself: real sockets, free ports, clean shutdown, the command line, reset."""

import signal
import socket
import subprocess
import sys

import httpx
import pytest

from dot_orchestration.cli import build_parser
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorConfig, EmulatorServer

from .conftest import Client


def test_a_server_on_port_zero_serves_on_a_free_port_and_shares_its_state() -> None:
    with EmulatorServer(EmulatorConfig(seed=1), port=0) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        response = httpx.post(f"{server.url}/api/sync/dbt/main", headers={"X-API-KEY": ADMIN_TOKEN})
        assert response.status_code == 200
        assert [record.connection_id for record in server.state.sync_log] == ["main"]
        port = server.port
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/api/auth/me")


def test_two_servers_have_separate_state(dot_emulator: EmulatorServer, client: Client) -> None:
    with EmulatorServer(port=0) as other:
        httpx.post(f"{other.url}/api/sync/dbt/other", headers={"X-API-KEY": ADMIN_TOKEN})
        assert other.port != dot_emulator.port
        assert dot_emulator.state.sync_log == []


def test_a_port_in_use_fails_with_a_plain_os_error(dot_emulator: EmulatorServer) -> None:
    with pytest.raises(OSError):
        EmulatorServer(port=dot_emulator.port).start()


def test_the_command_line_runs_the_emulator_in_the_foreground() -> None:
    command = [sys.executable, "-m", "dot_orchestration.emulator", "--port", "0", "--seed", "5"]
    history = ["--history-days", "2", "--history-end", "2026-01-03", "--history-per-day", "9"]
    process = subprocess.Popen(
        command + history, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        url = banner.split()[4]
        response = httpx.get(f"{url}/api/auth/me", headers={"API-KEY": "dot-emulator-user"})
        assert response.json()["role"] == "user"
        assert "dot-emulator-admin" in process.stdout.readline()
        exported = httpx.get(
            f"{url}/api/export_history",
            params={"start_date": "2025-12-25", "end_date": "2026-01-10"},
            headers={"API-KEY": "dot-emulator-admin"},
        ).json()
        assert exported and {c["created_at"][:10] for c in exported} <= {
            "2026-01-01",
            "2026-01-02",
        }
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0


def test_the_cli_parser_has_the_emulator_options() -> None:
    args = build_parser().parse_args(
        ["emulator", "--port", "9000", "--host", "0.0.0.0", "--seed", "3", "--answer-delay", "2"]
    )
    assert (args.command, args.port, args.host, args.seed, args.answer_delay) == (
        "emulator",
        9000,
        "0.0.0.0",
        3,
        2.0,
    )


def test_reset_returns_to_the_seeded_start(
    dot_emulator: EmulatorServer, api: httpx.Client, control: httpx.Client
) -> None:
    api.post("/api/sync/snowflake/prod")
    api.post("/api/delete_external_asset", params={"asset_id": "looker-dashboard-12"})
    api.post("/api/org_notes", json={"title": "t", "note": "n"})
    control.put("/faults", json={"rules": [{"path": "/api/nothing", "kind": "drop"}]})

    assert control.post("/reset").json() == {"reset": True}

    state = control.get("/state").json()
    assert state["sync_log"] == []
    assets = state["environments"]["production"]["external_assets"]
    assert {asset["id"] for asset in assets} == {"looker-dashboard-12", "looker-dashboard-31"}
    assert state["environments"]["production"]["org_notes"] == []
    assert control.get("/journal").json() == {"entries": []}
    assert control.get("/faults").json()["rules"] == []


def test_reset_keeps_note_ids_deterministic(api: httpx.Client, control: httpx.Client) -> None:
    first = api.post("/api/org_notes", json={"title": "t", "note": "n"}).json()["id"]
    control.post("/reset")
    assert api.post("/api/org_notes", json={"title": "t", "note": "n"}).json()["id"] == first


def test_the_control_plane_is_not_in_the_openapi_schema(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert paths and not [path for path in paths if path.startswith("/_emulator")]
    assert all(path.startswith("/api/") for path in paths)


def test_start_waits_until_connections_are_accepted() -> None:
    server = EmulatorServer(port=0).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=1):
            pass
    finally:
        server.stop()
