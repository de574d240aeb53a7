"""Registrar and location service (RFC 3261 §10.3)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sip.headers import parse_name_addr
from sip.message import Headers, Request, Response
from sip.registrar import Binding, BindingEvent, LocationService, contact_is_unroutable

T0 = 1_700_000_000.0
SRC = ("udp", "203.0.113.7", 40000)
DESK = "sip:alice@198.51.100.10:5060"
SOFT = "sip:alice@198.51.100.11:5062;transport=tcp"


def register(
    *contacts: str,
    call_id: str = "call-1",
    cseq: int = 1,
    expires: str | None = None,
    user_agent: str | None = "TestPhone/1.0",
) -> Request:
    headers = Headers(
        [
            ("Via", "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK1"),
            ("From", "<sip:alice@pbx.example.com>;tag=f1"),
            ("To", "<sip:alice@pbx.example.com>"),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} REGISTER"),
        ]
    )
    for contact in contacts:
        headers.add("Contact", contact)
    if expires is not None:
        headers.add("Expires", expires)
    if user_agent is not None:
        headers.add("User-Agent", user_agent)
    return Request(method="REGISTER", uri="sip:pbx.example.com", headers=headers)


def contacts_of(response: Response) -> dict[str, dict[str, str | None]]:
    out = {}
    for value in response.headers.values("Contact"):
        addr = parse_name_addr(value)
        out[addr.uri] = addr.params
    return out


class FakeStore:
    def __init__(self, initial: Iterable[Binding] = ()) -> None:
        self.rows: dict[tuple[str, str], Binding] = {(b.aor, b.contact): b for b in initial}
        self.saved: list[Binding] = []
        self.deleted: list[tuple[str, str]] = []

    def save(self, binding: Binding) -> None:
        self.saved.append(binding)
        self.rows[(binding.aor, binding.contact)] = binding

    def delete(self, aor: str, contact: str) -> None:
        self.deleted.append((aor, contact))
        self.rows.pop((aor, contact), None)

    def load_all(self) -> Iterable[Binding]:
        return list(self.rows.values())


def binding(contact: str, *, expires_at: float, q: float = 1.0, received_at: float = T0) -> Binding:
    return Binding(
        aor="alice",
        contact=contact,
        expires_at=expires_at,
        q=q,
        call_id="c",
        cseq=1,
        received_at=received_at,
    )


# -- register / refresh / unregister -----------------------------------------------


def test_register_adds_binding_and_200_lists_it_with_expires_and_date() -> None:
    loc = LocationService()
    resp = loc.process_register(register(f"<{DESK}>"), "alice", SRC, T0, to_tag="tt")
    assert (resp.status, resp.reason) == (200, "OK")
    assert contacts_of(resp) == {DESK: {"expires": "3600"}}
    assert resp.headers.get("Date") == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert resp.to.tag == "tt"
    assert resp.call_id == "call-1"
    [b] = loc.lookup("alice", T0)
    assert (b.contact, b.expires_at, b.source, b.call_id, b.cseq) == (
        DESK,
        T0 + 3600,
        SRC,
        "call-1",
        1,
    )
    assert (b.user_agent, b.received_at, b.transport) == ("TestPhone/1.0", T0, "udp")


def test_expires_header_applies_and_contact_param_overrides_it() -> None:
    loc = LocationService()
    resp = loc.process_register(
        register(f"<{DESK}>", f"<{SOFT}>;expires=120", expires="600"), "alice", SRC, T0
    )
    assert contacts_of(resp) == {DESK: {"expires": "600"}, SOFT: {"expires": "120"}}


def test_expires_above_max_is_shortened() -> None:
    loc = LocationService()
    resp = loc.process_register(register(f"<{DESK}>", expires="99999"), "alice", SRC, T0)
    assert contacts_of(resp)[DESK]["expires"] == "3600"


def test_refresh_extends_binding_and_response_shows_remaining_time() -> None:
    loc = LocationService()
    loc.process_register(register(f"<{DESK}>", expires="600"), "alice", SRC, T0)
    other = loc.process_register(register(f"<{SOFT}>", call_id="c2"), "alice", SRC, T0 + 100)
    assert contacts_of(other)[DESK]["expires"] == "500"
    refreshed = loc.process_register(
        register(f"<{DESK}>", cseq=2, expires="600"), "alice", SRC, T0 + 200
    )
    assert contacts_of(refreshed)[DESK]["expires"] == "600"
    assert len(loc.lookup("alice", T0 + 200)) == 2


def test_expires_zero_removes_only_that_binding() -> None:
    loc = LocationService()
    loc.process_register(register(f"<{DESK}>", f"<{SOFT}>"), "alice", SRC, T0)
    resp = loc.process_register(register(f"<{DESK}>;expires=0", cseq=2), "alice", SRC, T0 + 1)
    assert resp.status == 200
    assert list(contacts_of(resp)) == [SOFT]


def test_register_without_contact_is_a_query() -> None:
    loc = LocationService()
    loc.process_register(register(f"<{DESK}>"), "alice", SRC, T0)
    resp = loc.process_register(register(cseq=2), "alice", SRC, T0 + 10)
    assert contacts_of(resp) == {DESK: {"expires": "3590"}}


def test_wildcard_with_expires_zero_removes_all_bindings() -> None:
    loc = LocationService()
    loc.process_register(register(f"<{DESK}>", f"<{SOFT}>"), "alice", SRC, T0)
    resp = loc.process_register(register("*", cseq=2, expires="0"), "alice", SRC, T0 + 1)
    assert resp.status == 200
    assert contacts_of(resp) == {}
    assert loc.lookup("alice", T0 + 1) == []
    assert loc.all_bindings() == []


@pytest.mark.parametrize(
    ("contacts", "expires"),
    [(("*",), "60"), (("*",), None), (("*", f"<{DESK}>"), "0")],
)
def test_wildcard_with_nonzero_expires_or_other_contacts_is_400(
    contacts: tuple[str, ...], expires: str | None
) -> None:
    loc = LocationService()
    loc.process_register(register(f"<{DESK}>"), "alice", SRC, T0)
    resp = loc.process_register(register(*contacts, cseq=2, expires=expires), "alice", SRC, T0)
    assert resp.status == 400
    assert len(loc.lookup("alice", T0)) == 1


def test_wildcard_keeps_binding_of_same_call_id_with_higher_stored_cseq() -> None:
    loc = LocationService()
    loc.process_register(register(f"<{DESK}>", cseq=5), "alice", SRC, T0)
    loc.process_register(register(f"<{SOFT}>", call_id="other", cseq=1), "alice", SRC, T0)
    resp = loc.process_register(register("*", cseq=3, expires="0"), "alice", SRC, T0 + 1)
    assert list(contacts_of(resp)) == [DESK]


# -- 423 and bad requests -------------------------------------------------------


def test_interval_below_minimum_is_423_with_min_expires_and_changes_nothing() -> None:
    loc = LocationService()
    resp = loc.process_register(
        register(f"<{DESK}>", f"<{SOFT}>;expires=30"), "alice", SRC, T0, min_expires=60
    )
    assert (resp.status, resp.reason) == (423, "Interval Too Brief")
    assert resp.headers.get("Min-Expires") == "60"
    assert loc.all_bindings() == []


@pytest.mark.parametrize(
    "contact", ["<sip:alice@h>;q=1.5", "<sip:alice@h>;q=abc", "<sip:alice@h>;expires=-1", "<>"]
)
def test_malformed_contact_is_400(contact: str) -> None:
    loc = LocationService()
    assert loc.process_register(register(contact), "alice", SRC, T0).status == 400
    assert loc.all_bindings() == []


def test_malformed_expires_header_is_400() -> None:
    loc = LocationService()
    assert (
        loc.process_register(register(f"<{DESK}>", expires="soon"), "alice", SRC, T0).status == 400
    )


# -- CSeq ordering (§10.3 step 7) ----------------------------------------------


def test_same_call_id_with_lower_cseq_does_not_update_binding() -> None:
    loc = LocationService()
    loc.process_register(register(f"<{DESK}>", cseq=5, expires="600"), "alice", SRC, T0)
    stale = loc.process_register(register(f"<{DESK}>;expires=0", cseq=4), "alice", SRC, T0 + 10)
    assert stale.status == 200
    assert contacts_of(stale) == {DESK: {"expires": "590"}}
    same = loc.process_register(register(f"<{DESK}>", cseq=5, expires="900"), "alice", SRC, T0)
    assert contacts_of(same)[DESK]["expires"] == "600"


def test_different_call_id_replaces_binding_whatever_its_cseq() -> None:
    loc = LocationService()
    loc.process_register(register(f"<{DESK}>", cseq=50), "alice", SRC, T0)
    newsrc = ("udp", "203.0.113.8", 1234)
    loc.process_register(register(f"<{DESK}>", call_id="reboot", cseq=1), "alice", newsrc, T0 + 5)
    [b] = loc.lookup("alice", T0 + 5)
    assert (b.call_id, b.cseq, b.source, b.received_at) == ("reboot", 1, newsrc, T0 + 5)


# -- ordering, devices, expiry ------------------------------------------------------


def test_lookup_orders_by_q_then_most_recent() -> None:
    loc = LocationService()
    loc.process_register(register("<sip:a@198.51.100.1>;q=0.5"), "alice", SRC, T0)
    loc.process_register(register("<sip:b@198.51.100.2>", call_id="b"), "alice", SRC, T0 + 1)
    loc.process_register(register("<sip:c@198.51.100.3>", call_id="c"), "alice", SRC, T0 + 2)
    loc.process_register(register("<sip:d@198.51.100.4>;q=0.9", call_id="d"), "alice", SRC, T0)
    order = [b.contact for b in loc.lookup("alice", T0 + 3)]
    assert order == [
        "sip:c@198.51.100.3",
        "sip:b@198.51.100.2",
        "sip:d@198.51.100.4",
        "sip:a@198.51.100.1",
    ]


def test_q_value_is_echoed_in_200() -> None:
    loc = LocationService()
    resp = loc.process_register(register(f"<{DESK}>;q=0.5"), "alice", SRC, T0)
    assert contacts_of(resp)[DESK] == {"expires": "3600", "q": "0.5"}


def test_instance_id_replaces_old_contact_of_same_device() -> None:
    inst = '"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"'
    store = FakeStore()
    loc = LocationService(store)
    loc.process_register(register(f"<{DESK}>;+sip.instance={inst}"), "alice", SRC, T0)
    moved = "sip:alice@192.0.2.99:5060"
    resp = loc.process_register(
        register(f"<{moved}>;+sip.instance={inst}", call_id="new"), "alice", SRC, T0 + 1
    )
    assert list(contacts_of(resp)) == [moved]
    assert (
        contacts_of(resp)[moved]["+sip.instance"]
        == "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"
    )
    assert ("alice", DESK) in store.deleted
    assert list(store.rows) == [("alice", moved)]


def test_separate_aors_do_not_share_bindings() -> None:
    loc = LocationService()
    loc.process_register(register(f"<{DESK}>"), "alice", SRC, T0)
    assert loc.lookup("bob", T0) == []


def test_binding_count_per_aor_is_bounded_and_oldest_is_replaced() -> None:
    loc = LocationService(max_bindings=3)
    for i in range(4):
        loc.process_register(
            register(f"<sip:d{i}@198.51.100.{i}>", call_id=f"c{i}"), "alice", SRC, T0 + i
        )
    contacts = {b.contact for b in loc.lookup("alice", T0 + 4)}
    assert contacts == {"sip:d1@198.51.100.1", "sip:d2@198.51.100.2", "sip:d3@198.51.100.3"}


def test_expire_removes_and_returns_only_expired_bindings() -> None:
    store = FakeStore()
    loc = LocationService(store, record_events=True)
    loc.process_register(register(f"<{DESK}>;expires=60"), "alice", SRC, T0)
    loc.process_register(register(f"<{SOFT}>;expires=120", call_id="x"), "alice", SRC, T0)
    assert [b.contact for b in loc.lookup("alice", T0 + 60)] == [SOFT]
    gone = loc.expire(T0 + 60)
    assert [b.contact for b in gone] == [DESK]
    assert [b.contact for b in loc.all_bindings()] == [SOFT]
    assert store.deleted == [("alice", DESK)]
    kinds = [(e.kind, e.binding.contact) for e in loc.pop_events()]
    assert kinds == [("added", DESK), ("added", SOFT), ("expired", DESK)]
    assert loc.pop_events() == []


# -- persistence ---------------------------------------------------------------------


def test_store_sees_saves_and_deletes() -> None:
    store = FakeStore()
    loc = LocationService(store)
    loc.process_register(register(f"<{DESK}>"), "alice", SRC, T0)
    assert [b.contact for b in store.saved] == [DESK]
    loc.process_register(register(f"<{DESK}>;expires=0", cseq=2), "alice", SRC, T0 + 1)
    assert store.deleted == [("alice", DESK)]
    assert store.rows == {}


def test_restore_loads_unexpired_bindings_and_purges_expired_ones() -> None:
    live = binding(DESK, expires_at=T0 + 100)
    dead = binding(SOFT, expires_at=T0 - 1)
    store = FakeStore([live, dead])
    loc = LocationService(store)
    assert loc.restore(T0) == 1
    assert loc.lookup("alice", T0) == [live]
    assert store.deleted == [("alice", SOFT)]
    assert LocationService().restore(T0) == 0


def test_events_are_not_recorded_unless_asked() -> None:
    loc = LocationService()
    loc.process_register(register(f"<{DESK}>"), "alice", SRC, T0)
    assert loc.pop_events() == []
    assert BindingEvent(kind="removed", binding=loc.all_bindings()[0]).kind == "removed"


# -- NAT ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contact", "transport", "expected"),
    [
        ("sip:a@192.168.1.20:5060", "udp", True),
        ("sip:a@10.0.0.1", "udp", True),
        ("sip:a@[fe80::1]:5060", "udp", True),
        ("sip:a@df7jal23ls0d.invalid;transport=ws", "udp", True),
        ("sip:a@100.64.3.4", "udp", True),
        ("sip:a@93.184.216.34:5060", "udp", False),
        ("sip:a@phone.example.com", "udp", False),
        ("sip:a@93.184.216.34:5060", "tcp", True),
        ("sip:a@93.184.216.34:5060", "WSS", True),
    ],
)
def test_binding_prefers_source_for_unroutable_contacts_and_connections(
    contact: str, transport: str, expected: bool
) -> None:
    b = Binding(
        aor="a",
        contact=contact,
        expires_at=1,
        call_id="c",
        cseq=1,
        received_at=0,
        transport=transport,
    )
    assert b.prefers_source() is expected
    assert contact_is_unroutable(contact) is (expected and transport == "udp")


def test_register_records_transport_and_source() -> None:
    loc = LocationService()
    loc.process_register(register(f"<{SOFT}>"), "alice", ("tcp", "x", 1), T0, transport="TCP")
    [b] = loc.all_bindings()
    assert (b.transport, b.source) == ("tcp", ("tcp", "x", 1))


# -- properties ----------------------------------------------------------------------

_step = st.tuples(
    st.integers(min_value=0, max_value=3),  # device
    st.integers(min_value=0, max_value=2),  # call-id
    st.integers(min_value=1, max_value=6),  # cseq
    st.sampled_from([0, 60, 300, 3600]),  # expires
    st.integers(min_value=0, max_value=400),  # time advance
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_step, max_size=25))
def test_store_mirrors_memory_and_response_lists_live_bindings(
    steps: list[tuple[int, ...]],
) -> None:
    store = FakeStore()
    loc = LocationService(store, max_bindings=3)
    now = T0
    for device, call, cseq, expires, advance in steps:
        now += advance
        loc.expire(now)
        resp = loc.process_register(
            register(
                f"<sip:d{device}@198.51.100.{device}>;expires={expires}",
                call_id=f"c{call}",
                cseq=cseq,
            ),
            "alice",
            SRC,
            now,
        )
        assert resp.status == 200
        live = loc.lookup("alice", now)
        assert len(live) <= 3
        assert set(contacts_of(resp)) == {b.contact for b in live}
        assert all(int(p["expires"] or 0) > 0 for p in contacts_of(resp).values())
        assert {(b.aor, b.contact): b for b in loc.all_bindings()} == store.rows
