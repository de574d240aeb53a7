"""A user's voicemail and forwarding on the desktop (P4); call recordings heard
only by admins and the queue's supervisors, each playback audited (O7)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from jono_web import PLAN, WebServer

from acd.calls.mailbox import VoiceMessage
from acd.calls.recording import StoredRecording

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


async def test_recordings_are_heard_by_admins_and_the_queues_supervisors_with_an_audit_line(
    web: WebServer,
) -> None:
    store = web.store.recordings
    store.add(StoredRecording(call_id="c1", queue_id="sales", started_at=NOW, seconds=2.0,
                              started_by="bob", content_type="audio/ogg", audio=b"OggS-sales"))
    store.add(StoredRecording(call_id="c1", queue_id="support", started_at=NOW, seconds=1.0,
                              started_by="dan", content_type="audio/ogg", audio=b"OggS-support"))
    sue, dan, ada = [await web.signed_in(u) for u in ("sue", "dan", "ada")]
    listed = (await sue.get("/api/recordings", params={"call_id": "c1"})).json()
    assert [r["queue"] for r in listed["recordings"]] == ["sales"]  # sue supervises sales only
    assert (await dan.get("/api/recordings", params={"call_id": "c1"})).json() == {
        "recordings": []}  # an agent hears none
    newest = (await sue.get("/api/recordings")).json()["recordings"]
    assert [r["queue"] for r in newest] == ["sales"]
    assert [r["id"] for r in (await ada.get("/api/recordings")).json()["recordings"]] == [2, 1]
    assert (await dan.get("/api/recordings")).json() == {"recordings": []}
    played = await sue.get("/api/recordings/1/audio")
    assert played.status_code == 200 and played.content == b"OggS-sales"
    assert (await sue.get("/api/recordings/2/audio")).status_code == 404
    assert (await dan.get("/api/recordings/1/audio")).status_code == 404
    assert (await ada.get("/api/recordings/2/audio")).status_code == 200
    assert store.audit == [(1, "sue"), (2, "ada")]
    audit = (await ada.get("/api/recordings/1/playbacks")).json()["playbacks"]
    assert [p["user"] for p in audit] == ["sue"]


async def test_my_voicemail_lists_plays_once_saved_and_deletes_only_mine(web: WebServer) -> None:
    boxes = web.store.mailboxes
    boxes.add_message(VoiceMessage(id="m1", mailbox="bob", caller="+358401112222",
                                   caller_name=None, received_at=NOW, seconds=3.0,
                                   content_type="audio/ogg", audio=b"OggS-m1"))
    bob, carol = await web.signed_in("bob"), await web.signed_in("carol")
    [listed] = (await bob.get("/api/desk/voicemail")).json()["messages"]
    assert (listed["id"], listed["status"], listed["seconds"]) == ("m1", "new", 3.0)
    assert (await carol.get("/api/desk/voicemail/m1/audio")).status_code == 404
    heard = await bob.get("/api/desk/voicemail/m1/audio")
    assert heard.content == b"OggS-m1"
    assert boxes.counts("bob") == (0, 1)  # heard: saved
    assert (await carol.delete("/api/desk/voicemail/m1")).status_code == 404
    assert (await bob.delete("/api/desk/voicemail/m1")).status_code == 200
    assert (await bob.get("/api/desk/voicemail")).json() == {"messages": []}


async def test_a_voicemail_pin_set_on_the_web_is_kept_hashed_and_used_by_the_menu(
    tmp_path: Path,
) -> None:
    from acd.calls.mailbox import pin_matches

    server = WebServer(tmp_path, PLAN.replace('bob: {extension: "1002",',
                                               'bob: {extension: "1002", voicemail: true,'))
    try:
        bob, carol = await server.signed_in("bob"), await server.signed_in("carol")
        assert (await bob.put("/api/desk/voicemail/pin", json={"pin": "12"})).status_code == 400
        assert (await carol.put("/api/desk/voicemail/pin", json={"pin": "2468"})).status_code == 404
        assert (await bob.put("/api/desk/voicemail/pin", json={"pin": "2468"})).status_code == 200
        stored = server.store.mailboxes.settings("bob").voicemail_pin
        assert stored is not None and "2468" not in stored and pin_matches(stored, "2468")
        own = server.jono.forwarding.own["bob"]
        assert own.voicemail_pin == stored
    finally:
        await server.close()


async def test_forwarding_from_the_desktop_with_the_users_own_rights(web: WebServer) -> None:
    bob = await web.signed_in("bob")
    assert (await bob.get("/api/desk/forwarding")).json() == {
        "always": None, "busy": None, "no_answer": None}
    reply = await bob.put("/api/desk/forwarding", json={"kind": "busy", "to": "1003"})
    assert reply.status_code == 200 and reply.json()["busy"] == "user:carol"
    refused = await bob.put("/api/desk/forwarding", json={"kind": "always", "to": "1002"})
    assert refused.status_code == 403  # not to oneself
    bad = await bob.put("/api/desk/forwarding", json={"kind": "sometimes", "to": "1003"})
    assert bad.status_code == 400
    off = await bob.put("/api/desk/forwarding", json={"kind": "busy", "to": None})
    assert off.json()["busy"] is None
