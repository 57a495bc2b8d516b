"""Users and API tokens of the emulated organisation.

A token belongs to a user and carries that user's role at call time: changing a user's
role changes what their tokens may do, deleting a user revokes their tokens, like in Dot.
Emails are matched case-insensitively. Passwords given to `create_user` are never stored.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from dot_orchestration.emulator.clock import isoformat_z, utcnow
from dot_orchestration.emulator.config import TokenSpec
from dot_orchestration.emulator.errors import BadRequest, Conflict, NotFound
from dot_orchestration.emulator.history import Author
from dot_orchestration.emulator.models import Role

UserStatus = Literal["active", "invited", "embedded"]
EMBEDDED_TOKEN_LIFETIME = timedelta(hours=24)


@dataclass
class User:
    """A member of the organisation."""

    email: str
    realname: str
    role: Role
    workspace: str
    status: UserStatus = "active"
    groups: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)

    def public(self, org_id: str) -> dict[str, Any]:
        """The user as `GET /api/auth/me` and `GET /api/get_users` show it."""
        return {
            "id": self.email,
            "email": self.email,
            "realname": self.realname,
            "role": self.role.value,
            "org_id": org_id,
            "workspace": self.workspace,
            "groups": list(self.groups),
            "status": self.status,
            "created_at": isoformat_z(self.created_at),
        }


@dataclass(frozen=True)
class TokenRecord:
    """An issued token; `expired` tokens and tokens past `expires_at` answer 401."""

    token: str
    email: str
    expires_at: datetime | None = None
    expired: bool = False

    def is_expired(self, now: datetime) -> bool:
        """Whether the token can no longer be used."""
        return self.expired or (self.expires_at is not None and now >= self.expires_at)


class UserDirectory:
    """The organisation's users and tokens."""

    def __init__(
        self,
        *,
        tokens: Sequence[TokenSpec],
        authors: Sequence[Author],
        default_workspace: str,
        seed: int,
        new_user_role: Role = Role.admin,
    ) -> None:
        self._workspace = default_workspace
        self._new_user_role = new_user_role
        self._rng = random.Random(f"dot-emulator-tokens:{seed}")
        self._users: dict[str, User] = {}
        self._tokens: dict[str, TokenRecord] = {}
        for spec in tokens:
            realname = spec.realname or spec.email.split("@")[0].capitalize()
            self._users.setdefault(
                spec.email.lower(), User(spec.email, realname, spec.role, default_workspace)
            )
            self._tokens[spec.token] = TokenRecord(
                spec.token, spec.email.lower(), None, spec.expired
            )
        for author in authors:
            self._users.setdefault(
                author.email, User(author.email, author.realname, author.role, author.workspace)
            )

    def users(self) -> list[User]:
        """Every user, in the order they joined."""
        return list(self._users.values())

    def find(self, email: str) -> User | None:
        """The user with this email, if any."""
        return self._users.get(email.lower())

    def get(self, email: str) -> User:
        """The user with this email; 404 otherwise."""
        user = self.find(email)
        if user is None:
            raise NotFound(f"User {email} not found")
        return user

    def token(self, token: str) -> TokenRecord | None:
        """The record of an issued token, if it was issued."""
        return self._tokens.get(token)

    def token_user(self, token: str) -> User | None:
        """Whose token this is (None for unknown tokens and deleted users)."""
        record = self._tokens.get(token)
        return self.find(record.email) if record is not None else None

    def invite(self, emails: list[str]) -> tuple[list[str], list[str]]:
        """Invite new people with the new-user role; returns (invited, already members)."""
        invited, members = [], []
        for email in dict.fromkeys(emails):
            if self.find(email) is not None:
                members.append(email)
                continue
            name = email.split("@")[0]
            self._add(User(email, name, self._new_user_role, self._workspace, "invited"))
            invited.append(email)
        return invited, members

    def create(self, email: str, realname: str) -> User:
        """Create an active user with the new-user role; 409 if the email is taken."""
        if self.find(email) is not None:
            raise Conflict(f"User {email} already exists")
        return self._add(User(email, realname, self._new_user_role, self._workspace))

    def delete(self, email: str, *, acting: User) -> User:
        """Remove a user (their tokens stop working); nobody can delete themselves."""
        user = self.get(email)
        if user is acting:
            raise BadRequest("You cannot delete your own user")
        del self._users[email.lower()]
        return user

    def change_role(self, email: str, role: str) -> User:
        """Give a user another role; 400 for a role Dot does not have."""
        try:
            new_role = Role(role)
        except ValueError:
            expected = ", ".join(r.value for r in Role)
            raise BadRequest(f"Unknown role {role!r}; expected one of {expected}") from None
        user = self.get(email)
        user.role = new_role
        return user

    def add_to_group(self, email: str, group: str) -> User:
        """Put a user in a group (idempotent)."""
        user = self.get(email)
        if group not in user.groups:
            user.groups.append(group)
        return user

    def remove_from_group(self, email: str, group: str) -> User:
        """Take a user out of a group (idempotent)."""
        user = self.get(email)
        if group in user.groups:
            user.groups.remove(group)
        return user

    def issue_embedded_token(self, user_id: str) -> tuple[str, datetime]:
        """A 24 h token (and its expiry) for an embedded user, created on first login.

        Embedded people are an app's end users, not members of the data team: they get the
        `user` role (chat only) whatever the new-user default is. Undocumented: a guess.
        """
        if self.find(user_id) is None:
            self._add(User(user_id, user_id.split("@")[0], Role.user, self._workspace, "embedded"))
        token = f"dot-emulator-embedded-{self._rng.getrandbits(96):024x}"
        expires_at = utcnow() + EMBEDDED_TOKEN_LIFETIME
        self._tokens[token] = TokenRecord(token, user_id.lower(), expires_at)
        return token, expires_at

    def _add(self, user: User) -> User:
        """Register a new user."""
        self._users[user.email.lower()] = user
        return user
