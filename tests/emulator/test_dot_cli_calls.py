"""The calls Dot's own CLI makes (`dot "question"`, `dot "..." --chat <id>`), replayed.

Dot's CLI page (integrations/cli.md) documents the commands; the CLI's source (getdot,
`src/ask.mjs`, `src/http.mjs`) shows the wire: `POST /api/agentic` with `X-API-KEY`,
`X-Requested-With: XMLHttpRequest` and `X-Response-Format: cli`, a body of
`{messages, chat_id, skip_check}` with a `cli-…` chat id, and a follow-up that posts only
the new question under the same chat id. It prints the last assistant message: its text
parts, the assets its other parts name (`additional_data.assets[key]`), `dot_url`, the
chat id and `suggested_follow_ups`. `cli_output` below is that printing, in Python.
"""

from typing import Any

import httpx

from dot_orchestration.emulator import USER_TOKEN, EmulatorServer

CLI_HEADERS = {
    "Content-Type": "application/json",
    "X-API-KEY": USER_TOKEN,
    "X-Response-Format": "cli",
    "X-Requested-With": "XMLHttpRequest",
}


def cli_ask(server: EmulatorServer, question: str, chat_id: str, *, follow_up: bool) -> Any:
    body = {"messages": [{"role": "user", "content": question}], "chat_id": chat_id}
    response = httpx.post(
        f"{server.url}/api/agentic",
        json={**body, "skip_check": follow_up},
        headers=CLI_HEADERS,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def cli_output(result: Any, chat_id: str) -> list[str]:
    """What `formatOutput` in Dot's CLI prints for an `/api/agentic` reply."""
    assert isinstance(result, list), "the CLI refuses anything but a list of messages"
    last = next(m for m in reversed(result) if m.get("role") == "assistant")
    data = last.get("additional_data") or {}
    assets, lines = data.get("assets") or {}, []
    for item in data.get("formatted_result") or []:
        kind, ref = item["type"], item.get("data")
        if kind == "text":
            lines.append(ref)
        elif kind == "dataframe" and ref in assets:
            asset = assets[ref]
            lines += [f"SQL Query: {asset['sql_query']}", f"Data {asset['shape']}"]
        elif kind == "chart" and ref in assets:
            lines.append(assets[ref]["interpretation"])
    if not data.get("formatted_result") and last.get("content"):
        lines.append(last["content"])
    if data.get("dot_url"):
        lines.append(f"Open in Dot: {data['dot_url']}")
    lines.append(f"Use --chat {data.get('chat_id') or chat_id} for follow-up questions")
    lines += [f"  - {s}" for s in last.get("suggested_follow_ups") or []]
    return lines


def test_dots_cli_asks_and_follows_up(any_dot_emulator: EmulatorServer) -> None:
    chat_id = "cli-m1abc2d-x4y5z6"
    first = cli_output(
        cli_ask(any_dot_emulator, "What were total sales last month?", chat_id, follow_up=False),
        chat_id,
    )
    assert "revenue" in first[0].lower()
    assert first[1].startswith("SQL Query: select") and first[2] == "Data [4, 2]"
    assert first[4] == f"Open in Dot: {any_dot_emulator.url}/?c={chat_id}"
    assert first[5] == f"Use --chat {chat_id} for follow-up questions"
    assert first[6].startswith("  - ")

    result = cli_ask(any_dot_emulator, "Now break down by region", chat_id, follow_up=True)
    second = cli_output(result, chat_id)
    assert [m["role"] for m in result] == ["user", "assistant", "user", "assistant"]
    assert "region" in second[0].lower() and "revenue" in second[0].lower()  # context kept
    assert second[0] != first[0]
    entries = httpx.get(f"{any_dot_emulator.url}/_emulator/journal").json()["entries"]
    assert [(e["path"], e["auth"], e["status"]) for e in entries] == [
        ("/api/agentic", "x-api-key", 200),
        ("/api/agentic", "x-api-key", 200),
    ]
