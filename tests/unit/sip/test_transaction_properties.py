"""Hypothesis over (state, input) pairs for the four machines (h2 test_state_machines style).

Random sequences of network responses/requests, TU responses, timer firings
and transport errors never raise anything but LocalProtocolError (which
changes nothing), and the invariants below hold after every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from sip.errors import LocalProtocolError
from sip.message import Headers, Request, Response, make_response
from sip.timers import TIMER_NAMES
from sip.transaction import (
    ClientTransaction,
    Deliver,
    Effect,
    InviteClientTransaction,
    InviteServerTransaction,
    LayerEvent,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    RequestReceived,
    ResponseReceived,
    Send,
    SendMessage,
    ServerTransaction,
    StartTimer,
    State,
    StrayResponse,
    Terminated,
    Transaction,
    TransactionLayer,
    TransactionTerminated,
)

Step = tuple[str, object, object]
SETTINGS = settings(max_examples=200, deadline=None)
TARGET = ("127.0.0.1", 5060)
# Common codes often (1xx, 2xx and failures alike), any code sometimes.
STATUS = st.one_of(
    st.sampled_from([100, 180, 183, 200, 202, 200, 486, 404, 603]),
    st.integers(min_value=100, max_value=699),
)


def request(method: str, to_tag: str | None = None) -> Request:
    to = "<sip:b@example.com>" + (f";tag={to_tag}" if to_tag else "")
    headers = Headers(
        [
            ("Via", "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKprop"),
            ("From", "<sip:a@example.com>;tag=a"),
            ("To", to),
            ("Call-ID", "prop"),
            ("CSeq", f"1 {method}"),
        ]
    )
    return Request(method=method, uri="sip:b@example.com", headers=headers)


@dataclass
class Record:
    """Everything a machine returned, checked after every step."""

    txn: Transaction
    now: float = 0.0
    effects: list[Effect] = field(default_factory=list)
    terminated_at: int | None = None

    def take(self, effects: list[Effect]) -> None:
        if self.terminated_at is not None:
            assert effects == [], "no effects after Terminated"
        for i, effect in enumerate(effects):
            if isinstance(effect, Terminated):
                assert i == len(effects) - 1, "Terminated is the last effect"
                self.terminated_at = len(self.effects) + i
            if isinstance(effect, StartTimer):
                assert effect.deadline > self.now
        self.effects.extend(effects)
        assert (self.terminated_at is not None) == (self.txn.state is State.TERMINATED)
        if self.txn.terminated:
            assert self.txn.armed == {}
        assert sum(isinstance(e, Terminated) for e in self.effects) <= 1


def fire(record: Record, choice: int, name: str) -> None:
    """Fire the earliest armed timer (choice 0), or ``name`` now (maybe stale)."""
    txn = record.txn
    if choice == 0 and txn.armed:
        name, deadline = min(txn.armed.items(), key=lambda kv: kv[1])
        record.now = max(record.now, deadline)
    record.take(txn.timer_fired(name, record.now))


TIMER = st.sampled_from(sorted(TIMER_NAMES))


def steps(weights: dict[str, int]) -> st.SearchStrategy[Step]:
    """Steps of the given kinds, drawn in proportion to ``weights`` so that
    inputs ending a transaction at once stay rare and deep states are reached."""
    kinds = [kind for kind, weight in weights.items() for _ in range(weight)]

    @st.composite
    def step(draw: st.DrawFn) -> Step:
        kind = draw(st.sampled_from(kinds))
        if kind in ("response", "tu"):
            return (kind, draw(STATUS), draw(st.sampled_from(["x", "y"])))
        if kind == "fire":
            return (kind, draw(st.integers(0, 1)), draw(TIMER))
        if kind == "wait":
            return (kind, draw(st.integers(0, 40)), "")
        return (kind, 0, "")

    return step()


CLIENT_STEP = steps({"response": 6, "fire": 4, "wait": 2, "transport_error": 1, "terminate": 1})


def run_client(txn: ClientTransaction, steps: list[Step]) -> Record:
    record = Record(txn)
    record.take(txn.start(0.0))
    for kind, a, b in steps:
        if kind == "response":
            assert isinstance(a, int) and isinstance(b, str)
            record.take(txn.receive_response(make_response(txn.request, a, to_tag=b), record.now))
        elif kind == "fire":
            assert isinstance(a, int) and isinstance(b, str)
            fire(record, a, b)
        elif kind == "transport_error":
            record.take(txn.transport_error(record.now))
        elif kind == "terminate":
            record.take(txn.terminate(record.now))
        else:
            assert isinstance(a, int)
            record.now += a / 4
    return record


def delivered_finals(record: Record, *, success: bool | None = None) -> list[int]:
    out = []
    for e in record.effects:
        if isinstance(e, Deliver) and not isinstance(e.message, Request):
            status = e.message.status
            if status >= 200 and (success is None or (status < 300) == success):
                out.append(status)
    return out


# -- RFC 3261 §17.1.2.2 / §17.1.1.2 -------------------------------------------------


@SETTINGS
@given(st.booleans(), st.lists(CLIENT_STEP, min_size=4, max_size=30))
def test_nict_passes_at_most_one_final_response_to_the_tu(
    reliable: bool, steps: list[Step]
) -> None:
    record = run_client(
        NonInviteClientTransaction(request("BYE"), TARGET, reliable=reliable), steps
    )
    assert len(delivered_finals(record)) <= 1
    sends = [e for e in record.effects if isinstance(e, Send)]
    assert all(s.message is record.txn.request for s in sends)
    if reliable:
        assert len(sends) == 1


@SETTINGS
@given(st.booleans(), st.lists(CLIENT_STEP, min_size=4, max_size=30))
def test_ict_passes_one_non_2xx_final_and_none_after_a_2xx(
    reliable: bool, steps: list[Step]
) -> None:
    txn = InviteClientTransaction(request("INVITE"), TARGET, reliable=reliable)
    record = run_client(txn, steps)
    failures = delivered_finals(record, success=False)
    successes = delivered_finals(record, success=True)
    assert len(failures) <= 1
    # No non-2xx is delivered after a 2xx (RFC 6026 Accepted absorbs them).
    finals = delivered_finals(record)
    if successes:
        assert all(s < 300 for s in finals[finals.index(successes[0]) :])
    acks = [e for e in record.effects if isinstance(e, Send) and e.message.method == "ACK"]  # type: ignore[union-attr]
    assert bool(acks) == bool(failures)
    assert all(a.message is txn.ack for a in acks)


SERVER_STEP = steps(
    {"tu": 6, "retransmit": 2, "ack": 2, "fire": 4, "wait": 2, "transport_error": 1}
)


def run_server(txn: ServerTransaction, steps: list[Step]) -> Record:
    record = Record(txn)
    record.take(txn.start(0.0))
    for kind, a, b in steps:
        if kind == "retransmit":
            record.take(txn.receive_request(request(txn.request.method), record.now))
        elif kind == "ack":
            record.take(txn.receive_request(request("ACK", to_tag="t"), record.now))
        elif kind == "tu":
            assert isinstance(a, int)
            before = (txn.state, dict(txn.armed), txn.last_response)
            try:
                record.take(
                    txn.send_response(make_response(txn.request, a, to_tag="t"), record.now)
                )
            except LocalProtocolError:
                assert (txn.state, txn.armed, txn.last_response) == before
        elif kind == "fire":
            assert isinstance(a, int) and isinstance(b, str)
            fire(record, a, b)
        elif kind == "transport_error":
            record.take(txn.transport_error(record.now))
        else:
            assert isinstance(a, int)
            record.now += a / 4
    return record


def request_deliveries(record: Record, method: str) -> int:
    return sum(
        isinstance(e, Deliver) and getattr(e.message, "method", None) == method
        for e in record.effects
    )


def sent_statuses(record: Record) -> list[int]:
    return [e.message.status for e in record.effects if isinstance(e, Send)]  # type: ignore[union-attr]


# -- RFC 3261 §17.2.1 / §17.2.2, RFC 6026 §8.7 ----------------------------------------


@SETTINGS
@given(st.booleans(), st.lists(SERVER_STEP, min_size=4, max_size=30))
def test_nist_passes_request_once_and_sends_only_one_final(
    reliable: bool, steps: list[Step]
) -> None:
    record = run_server(
        NonInviteServerTransaction(request("BYE"), TARGET, reliable=reliable), steps
    )
    assert request_deliveries(record, "BYE") == 1
    assert request_deliveries(record, "ACK") == 0
    finals = {s for s in sent_statuses(record) if s >= 200}
    assert len(finals) <= 1
    assert all(e.target == TARGET for e in record.effects if isinstance(e, Send))


@SETTINGS
@given(st.booleans(), st.lists(SERVER_STEP, min_size=4, max_size=30))
def test_ist_passes_invite_once_and_never_mixes_2xx_and_failure(
    reliable: bool, steps: list[Step]
) -> None:
    txn = InviteServerTransaction(request("INVITE"), TARGET, reliable=reliable)
    record = run_server(txn, steps)
    assert request_deliveries(record, "INVITE") == 1
    statuses = sent_statuses(record)
    assert statuses[0] == 100
    failures = {s for s in statuses if s >= 300}
    successes = {s for s in statuses if 200 <= s < 300}
    assert len(failures) <= 1
    assert not (failures and successes)
    # ACKs reach the TU only after a 2xx (RFC 6026 Accepted state).
    if request_deliveries(record, "ACK"):
        assert successes


# -- a UAC layer and a UAS layer over a lossy link ------------------------------------------

UAC_ADDR = ("127.0.0.1", 5062)
UAS_ADDR = ("127.0.0.1", 5060)


class LossyLink:
    """Two TransactionLayers and two trivial TUs; ``drops`` decides the fate
    of the first messages (True = lost), later ones always arrive."""

    def __init__(self, drops: list[bool], final: int, method: str) -> None:
        self.drops = drops
        self.final = final
        self.method = method
        self.sent = 0
        self.uac = TransactionLayer()
        self.uas = TransactionLayer()
        self.uac_events: list[LayerEvent] = []
        self.uas_requests: list[Request] = []

    def _lost(self) -> bool:
        self.sent += 1
        return self.sent <= len(self.drops) and self.drops[self.sent - 1]

    def to_uas(self, events: list[LayerEvent], now: float) -> None:
        for e in events:
            if isinstance(e, SendMessage):
                if not self._lost():
                    assert isinstance(e.message, Request)
                    self.from_uas(self.uas.receive_request(e.message, UAC_ADDR, False, now), now)
            else:
                self.uac_events.append(e)
                if isinstance(e, ResponseReceived | StrayResponse):
                    resp = e.response
                    if resp.status >= 200 and resp.status < 300 and resp.cseq.method == "INVITE":
                        # The UAC TU ACKs every 2xx itself (RFC 6026), new branch.
                        ack = request("ACK", to_tag="t")
                        ack.headers.set("Via", "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKack")
                        self.to_uas(self.uac.send_stateless(ack, UAS_ADDR), now)

    def from_uas(self, events: list[LayerEvent], now: float) -> None:
        for e in events:
            if isinstance(e, SendMessage):
                if not self._lost():
                    assert isinstance(e.message, Response)
                    self.to_uas(self.uac.receive_response(e.message, now), now)
            elif isinstance(e, RequestReceived):
                self.uas_requests.append(e.request)
                if e.transaction is not None:  # the UAS TU answers at once
                    txn = e.transaction
                    if self.method == "INVITE":
                        ringing = make_response(txn.request, 180, to_tag="t")
                        self.from_uas(self.uas.send_response(txn, ringing, now), now)
                    answer = make_response(txn.request, self.final, to_tag="t")
                    self.from_uas(self.uas.send_response(txn, answer, now), now)

    def run(self) -> None:
        req = request(self.method)
        req.headers.set("Via", "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKlossy")
        _, events = self.uac.send_request(req, UAS_ADDR, False, 0.0)
        self.to_uas(events, 0.0)
        now = 0.0
        while True:
            deadlines = [d for d in (self.uac.next_deadline(), self.uas.next_deadline()) if d]
            if not deadlines:
                break
            now = min(deadlines)
            assert now < 200.0
            self.to_uas(self.uac.advance(now), now)
            self.from_uas(self.uas.advance(now), now)


@SETTINGS
@given(
    st.lists(st.booleans(), max_size=24),
    st.sampled_from([200, 486, 603]),
    st.sampled_from(["INVITE", "BYE"]),
)
def test_lossy_link_never_duplicates_requests_or_finals_and_ends_empty(
    drops: list[bool], final: int, method: str
) -> None:
    link = LossyLink(drops, final, method)
    link.run()
    # The request reaches the UAS TU at most once (ACKs for 2xx aside).
    assert sum(r.method == method for r in link.uas_requests) <= 1
    finals = [
        e.response.status
        for e in link.uac_events
        if isinstance(e, ResponseReceived) and e.response.status >= 200
    ]
    if method == "BYE" or final >= 300:
        assert len(finals) <= 1
    assert set(finals) <= {final}
    terminated = [e for e in link.uac_events if isinstance(e, TransactionTerminated)]
    assert len(terminated) <= 1
    # Every transaction is gone, except an INVITE left ringing by its TU.
    assert len(link.uas) == 0
    for txn in link.uac.transactions():
        assert txn.state is State.PROCEEDING
        link.uac.terminate(txn, 300.0)
    assert len(link.uac) == 0
