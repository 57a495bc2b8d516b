"""A Dot conversation ("chat") and the record `GET /api/export_history` returns for it.

Dot does not document the export's shape ("all conversations with metadata such as number
of messages or author"); the emulator answers a JSON list of conversation objects, each
with its messages nested, oldest conversation first (default profile):

```json
{
  "chat_id": "20250301-0007-3fa9c2",
  "title": "What was revenue by region last month?",
  "created_at": "2025-03-01T09:14:22Z",
  "updated_at": "2025-03-01T09:20:01Z",
  "author_email": "maria.garcia@example.com",
  "author_name": "Maria Garcia",
  "workspace": "default",
  "environment": null,
  "channel": "web",
  "labels": ["revenue"],
  "num_messages": 4,
  "auto_review_label": "OK",
  "auto_review_score": 4,
  "auto_review_reason": "Completed without complaint.",
  "messages": [
    {"id": "20250301-0007-3fa9c2-0", "role": "user", "content": "...",
     "created_at": "2025-03-01T09:14:22Z"},
    {"id": "20250301-0007-3fa9c2-1", "role": "assistant", "content": "...",
     "created_at": "2025-03-01T09:14:51Z"}
  ]
}
```

`environment` is null for production: Dot's history is shared across environments, each
conversation tagged with its environment (documented; the field's name is not). `channel`
is one of web, slack, teams, api. The auto-review verdict is one of Dot's documented labels,
Issue, Abandoned, Success or OK, with a one-line reason; Dot documents that the usage export
"carries each conversation's score and reason", not under which keys. The default profile
sends the label as `auto_review_label` plus a guessed number in `auto_review_score` (1, 2,
4, 5); the strict profile sends only the label, under `auto_review_score` (the score *is*
the label). All are null for chats asked through this emulator's API (Dot reviews
conversations later). Assistant messages of those chats also carry `explanation` and
`additional_data` (as on `c2`).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dot_orchestration.emulator.clock import isoformat_z
from dot_orchestration.emulator.vocabulary import REVIEW_SCORES

Message = dict[str, Any]


@dataclass(slots=True)
class PendingAnswer:
    """Dot's answer to the latest question, visible once `ready_at` has passed."""

    ready_at: datetime
    message: Message
    follow_ups: list[str]


@dataclass(slots=True)
class Chat:
    """One conversation: generated history, or asked through the API during this session."""

    chat_id: str
    created_at: datetime
    author_email: str
    author_name: str
    workspace: str
    environment: str | None
    channel: str
    title: str
    messages: list[Message]
    labels: list[str] = field(default_factory=list)
    auto_review_label: str | None = None
    auto_review_reason: str | None = None
    suggested_follow_ups: list[str] = field(default_factory=list)
    pending: PendingAnswer | None = None

    def add_labels(self, labels: list[str]) -> None:
        """Add labels, keeping their first-seen order and no duplicates."""
        self.labels.extend(label for label in dict.fromkeys(labels) if label not in self.labels)

    def settle(self, now: datetime, *, force: bool = False) -> None:
        """Append the pending answer if it is due (or `force`d: `agentic` waited for it)."""
        if self.pending is None or (not force and now < self.pending.ready_at):
            return
        self.messages.append(self.pending.message)
        self.suggested_follow_ups = self.pending.follow_ups
        self.pending = None

    def export_record(self, *, strict: bool = False) -> dict[str, Any]:
        """The conversation as `GET /api/export_history` lists it (shape in the module doc;
        `strict`: the verdict as the label alone)."""
        updated_at = self.messages[-1]["created_at"] if self.messages else None
        return {
            "chat_id": self.chat_id,
            "title": self.title,
            "created_at": isoformat_z(self.created_at),
            "updated_at": updated_at or isoformat_z(self.created_at),
            "author_email": self.author_email,
            "author_name": self.author_name,
            "workspace": self.workspace,
            "environment": self.environment,
            "channel": self.channel,
            "labels": list(self.labels),
            "num_messages": len(self.messages),
            **self._verdict(strict),
            "auto_review_reason": self.auto_review_reason,
            "messages": self.messages,
        }

    def _verdict(self, strict: bool) -> dict[str, Any]:
        """The auto-review verdict's keys: the label (and the default profile's guessed
        number), or in the strict profile the label alone, under the score's name."""
        label = self.auto_review_label
        if strict:
            return {"auto_review_score": label}
        score = None if label is None else REVIEW_SCORES[label]
        return {"auto_review_label": label, "auto_review_score": score}
