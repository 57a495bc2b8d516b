"""Dot's own example scripts (from a copy of Dot's 2024 API docs page) run unmodified
against the emulator: only their constants (base URL, token, chat id) are replaced."""

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dot_orchestration.emulator import EmulatorServer

DOCS_2024 = Path(__file__).parents[1] / "fixtures" / "dot_reference" / "dot-api-docs-page-2024.txt"
LABEL_HEADING = "Example of Python script to add labels to a conversation\n"
ASK_HEADING = "Example of Python script to ask a question to Dot and follow up\n"
CONFLUENCE_HEADING = "Example of Python script to sync a confluence page to the note\n"


@pytest.fixture(scope="module")
def docs_2024() -> str:
    return DOCS_2024.read_text()


def script_between(text: str, heading: str, next_heading: str) -> str:
    return text.split(heading, 1)[1].split(next_heading, 1)[0]


def with_constants(script: str, **constants: str) -> str:
    """The script with each `NAME = ...` line replaced; nothing else changes."""
    for name, value in constants.items():
        script, count = re.subn(rf"^{name} = .*$", f"{name} = {value!r}", script, flags=re.M)
        assert count == 1, name
    return script


def run(script: str, tmp_path: Path, name: str) -> subprocess.Popen[str]:
    path = tmp_path / f"{name}.py"
    path.write_text(script)
    env = os.environ | {"NO_PROXY": "127.0.0.1,localhost"}
    return subprocess.Popen(
        [sys.executable, str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_dots_example_scripts_work_against_the_emulator(
    dot_emulator: EmulatorServer, api: httpx.Client, docs_2024: str, tmp_path: Path
) -> None:
    api.post("/api/ask", json={"messages": [{"role": "user", "content": "q"}], "chat_id": "c-9"})
    label = with_constants(
        script_between(docs_2024, LABEL_HEADING, ASK_HEADING),
        BASE_URL=dot_emulator.url,
        API_TOKEN="dot-emulator-user",
        CHAT_ID="c-9",
    )
    ask = with_constants(
        script_between(docs_2024, ASK_HEADING, CONFLUENCE_HEADING),
        BASE_URL=f"{dot_emulator.url}/api",
        API_KEY="dot-emulator-user",
    )
    label_run, ask_run = run(label, tmp_path, "label"), run(ask, tmp_path, "ask")
    label_output, _ = label_run.communicate(timeout=60)
    ask_output, _ = ask_run.communicate(timeout=60)

    assert label_run.returncode == 0, label_output
    assert "Successfully added labels to chat." in label_output
    assert dot_emulator.state.chats.get("c-9").labels == ["your_label"]

    assert ask_run.returncode == 0, ask_output
    assert "Error" not in ask_output, ask_output
    chat_id = re.search(r"Chat ID: (\S+)", ask_output).group(1)  # type: ignore[union-attr]
    chat = dot_emulator.state.chats.get(chat_id)
    answers = [m["explanation"] for m in chat.messages if m["role"] == "assistant"]
    assert len(answers) == 2
    assert ask_output.count("=== ANSWER ===") == 2
    assert all(answer in ask_output for answer in answers)
    assert "Conversation complete!" in ask_output


CURRENT = DOCS_2024.with_name("dot-docs-use-cases-and-scripts.md")


def test_the_current_docs_ask_script_works_against_both_profiles(
    any_dot_emulator: EmulatorServer, tmp_path: Path
) -> None:
    """The current page's script reads the answer by Dot's rule (text parts, else content),
    never `explanation`, so it also proves the strict profile answers as documented."""
    page = CURRENT.read_text()
    script = page.split("```python\n")[2].split("```", 1)[0]
    assert "def answer_text(messages):" in script
    ask = with_constants(
        script, BASE_URL=f"{any_dot_emulator.url}/api", API_KEY="dot-emulator-user"
    )
    ask_run = run(ask, tmp_path, "current_ask")
    output, _ = ask_run.communicate(timeout=60)

    assert ask_run.returncode == 0, output
    assert output.count("=== ANSWER ===") == 2, output
    assert "No answer yet" not in output and "Error" not in output
    chat_id = re.search(r"Chat ID: (\S+)", output).group(1)  # type: ignore[union-attr]
    chat = any_dot_emulator.state.chats.get(chat_id)
    answers = [m["content"] for m in chat.messages if m["role"] == "assistant"]
    assert len(answers) == 2 and all(answer in output for answer in answers)
