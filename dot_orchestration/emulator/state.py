"""`EmulatorState`: the live, in-memory Dot organisation behind one emulator app.

It is both what the routers act on and what tests assert on (`server.state`). Requests are
handled on the server's event loop, one at a time, so the stores need no locks of their own;
the journal and the fault rules, which tests drive while traffic flows, lock internally.
Read the other stores between requests.
"""

import random
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dot_orchestration.emulator.chats import ChatStore
from dot_orchestration.emulator.clock import isoformat_z
from dot_orchestration.emulator.config import EmulatorConfig
from dot_orchestration.emulator.conversation import Chat
from dot_orchestration.emulator.directory import UserDirectory
from dot_orchestration.emulator.environments import EnvironmentBook
from dot_orchestration.emulator.errors import NotFound
from dot_orchestration.emulator.faults import FaultInjector, FaultRule
from dot_orchestration.emulator.history import HistoryGenerator, make_authors
from dot_orchestration.emulator.journal import Journal
from dot_orchestration.emulator.space import ModelSpace

PRODUCTION = "production"


@dataclass(frozen=True)
class SyncRecord:
    """One accepted `POST /api/sync/...` call."""

    connection_type: str
    connection_id: str
    timestamp: datetime
    environment: str | None
    user: str
    auth: str

    def public(self) -> dict[str, Any]:
        """The record as JSON."""
        return {
            "connection_type": self.connection_type,
            "connection_id": self.connection_id,
            "timestamp": isoformat_z(self.timestamp, "microseconds"),
            "environment": self.environment,
            "user": self.user,
            "auth": self.auth,
        }


@dataclass(frozen=True)
class HistoryTruth:
    """What an export of a window must contain: the emulator's ground truth."""

    conversations: int
    messages: int
    chat_ids: tuple[str, ...]


class EmulatorState:
    """Users, environments, chats, history, sync log, journal and faults of one emulator."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.journal = Journal(config.journal_limit)
        self._faults = FaultInjector(config.faults, config.seed)
        self.reset()

    def reset(self) -> None:
        """Back to the seeded start: the config's content, an empty journal, its fault rules."""
        config = self.config
        authors = make_authors(config.seed, config.history_authors, config.workspaces)
        self.history = HistoryGenerator(
            seed=config.seed,
            days=config.history_days,
            conversations_per_day=config.history_conversations_per_day,
            end=config.history_end,
            authors=authors,
            environments=config.environments,
        )
        self.directory = UserDirectory(
            tokens=config.tokens,
            authors=authors,
            default_workspace=self.default_workspace,
            seed=config.seed,
            new_user_role=config.new_user_role,
        )
        note_ids = random.Random(f"dot-emulator-notes:{config.seed}")
        self.spaces: dict[str | None, ModelSpace] = {
            environment: ModelSpace(
                environment,
                seeded_assets=config.external_assets,
                org_note=config.org_note,
                new_note_id=lambda: str(uuid.UUID(int=note_ids.getrandbits(128), version=4)),
            )
            for environment in (None, *config.environments)
        }
        self.environments = EnvironmentBook(self.spaces, config.seed)
        self.chats = ChatStore(
            seed=config.seed,
            answer_delay_s=config.answer_delay_s,
            history=self.history,
            assets=lambda env: [stored.public() for stored in self.space(env).assets()],
            strict=config.strict,
            data=config.data_answers(),
        )
        self.sync_log: list[SyncRecord] = []
        self.journal.clear()
        self._faults.set(config.faults)

    @property
    def default_workspace(self) -> str:
        """The workspace of token users and new users: the first configured one."""
        return self.config.workspaces[0]

    @property
    def faults(self) -> FaultInjector:
        """The live fault rules; assign a list of `FaultRule`s to replace them."""
        return self._faults

    @faults.setter
    def faults(self, rules: Sequence[FaultRule]) -> None:
        self._faults.set(rules)

    def space(self, environment: str | None = None) -> ModelSpace:
        """The model of an environment (None = production); 404 for unknown ids."""
        space = self.spaces.get(environment)
        if space is None:
            known = ", ".join(env.id for env in self.environments.all()) or "none"
            raise NotFound(
                f"Unknown environment {environment!r} (X-Dot-Environment); known: {known}"
            )
        return space

    def record_sync(self, record: SyncRecord) -> None:
        """Log an accepted sync."""
        self.sync_log.append(record)

    def conversations(
        self, start: date, end: date, *, workspace: str | None
    ) -> Iterator[list[Chat]]:
        """The conversations started in `[start, end)`, one list per day, oldest first.

        Every environment's: Dot's chat history is shared across environments, each
        conversation tagged with its own (docs: Environments). Unless `workspace` is None,
        only that workspace's. Live chats are taken now; generated days are produced as
        the iterator advances, so an export never holds more than a day.
        """
        live_by_day = self._live_by_day(start, end, workspace)
        return self._conversations_by_day(start, end, workspace, live_by_day)

    def history_truth(
        self,
        start: date,
        end: date,
        *,
        include_all_workspaces: bool = False,
        workspace: str | None = None,
    ) -> HistoryTruth:
        """What `GET /api/export_history` with these parameters must return.

        `workspace` is the caller's workspace (default: the one token users belong to).
        """
        scope = None if include_all_workspaces else (workspace or self.default_workspace)
        chat_ids: list[str] = []
        messages = 0
        for day in self.conversations(start, end, workspace=scope):
            chat_ids.extend(chat.chat_id for chat in day)
            messages += sum(len(chat.messages) for chat in day)
        return HistoryTruth(len(chat_ids), messages, tuple(chat_ids))

    def snapshot(self) -> dict[str, Any]:
        """Everything but the generated history, as JSON (`GET /_emulator/state`)."""
        org_id = self.config.org_id
        return {
            "org": {"id": org_id, "name": self.config.org_name},
            "users": [user.public(org_id) for user in self.directory.users()],
            "sync_log": [record.public() for record in self.sync_log],
            "environments": {
                environment or PRODUCTION: space.snapshot()
                for environment, space in self.spaces.items()
            },
            "chats": [chat.export_record() for chat in self.chats.live()],
            "history_labels": self.chats.history_label_overlay(),
        }

    def _live_by_day(self, start: date, end: date, workspace: str | None) -> dict[date, list[Chat]]:
        """Live chats of the window, grouped by the UTC day they started."""
        by_day: dict[date, list[Chat]] = defaultdict(list)
        for chat in _matching(self.chats.live(), workspace):
            day = chat.created_at.date()
            if start <= day < end:
                by_day[day].append(chat)
        return by_day

    def _conversations_by_day(
        self,
        start: date,
        end: date,
        workspace: str | None,
        live_by_day: dict[date, list[Chat]],
    ) -> Iterator[list[Chat]]:
        """Merge generated and live conversations day by day."""
        for day in sorted({*self.history.days(start, end), *live_by_day}):
            generated = [
                chat
                for chat in _matching(self.history.conversations_on(day), workspace)
                if not self.chats.is_live(chat.chat_id)
            ]
            for chat in generated:
                chat.add_labels(self.chats.history_labels(chat.chat_id))
            yield sorted([*generated, *live_by_day.get(day, [])], key=lambda c: c.created_at)


def _matching(chats: Iterable[Chat], workspace: str | None) -> Iterator[Chat]:
    """The chats of one workspace (every workspace's when None)."""
    for chat in chats:
        if workspace in (None, chat.workspace):
            yield chat
