"""Org notes (Dot's 2024 API's single note and today's atomic notes) and user administration."""

import httpx

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer

from .conftest import Client

NOTE_FIELDS = {"id", "title", "note", "active", "created_at", "updated_at"}


def test_the_single_org_note_of_dots_2024_api(api: httpx.Client) -> None:
    assert api.get("/api/org").json() == {
        "id": "org-emulator",
        "name": "Example Analytics",
        "note": "",
    }
    saved = api.post("/api/save_note", json={"org_id": "org-emulator", "note": "ARR = ..."})
    assert saved.json()["note"] == "ARR = ..."
    api.post("/api/save_note", json={"note": "without org id"})
    assert api.get("/api/org").json()["note"] == "without org id"


def test_saving_the_note_of_another_org_is_not_found(api: httpx.Client) -> None:
    response = api.post("/api/save_note", json={"org_id": "org-other", "note": "x"})
    assert response.status_code == 404


def test_the_org_note_belongs_to_an_environment(api: httpx.Client) -> None:
    api.post(
        "/api/save_note", json={"note": "staging only"}, headers={"X-Dot-Environment": "staging"}
    )
    assert api.get("/api/org").json()["note"] == ""


def test_atomic_org_notes_lifecycle(api: httpx.Client) -> None:
    created = api.post("/api/org_notes", json={"title": "Glossary", "note": "ARR"}).json()
    assert set(created) == NOTE_FIELDS
    assert created["active"] is True

    updated = api.put(
        f"/api/org_notes/{created['id']}",
        json={"title": "Glossary", "note": "ARR, MRR", "active": False},
    ).json()
    assert (updated["note"], updated["active"]) == ("ARR, MRR", False)
    assert updated["updated_at"] >= created["updated_at"]
    kept = api.put(f"/api/org_notes/{created['id']}", json={"title": "G", "note": "ARR"}).json()
    assert kept["active"] is False  # `active` absent: unchanged

    assert [note["id"] for note in api.get("/api/org_notes").json()] == [created["id"]]
    assert api.delete(f"/api/org_notes/{created['id']}").json()["id"] == created["id"]
    assert api.get("/api/org_notes").json() == []


def test_unknown_notes_are_not_found(api: httpx.Client) -> None:
    assert api.put("/api/org_notes/nope", json={"title": "t", "note": "n"}).status_code == 404
    assert api.delete("/api/org_notes/nope").json() == {"detail": "Note nope not found"}


def test_notes_keep_creation_order_and_allow_equal_titles(api: httpx.Client) -> None:
    ids = [
        api.post("/api/org_notes", json={"title": "Same", "note": str(i)}).json()["id"]
        for i in range(3)
    ]
    assert [note["id"] for note in api.get("/api/org_notes").json()] == ids
    assert len(set(ids)) == 3


def test_me(client: Client) -> None:
    me = client("dot-emulator-modeler").get("/api/auth/me").json()
    assert (me["email"], me["role"], me["org_id"], me["workspace"]) == (
        "modeler@example.com",
        "modeler",
        "org-emulator",
        "default",
    )


def test_the_organisation_has_the_token_users_and_the_history_authors(
    dot_emulator: EmulatorServer, api: httpx.Client
) -> None:
    users = api.get("/api/get_users").json()
    emails = [user["email"] for user in users]
    assert emails[:4] == [
        "admin@example.com",
        "modeler@example.com",
        "user@example.com",
        "expired@example.com",
    ]
    assert len(users) == 4 + dot_emulator.config.history_authors


def test_invitations_skip_existing_members(api: httpx.Client) -> None:
    response = api.post(
        "/api/send_invitations", json={"emails": ["new@example.com", "user@example.com"]}
    )
    assert response.json() == {
        "invited": ["new@example.com"],
        "already_members": ["user@example.com"],
    }
    invited = next(u for u in api.get("/api/get_users").json() if u["email"] == "new@example.com")
    assert (invited["role"], invited["status"]) == ("admin", "invited")


def test_user_administration(api: httpx.Client) -> None:
    user = {"email": "new@example.com", "password": "correct horse", "realname": "New Person"}
    created = api.post("/api/create_user", json=user).json()
    assert (created["realname"], created["role"], created["status"]) == (
        "New Person",
        "admin",
        "active",
    )
    assert "password" not in created
    assert api.post("/api/create_user", json=user).status_code == 409

    promoted = api.post(
        "/api/change_user_role", json={"email": "new@example.com", "role": "modeler"}
    )
    assert promoted.json()["role"] == "modeler"
    grouped = api.post(
        "/api/add_user_to_group", json={"email": "new@example.com", "group": "finance"}
    )
    assert grouped.json()["groups"] == ["finance"]
    ungrouped = api.post(
        "/api/remove_user_from_group", json={"email": "new@example.com", "group": "finance"}
    )
    assert ungrouped.json()["groups"] == []
    assert api.post("/api/delete_user", json={"email": "new@example.com"}).status_code == 200
    assert api.post("/api/delete_user", json={"email": "new@example.com"}).status_code == 404


def test_roles_are_dots_roles(api: httpx.Client) -> None:
    response = api.post(
        "/api/change_user_role", json={"email": "user@example.com", "role": "owner"}
    )
    assert response.status_code == 400
    assert "user, modeler, admin" in response.json()["detail"]


def test_admins_cannot_delete_themselves(api: httpx.Client) -> None:
    response = api.post("/api/delete_user", json={"email": "admin@example.com"})
    assert response.status_code == 400


def test_strict_notes_are_only_what_dot_documents(strict_dot_emulator: EmulatorServer) -> None:
    with httpx.Client(base_url=strict_dot_emulator.url, headers={"API-KEY": ADMIN_TOKEN}) as api:
        marked = "ARR\n\n<!-- dot-orchestration:confluence page=1 part=1/1 -->"
        created = api.post("/api/org_notes", json={"title": "Glossary", "note": marked})
        assert (created.status_code, created.json()) == (200, None)  # the reply is undocumented
        [listed] = api.get("/api/org_notes").json()
        assert listed == {"id": listed["id"], "title": "Glossary", "note": "ARR\n\n"}  # no comment

        path = f"/api/org_notes/{listed['id']}"
        updated = api.put(path, json={"title": "Glossary", "note": "ARR, MRR", "active": False})
        assert (updated.status_code, updated.json()) == (200, None)
        assert strict_dot_emulator.state.space(None).notes()[0].active  # `active` ignored
        assert api.get("/api/org_notes").json()[0]["note"] == "ARR, MRR"
        refused = api.delete(path)
        assert (refused.status_code, refused.json()) == (405, {"detail": "Method Not Allowed"})
        assert len(api.get("/api/org_notes").json()) == 1
