"""Voicemail and forwarding rules (P4): what is kept, what the owner hears, whose
forwarding wins, what a forwarding code may point at."""

from __future__ import annotations

import wave
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from acd.calls.mailbox import NEW, MemoryMailboxes, VoiceMessage, hash_pin, pin_matches
from acd.config import Dialplan, load
from acd.config.types import Destination
from acd.flows.forwarding import Forwarding
from acd.flows.mailbox_menu import summary
from acd.flows.voicemail import Take, Voicemail, digit_names
from acd.telephony.outbound import OutboundRules
from acd.telephony.trunks import TrunkRoutes
from media.audio_files import decode_audio
from sip.subscription import MailboxCounts

PLAN = """
server: {listen: "127.0.0.1:5060"}
users:
  alice: {extension: "1001", password: a, dial: internal}
  bob:
    extension: "1002"
    password: b
    voicemail: {pin: "4321"}
    forward_busy: "voicemail:bob"
    forward_no_answer: "user:alice"
trunks:
  provider:
    inbound_sources: ["127.0.0.1"]
    outbound: {gateway: "127.0.0.1:5070"}
"""


@pytest.fixture
def plan(tmp_path: Path) -> Dialplan:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    return load(path, env={})


def _take(tmp_path: Path, seconds: float, keep: float) -> Take:
    path = tmp_path / "take.wav"
    t = np.arange(int(8000 * seconds)) / 8000
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * 600 * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm.tobytes())
    return Take(path, int(keep / 0.02), "hangup")


def _message() -> VoiceMessage:
    return VoiceMessage(
        id="m1", mailbox="bob", caller="+358401234567", caller_name=None,
        received_at=datetime.now(UTC), seconds=0, status=NEW,
    )  # fmt: skip


async def test_a_message_is_kept_compressed_and_mwi_hears_the_new_count(tmp_path: Path) -> None:
    mailboxes = MemoryMailboxes()
    told: list[tuple[str, MailboxCounts]] = []
    voicemail = Voicemail(mailboxes, lambda user, counts: told.append((user, counts)), tmp_path)
    assert await voicemail.keep(_take(tmp_path, 3.0, 2.5), _message())
    [kept] = mailboxes.messages("bob", audio=True)
    assert 2.4 <= kept.seconds <= 2.6  # the silence after the last word is not kept
    assert len(decode_audio(kept.audio)) == pytest.approx(2.5 * 8000, rel=0.05)
    assert told == [("bob", MailboxCounts(new=1, old=0))]
    assert not (tmp_path / "take.wav").exists()


async def test_a_message_under_one_second_is_dropped(tmp_path: Path) -> None:
    mailboxes = MemoryMailboxes()
    told: list[object] = []
    voicemail = Voicemail(mailboxes, lambda user, counts: told.append(user), tmp_path)
    assert not await voicemail.keep(_take(tmp_path, 3.0, 0.9), _message())
    assert mailboxes.counts("bob") == (0, 0) and told == []


def test_the_owner_hears_counts_in_words() -> None:
    assert summary(0, 0) == ["vm_no_messages"]
    assert summary(1, 0) == ["vm_you_have", "num_1", "vm_new_message"]
    assert summary(2, 1) == [
        "vm_you_have", "num_2", "vm_new_messages", "vm_and", "num_1", "vm_saved_message",
    ]
    assert summary(0, 3) == ["vm_you_have", "num_3", "vm_saved_messages"]


def test_the_default_greeting_reads_the_extension_digit_by_digit() -> None:
    assert digit_names("1002") == ["num_1", "zero", "zero", "num_2"]


def test_a_pin_set_on_the_web_is_kept_hashed() -> None:
    stored = hash_pin("2468")
    assert "2468" not in stored
    assert pin_matches(stored, "2468") and not pin_matches(stored, "2469")


def test_own_forwarding_wins_over_the_plans_until_cleared(plan: Dialplan) -> None:
    mailboxes = MemoryMailboxes()
    forwarding = Forwarding(mailboxes)
    bob = plan.users["bob"]
    assert forwarding.destination("bob", bob, "no_answer") == Destination.parse("user:alice")
    assert forwarding.destination("bob", bob, "always") is None
    mailboxes.update_settings("bob", forward_no_answer="voicemail:bob", forward_always="user:alice")
    forwarding.load(["alice", "bob"])
    assert forwarding.destination("bob", bob, "no_answer") == Destination.parse("voicemail:bob")
    assert forwarding.destination("bob", bob, "always") == Destination.parse("user:alice")
    assert forwarding.destination("bob", bob, "busy") == Destination.parse("voicemail:bob")
    assert "alice" not in forwarding.own  # nothing of her own


async def test_what_a_forwarding_code_may_point_at(plan: Dialplan) -> None:
    forwarding = Forwarding(MemoryMailboxes())
    rules = OutboundRules(plan, TrunkRoutes(plan))
    assert forwarding.resolve(plan, rules, "bob", "") == Destination.parse("voicemail:bob")
    assert forwarding.resolve(plan, rules, "bob", "*97") == Destination.parse("voicemail:bob")
    assert forwarding.resolve(plan, rules, "bob", "1001") == Destination.parse("user:alice")
    assert forwarding.resolve(plan, rules, "bob", "1002") is None  # not to oneself
    assert forwarding.resolve(plan, rules, "alice", "") is None  # no mailbox
    assert forwarding.resolve(plan, rules, "bob", "0401234567") is not None  # national: allowed
    assert forwarding.resolve(plan, rules, "alice", "0401234567") is None  # internal only
    await forwarding.set("bob", "always", Destination.parse("user:alice"))
    assert forwarding.own["bob"].forward_always == "user:alice"
    await forwarding.set("bob", "always", None)
    assert forwarding.own["bob"].forward_always is None
