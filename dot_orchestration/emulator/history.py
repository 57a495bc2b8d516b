"""The generated conversation history behind `GET /api/export_history`.

A year of a busy organisation is hundreds of thousands of messages; it is never held in
memory. Each UTC day's conversations are generated on demand from `(seed, day)` alone, so
any window can be produced (and re-produced identically) day by day, and a chat id found
in an export can be looked up again: ids are `YYYYMMDD-NNNN-xxxxxx` (day, index within the
day, random tag).

The history covers the `days` days before `end` (exclusive): no conversation lies in the
future. Conversation counts follow the week (weekdays busier than weekends) around the
configured daily average; authors are a fixed pool where a few people ask most questions.
What an export looks like is documented with the `Chat` record in `conversation.py`.
"""

import itertools
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from dot_orchestration.emulator.answers import answer_text, question_text, random_topic
from dot_orchestration.emulator.clock import utc_today
from dot_orchestration.emulator.conversation import Chat, Message
from dot_orchestration.emulator.models import Role
from dot_orchestration.emulator.vocabulary import (
    CHANNEL_WEIGHTS,
    CHANNELS,
    FIRST_NAMES,
    LABELS,
    LAST_NAMES,
    REVIEW_LABELS,
    REVIEW_REASONS,
    REVIEW_WEIGHTS,
)

_SECONDS_PER_DAY = 86_400
# Monday..Sunday; the mean is 1.0, so the configured average holds over a week.
_WEEKDAY_WEIGHTS = (1.2, 1.2, 1.2, 1.2, 1.2, 0.5, 0.5)
_MAX_TURNS = 8
_FOLLOW_UP_PROBABILITY = 0.55
_PRODUCTION_SHARE = 0.92
_CHAT_ID = re.compile(r"^(\d{8})-(\d{4})-[0-9a-f]{6}$")


@dataclass(frozen=True)
class Author:
    """A person in the organisation who asks Dot questions."""

    email: str
    realname: str
    workspace: str
    role: Role


def make_authors(seed: int, count: int, workspaces: Sequence[str]) -> list[Author]:
    """`count` distinct people; most work in the first workspace, about one in ten models."""
    rng = random.Random(f"dot-emulator-authors:{seed}")
    names = [(first, last) for first in FIRST_NAMES for last in LAST_NAMES]
    rng.shuffle(names)
    authors = []
    for index in range(count):
        first, last = names[index % len(names)]
        suffix = str(index // len(names) or "")
        home = workspaces[0] if rng.random() < 0.6 else rng.choice(workspaces)
        role = Role.modeler if rng.random() < 0.1 else Role.user
        email = f"{first}.{last}{suffix}@example.com".lower()
        authors.append(Author(email, f"{first} {last}", home, role))
    return authors


class HistoryGenerator:
    """Generates the history one UTC day at a time, deterministically from the seed."""

    def __init__(
        self,
        *,
        seed: int,
        days: int,
        conversations_per_day: float,
        end: date | None,
        authors: Sequence[Author],
        environments: Sequence[str],
    ) -> None:
        self._seed = seed
        self._days = days
        self._per_day = conversations_per_day
        self._end = end
        self._authors = list(authors)
        # A few power users ask most questions (Zipf-like weights).
        self._author_weights = list(
            itertools.accumulate(1.0 / (rank + 1) for rank in range(len(self._authors)))
        )
        self._environments = list(environments)

    def window(self) -> tuple[date, date]:
        """First day with history, and the exclusive end (default: today, UTC)."""
        end = self._end or utc_today()
        return end - timedelta(days=self._days), end

    def days(self, start: date, end: date) -> Iterator[date]:
        """The days of `[start, end)` that have history."""
        first, last = self.window()
        day = max(start, first)
        while day < min(end, last):
            yield day
            day += timedelta(days=1)

    def conversations_on(self, day: date) -> list[Chat]:
        """All conversations started on `day` (UTC), oldest first; [] outside the window."""
        first, end = self.window()
        if not first <= day < end:
            return []
        rng = random.Random(f"dot-emulator-history:{self._seed}:{day.isoformat()}")
        expected = self._per_day * _WEEKDAY_WEIGHTS[day.weekday()]
        count = round(expected * rng.uniform(0.7, 1.3))
        drafts = sorted((self._draft(rng) for _ in range(count)), key=lambda d: d.start)
        midnight = datetime.combine(day, time(), tzinfo=timezone.utc)
        prefix = day.strftime("%Y%m%d")
        return [
            draft.build(f"{prefix}-{index:04d}-{draft.tag}", midnight, day.isoformat())
            for index, draft in enumerate(drafts)
        ]

    def find(self, chat_id: str) -> Chat | None:
        """The generated conversation with this id, if it is one."""
        match = _CHAT_ID.match(chat_id)
        if match is None:
            return None
        try:
            day = datetime.strptime(match.group(1), "%Y%m%d").date()
        except ValueError:
            return None
        chats = self.conversations_on(day)
        index = int(match.group(2))
        if index < len(chats) and chats[index].chat_id == chat_id:
            return chats[index]
        return None

    def _draft(self, rng: random.Random) -> "_Draft":
        """Draw one conversation's content and timing (its id comes after sorting the day)."""
        author = rng.choices(self._authors, cum_weights=self._author_weights)[0]
        topic = random_topic(rng)
        turns = 1
        while turns < _MAX_TURNS and rng.random() < _FOLLOW_UP_PROBABILITY:
            turns += 1
        script: list[tuple[int, str, str]] = []
        offset = 0
        for turn in range(turns):
            script.append((offset, "user", question_text(rng, topic, follow_up=turn > 0)))
            offset += rng.randint(4, 90)
            script.append((offset, "assistant", answer_text(rng, topic)))
            offset += rng.randint(15, 900)
        verdict = rng.choices(REVIEW_LABELS, weights=REVIEW_WEIGHTS)[0]
        return _Draft(
            tag=f"{rng.getrandbits(24):06x}",
            start=_start_second(rng, duration=script[-1][0]),
            author=author,
            environment=self._environment(rng),
            channel=rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0],
            labels=rng.sample(LABELS, rng.choice((1, 1, 2))) if rng.random() < 0.3 else [],
            verdict=verdict,
            reason=rng.choice(REVIEW_REASONS[verdict]),
            script=script,
        )

    def _environment(self, rng: random.Random) -> str | None:
        """Mostly production (None); some conversations happen in another environment."""
        if not self._environments or rng.random() < _PRODUCTION_SHARE:
            return None
        return rng.choice(self._environments)


def _start_second(rng: random.Random, *, duration: int) -> int:
    """When in the day a conversation starts: mostly working hours, always ending that day."""
    if rng.random() < 0.8:
        start = rng.randint(7 * 3600, 19 * 3600)
    else:
        start = rng.randrange(_SECONDS_PER_DAY)
    return min(start, _SECONDS_PER_DAY - 1 - duration)


@dataclass(frozen=True)
class _Draft:
    """A generated conversation before it has its id."""

    tag: str
    start: int
    author: Author
    environment: str | None
    channel: str
    labels: list[str]
    verdict: str
    reason: str
    script: list[tuple[int, str, str]]

    def build(self, chat_id: str, midnight: datetime, day_iso: str) -> Chat:
        """The conversation, with message timestamps formatted without datetime arithmetic."""
        messages: list[Message] = [
            {
                "id": f"{chat_id}-{position}",
                "role": role,
                "content": content,
                "created_at": _stamp(day_iso, self.start + offset),
            }
            for position, (offset, role, content) in enumerate(self.script)
        ]
        return Chat(
            chat_id=chat_id,
            created_at=midnight + timedelta(seconds=self.start),
            author_email=self.author.email,
            author_name=self.author.realname,
            workspace=self.author.workspace,
            environment=self.environment,
            channel=self.channel,
            title=self.script[0][2][:80],
            messages=messages,
            labels=list(self.labels),
            auto_review_label=self.verdict,
            auto_review_reason=self.reason,
        )


def _stamp(day_iso: str, second: int) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` for a second of the day (the same format as `isoformat_z`)."""
    hours, rest = divmod(second, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{day_iso}T{hours:02d}:{minutes:02d}:{seconds:02d}Z"
