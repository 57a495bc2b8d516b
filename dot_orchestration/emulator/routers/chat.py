"""Asking Dot: Dot's 2024 API's asynchronous dialect and the current blocking one.

- `POST /api/ask`, `POST /api/ask_with_history`: store the question and return at once; the
  answer appears on `GET /api/c2/{chat_id}` after `answer_delay_s` (Dot's 2024 API docs'
  script sleeps, then reads the last assistant message's `explanation`).
- `POST /api/agentic`, `POST /api/agentic_with_history`: wait until Dot has answered
  (`answer_delay_s`) and return the whole conversation as a JSON list of messages.

Roles: user for everything here (asking questions and labelling chats is what every Dot
role may do: "User — can chat and ask questions only").
"""

import asyncio
from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel

from dot_orchestration.emulator.auth import Caller, StateDep, UserCaller
from dot_orchestration.emulator.chats import chat_link
from dot_orchestration.emulator.clock import utcnow
from dot_orchestration.emulator.conversation import Chat, Message
from dot_orchestration.emulator.errors import BadRequest
from dot_orchestration.emulator.routers.base import dot_router
from dot_orchestration.emulator.state import EmulatorState

router = dot_router("chat")

AgentMode = Literal["economy", "balanced", "frontier"]


class _NewConversation(BaseModel):
    """A conversation sent whole: the last user message is the question."""

    messages: list[dict[str, Any]]
    chat_id: str


class _FollowUp(BaseModel):
    """One more question in an existing conversation."""

    new_message: dict[str, Any]
    chat_id: str


class AskBody(_NewConversation):
    """Body of `POST /api/ask`."""

    scope: str = ""


class AskWithHistoryBody(_FollowUp):
    """Body of `POST /api/ask_with_history`."""


class AgenticBody(_NewConversation):
    """Body of `POST /api/agentic`."""

    mode: AgentMode | None = None


class AgenticWithHistoryBody(_FollowUp):
    """Body of `POST /api/agentic_with_history`."""

    mode: AgentMode | None = None


class LabelsBody(BaseModel):
    """Body of `POST /api/add_label_to_chat`."""

    chat_id: str
    labels: list[str]


@router.post("/ask", summary="Ask")
async def ask(
    body: AskBody, caller: UserCaller, state: StateDep, request: Request
) -> dict[str, Any]:
    """Start a conversation; answers the conversation so far (without the answer)."""
    chat = state.chats.ask(_new_chat(body, caller), mode=None, web_url=_web_url(request))
    return _conversation(state, chat, request)


@router.post("/ask_with_history", summary="Ask With History")
async def ask_with_history(
    body: AskWithHistoryBody, caller: UserCaller, state: StateDep, request: Request
) -> dict[str, Any]:
    """Add a question to a conversation; answers the conversation so far."""
    web_url = _web_url(request)
    chat = state.chats.follow_up(body.chat_id, body.new_message, mode=None, web_url=web_url)
    return _conversation(state, chat, request)


@router.post("/agentic", summary="Agentic")
async def agentic(
    body: AgenticBody, caller: UserCaller, state: StateDep, request: Request
) -> list[Message]:
    """Start a conversation and wait for Dot's answer; answers the list of messages.

    A `chat_id` Dot already knows continues that conversation with the last user message,
    as Dot's CLI relies on for `--chat` follow-ups (it posts only the new question here).
    """
    web_url = _web_url(request)
    if state.chats.is_live(body.chat_id):
        question = next((m for m in reversed(body.messages) if m.get("role") == "user"), None)
        if question is None:
            raise BadRequest("The conversation has no user message with text content")
        chat = state.chats.follow_up(body.chat_id, question, mode=body.mode, web_url=web_url)
    else:
        chat = state.chats.ask(_new_chat(body, caller), mode=body.mode, web_url=web_url)
    return await _answered(state, chat)


@router.post("/agentic_with_history", summary="Agentic With History")
async def agentic_with_history(
    body: AgenticWithHistoryBody, caller: UserCaller, state: StateDep, request: Request
) -> list[Message]:
    """Add a question, wait for Dot's answer; answers the list of messages."""
    web_url = _web_url(request)
    chat = state.chats.follow_up(body.chat_id, body.new_message, mode=body.mode, web_url=web_url)
    return await _answered(state, chat)


@router.get("/c2/{chat_id}", summary="Load Chat2")
async def load_chat(
    chat_id: str, caller: UserCaller, state: StateDep, request: Request
) -> dict[str, Any]:
    """A conversation with every answer that is ready; 404 for unknown chats."""
    return _conversation(state, state.chats.get(chat_id), request)


@router.post("/add_label_to_chat", summary="Add Label To Chat")
async def add_label_to_chat(
    body: LabelsBody, caller: UserCaller, state: StateDep
) -> dict[str, Any]:
    """Label a conversation (live or from the history); answers its labels."""
    chat = state.chats.add_labels(body.chat_id, body.labels)
    return {"chat_id": chat.chat_id, "labels": list(chat.labels)}


def _new_chat(body: _NewConversation, caller: Caller) -> Chat:
    """A conversation started through the API by the caller, in the caller's environment."""
    first_question = next(
        (m.get("content") for m in body.messages if m.get("role") == "user"), None
    )
    return Chat(
        chat_id=body.chat_id,
        created_at=utcnow(),
        author_email=caller.user.email,
        author_name=caller.user.realname,
        workspace=caller.user.workspace,
        environment=caller.environment,
        channel="api",
        title=str(first_question or "")[:80],
        messages=list(body.messages),
    )


async def _answered(state: EmulatorState, chat: Chat) -> list[Message]:
    """Wait as long as Dot thinks, then the conversation including the answer."""
    await asyncio.sleep(state.config.answer_delay_s)
    return state.chats.finish(chat.chat_id).messages


def _web_url(request: Request) -> str:
    """Where this Dot's app is: the host the caller reached."""
    return str(request.base_url).rstrip("/")


def _conversation(state: EmulatorState, chat: Chat, request: Request) -> dict[str, Any]:
    """The `c2` view of a conversation: `{"messages": [...]}` as Dot's docs show it; the
    default profile adds the chat's id, title, labels, link and suggested follow-ups."""
    if state.config.strict:
        return {"messages": chat.messages}
    return {
        "chat_id": chat.chat_id,
        "title": chat.title,
        "messages": chat.messages,
        "labels": list(chat.labels),
        "dot_url": chat_link(_web_url(request), chat.chat_id),
        "suggested_follow_ups": list(chat.suggested_follow_ups),
    }
