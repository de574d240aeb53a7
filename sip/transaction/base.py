"""What the four transaction machines share: effects, inputs, states, the table driver.

Theory of operation
-------------------
A transaction (RFC 3261 §17) is a sans-I/O state machine.  It is fed
inputs -- a message from the network, a response from the TU, a timer
firing, a transport error -- each with the current time ``now``, and
answers with a list of *effects* for its owner to carry out: send a
message, start or cancel a timer, deliver a message to the TU, report a
timeout or transport failure, and finally ``Terminated()``.

Transitions are data (h2/stream.py style): each machine has a table
``(state, input) -> (actions, next state)``.  The state changes first, then
the actions run in order and return the effects.  A pair missing from the
table is handled by who asked:

* TU inputs (``send_response``) raise :class:`LocalProtocolError`: the TU
  asked for something the RFC forbids, and nothing changes;
* network and timer inputs are absorbed (no effects): the network may
  always repeat or reorder messages, and a timer may be stale.

Timers: ``StartTimer(name, deadline)`` arms timer ``name``; a later start of
the same name replaces it.  The machine remembers what it armed, so a firing
of a timer that is not armed (cancelled, replaced, or not yet due) is
ignored.  A zero-length timer (D, I, J, K over a reliable transport) is not
started: it fires at once, which terminates the transaction in the same
step.  ``Terminated()`` is always the last effect ever returned and implies
that every armed timer is cancelled (no ``CancelTimer`` effects are emitted
for it).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, auto
from typing import ClassVar

from sip.errors import LocalProtocolError
from sip.message import Request, Response
from sip.timers import DEFAULT_TIMERS, TIMER_NAMES, TimerConfig

# RFC 3261 §8.1.1.7: the branch ID inserted by an RFC 3261 element MUST
# always begin with the characters "z9hG4bK".
MAGIC_COOKIE = "z9hG4bK"


def make_branch() -> str:
    """A new, globally unique branch parameter (RFC 3261 §8.1.1.7)."""
    return MAGIC_COOKIE + secrets.token_hex(10)


# -- effects ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Send:
    """Pass ``message`` to the transport, addressed to ``target``."""

    message: Request | Response
    target: object


@dataclass(frozen=True, slots=True, kw_only=True)
class StartTimer:
    """Arm timer ``name`` (an RFC letter) to fire at absolute time ``deadline``."""

    name: str
    deadline: float

    def __post_init__(self) -> None:
        if self.name not in TIMER_NAMES:
            raise LocalProtocolError(f"unknown timer {self.name!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelTimer:
    """Disarm timer ``name``."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in TIMER_NAMES:
            raise LocalProtocolError(f"unknown timer {self.name!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Deliver:
    """Pass a request (server) or response (client) up to the TU."""

    message: Request | Response


@dataclass(frozen=True, slots=True, kw_only=True)
class TimedOut:
    """Timer B, F or H fired: tell the TU the transaction failed (408-like)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportFailed:
    """The transport could not send for this transaction (RFC 3261 §17.1.4, §17.2.4)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Terminated:
    """The transaction is over; forget it.  Always the last effect."""


Effect = Send | StartTimer | CancelTimer | Deliver | TimedOut | TransportFailed | Terminated


# -- states and inputs -----------------------------------------------------


class State(Enum):
    """Union of the states of the four machines (RFC 3261 Figures 5-8, RFC 6026)."""

    CALLING = auto()  # ICT
    TRYING = auto()  # NICT, NIST
    PROCEEDING = auto()
    COMPLETED = auto()
    CONFIRMED = auto()  # IST
    ACCEPTED = auto()  # ICT, IST (RFC 6026)
    TERMINATED = auto()


class Input(Enum):
    # from the network
    PROVISIONAL = auto()  # 1xx received (client)
    SUCCESS = auto()  # 2xx received (client)
    FAILURE = auto()  # 300-699 received (client)
    REQUEST = auto()  # the request again: a retransmission (server)
    ACK = auto()  # ACK matching an INVITE server transaction
    # from the TU
    TU_PROVISIONAL = auto()
    TU_SUCCESS = auto()
    TU_FAILURE = auto()
    # from the clock and the transport
    TIMER_A = auto()
    TIMER_B = auto()
    TIMER_D = auto()
    TIMER_E = auto()
    TIMER_F = auto()
    TIMER_G = auto()
    TIMER_H = auto()
    TIMER_I = auto()
    TIMER_J = auto()
    TIMER_K = auto()
    TIMER_L = auto()
    TIMER_M = auto()
    TRANSPORT_ERROR = auto()


TU_INPUTS = frozenset({Input.TU_PROVISIONAL, Input.TU_SUCCESS, Input.TU_FAILURE})
TIMER_INPUTS: Mapping[str, Input] = {
    inp.name[-1]: inp for inp in Input if inp.name.startswith("TIMER_")
}


def response_input(status: int, *, from_tu: bool) -> Input:
    """Classify a status code (RFC 3261 §21) as a machine input."""
    if not 100 <= status <= 699:
        raise LocalProtocolError(f"status {status} is not a SIP status code (100-699)")
    if status < 200:
        return Input.TU_PROVISIONAL if from_tu else Input.PROVISIONAL
    if status < 300:
        return Input.TU_SUCCESS if from_tu else Input.SUCCESS
    return Input.TU_FAILURE if from_tu else Input.FAILURE


Action = Callable[..., list[Effect]]
Table = Mapping[tuple[State, Input], tuple[tuple[Action, ...], State]]


# -- the machine base ------------------------------------------------------


class Transaction:
    """Common state and the table driver; subclasses give ``_table`` and actions."""

    __slots__ = ("request", "target", "reliable", "config", "state", "key", "armed", "_interval")

    _table: ClassVar[Table]
    initial_state: ClassVar[State]

    def __init__(
        self,
        request: Request,
        target: object,
        *,
        reliable: bool,
        config: TimerConfig = DEFAULT_TIMERS,
        key: object = None,
    ) -> None:
        self.request = request
        self.target = target
        self.reliable = reliable
        self.config = config
        self.state = self.initial_state
        # Opaque matching key, set by the transaction layer.
        self.key = key
        # Timer name -> deadline, for every timer this machine has armed.
        self.armed: dict[str, float] = {}
        # Current retransmission interval of timer A, E or G.
        self._interval = config.t1

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.request.method} {self.state.name} key={self.key!r}>"

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    # -- inputs common to all machines -----------------------------------
    def timer_fired(self, name: str, now: float) -> list[Effect]:
        """Timer ``name`` fired; ignored unless it is armed and due."""
        deadline = self.armed.get(name)
        if deadline is None or now < deadline:
            return []
        del self.armed[name]
        return self._step(TIMER_INPUTS[name], None, now)

    def transport_error(self, now: float) -> list[Effect]:
        """The transport failed to send a message of this transaction."""
        return self._step(Input.TRANSPORT_ERROR, None, now)

    def terminate(self, now: float) -> list[Effect]:
        """The TU abandons the transaction (e.g. RFC 3261 §9.1: no final
        response 64*T1 after a CANCEL).  Idempotent."""
        if self.terminated:
            return []
        return self._finish()

    # -- driver ------------------------------------------------------------
    def _step(self, inp: Input, message: Request | Response | None, now: float) -> list[Effect]:
        entry = self._table.get((self.state, inp))
        if entry is None:
            if inp in TU_INPUTS:
                raise LocalProtocolError(
                    f"{type(self).__name__}: {inp.name} not allowed in state {self.state.name}"
                )
            return []
        actions, next_state = entry
        self.state = next_state
        effects: list[Effect] = []
        for action in actions:
            effects.extend(action(self, message, now))
        return effects

    # -- helpers for actions ----------------------------------------------
    def _arm(self, name: str, duration: float, now: float) -> list[Effect]:
        """Start timer ``name``; a zero duration fires at once and terminates."""
        if duration <= 0:
            return self._finish()
        deadline = now + duration
        self.armed[name] = deadline
        return [StartTimer(name=name, deadline=deadline)]

    def _disarm(self, *names: str) -> list[Effect]:
        out: list[Effect] = []
        for name in names:
            if self.armed.pop(name, None) is not None:
                out.append(CancelTimer(name=name))
        return out

    def _finish(self, *_: object) -> list[Effect]:
        self.state = State.TERMINATED
        self.armed.clear()
        return [Terminated()]

    def _timed_out(self, *_: object) -> list[Effect]:
        return [TimedOut()]

    def _transport_failed(self, *_: object) -> list[Effect]:
        return [TransportFailed()]


class ClientTransaction(Transaction):
    """ICT or NICT: created by ``start`` sending the request, fed responses."""

    __slots__ = ()

    def start(self, now: float) -> list[Effect]:
        raise NotImplementedError

    def receive_response(self, response: Response, now: float) -> list[Effect]:
        """A response matched to this transaction (RFC 3261 §17.1.3)."""
        return self._step(response_input(response.status, from_tu=False), response, now)


class ServerTransaction(Transaction):
    """IST or NIST: created by a request from the network, fed TU responses."""

    __slots__ = ("last_response",)

    def __init__(
        self,
        request: Request,
        target: object,
        *,
        reliable: bool,
        config: TimerConfig = DEFAULT_TIMERS,
        key: object = None,
    ) -> None:
        super().__init__(request, target, reliable=reliable, config=config, key=key)
        # The most recent response passed to the transport.
        self.last_response: Response | None = None

    def start(self, now: float) -> list[Effect]:
        raise NotImplementedError

    def receive_request(self, request: Request, now: float) -> list[Effect]:
        """A request matched to this transaction: a retransmission, or an ACK."""
        inp = Input.ACK if request.method == "ACK" else Input.REQUEST
        return self._step(inp, request, now)

    def send_response(self, response: Response, now: float) -> list[Effect]:
        """The TU sends ``response`` through this transaction."""
        return self._step(response_input(response.status, from_tu=True), response, now)

    # -- helpers for actions ----------------------------------------------
    def _send_response(self, response: Response, _now: float) -> list[Effect]:
        self.last_response = response
        return [Send(message=response, target=self.target)]

    def _resend_last(self, *_: object) -> list[Effect]:
        if self.last_response is None:
            return []
        return [Send(message=self.last_response, target=self.target)]

    def _deliver(self, request: Request, _now: float) -> list[Effect]:
        return [Deliver(message=request)]
