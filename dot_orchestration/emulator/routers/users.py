"""Who the caller is, user administration, and logins for embedded users.

Roles: `GET /api/auth/me` is for everyone (user); everything else here is user
administration and needs an admin, as in Dot's settings. Bodies are exactly Dot's.
"""

from typing import Any

from pydantic import BaseModel

from dot_orchestration.emulator.auth import AdminCaller, StateDep, UserCaller
from dot_orchestration.emulator.clock import isoformat_z
from dot_orchestration.emulator.directory import User
from dot_orchestration.emulator.errors import Forbidden
from dot_orchestration.emulator.routers.base import dot_router
from dot_orchestration.emulator.state import EmulatorState

router = dot_router("users")


class InvitationsBody(BaseModel):
    """Body of `POST /api/send_invitations`."""

    emails: list[str]


class EmailBody(BaseModel):
    """Body of `POST /api/delete_user`."""

    email: str


class RoleChangeBody(BaseModel):
    """Body of `POST /api/change_user_role` (`role`: admin, modeler or user)."""

    email: str
    role: str


class GroupMembershipBody(BaseModel):
    """Body of `POST /api/add_user_to_group` and `POST /api/remove_user_from_group`."""

    email: str
    group: str


class CreateUserBody(BaseModel):
    """Body of `POST /api/create_user` (the password is accepted, never stored)."""

    email: str
    password: str
    realname: str


class EmbeddedLoginBody(BaseModel):
    """Body of `POST /api/auth/embedded_user_login`; `user_id` is usually an email."""

    user_id: str


@router.get("/auth/me", summary="Read User Me")
async def read_user_me(caller: UserCaller, state: StateDep) -> dict[str, Any]:
    """The token's user."""
    return _public(state, caller.user)


@router.get("/get_users", summary="Get All Users")
async def get_users(caller: AdminCaller, state: StateDep) -> list[dict[str, Any]]:
    """Every user of the organisation."""
    return [_public(state, user) for user in state.directory.users()]


@router.post("/send_invitations", summary="Sendinvitations")
async def send_invitations(
    body: InvitationsBody, caller: AdminCaller, state: StateDep
) -> dict[str, Any]:
    """Invite people (admins by default, as in Dot); members are listed, not re-invited."""
    invited, members = state.directory.invite(body.emails)
    return {"invited": invited, "already_members": members}


@router.post("/delete_user", summary="Delete User Route")
async def delete_user(body: EmailBody, caller: AdminCaller, state: StateDep) -> dict[str, Any]:
    """Remove a user; their tokens stop working."""
    return _public(state, state.directory.delete(body.email, acting=caller.user))


@router.post("/change_user_role", summary="Change User Role")
async def change_user_role(
    body: RoleChangeBody, caller: AdminCaller, state: StateDep
) -> dict[str, Any]:
    """Give a user another role (400 for unknown roles)."""
    return _public(state, state.directory.change_role(body.email, body.role))


@router.post("/add_user_to_group", summary="Add User To Group")
async def add_user_to_group(
    body: GroupMembershipBody, caller: AdminCaller, state: StateDep
) -> dict[str, Any]:
    """Put a user in a group."""
    return _public(state, state.directory.add_to_group(body.email, body.group))


@router.post("/remove_user_from_group", summary="Remove User From Group")
async def remove_user_from_group(
    body: GroupMembershipBody, caller: AdminCaller, state: StateDep
) -> dict[str, Any]:
    """Take a user out of a group."""
    return _public(state, state.directory.remove_from_group(body.email, body.group))


@router.post("/create_user", summary="Create User Route")
async def create_user(body: CreateUserBody, caller: AdminCaller, state: StateDep) -> dict[str, Any]:
    """Create an active user with the org's new-user role (409 if the email is taken)."""
    return _public(state, state.directory.create(body.email, body.realname))


@router.post("/auth/embedded_user_login", summary="Get Embedded User Login Token")
async def embedded_user_login(
    body: EmbeddedLoginBody, caller: AdminCaller, state: StateDep
) -> dict[str, Any]:
    """A 24 h token for a user of an embedding app (403 when the org disabled it).

    The token works like any API token, typically as `Authorization: Bearer`.
    """
    if not state.config.allow_embedded_login:
        raise Forbidden("Embedded login is disabled for this organization")
    token, expires_at = state.directory.issue_embedded_token(body.user_id)
    return {
        "access_token": token,
        "token_type": "bearer",
        "user_id": body.user_id,
        "expires_at": isoformat_z(expires_at),
    }


def _public(state: EmulatorState, user: User) -> dict[str, Any]:
    """A user as JSON, with the organisation's id."""
    return user.public(state.config.org_id)
