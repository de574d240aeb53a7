"""Agent states (D11) and the table of allowed transitions.

Theory of operation: an agent has exactly one state across every queue it
is logged in to. Inputs move it along the table below; anything not in the
table raises :class:`IllegalTransition`. The engine is the only writer.

    logged_out --login--------------> ready
    ready      --reserve------------> reserved     (an offer rings)
    reserved   --answer-------------> on_call
    reserved   --offer_over---------> ready        (failed or cancelled)
    on_call    --call_ended---------> wrap_up | ready
    wrap_up    --wrap_up_over-------> ready        (timer or agent, D9)
    wrap_up    --pause--------------> paused       (D9: extend wrap-up)
    ready      --pause--------------> paused
    paused     --unpause------------> ready
    *          --logout-------------> logged_out
    ready      --engage-------------> on_call      (a call the engine did not offer)
    reserved   --engage-------------> on_call      (its offer is withdrawn)
    on_call    --release------------> ready | wrap_up

On a queue call, pause and logout are remembered and applied when the call
ends (on_call -> paused | logged_out, skipping wrap-up). An agent who holds
work the engine did not offer (acd.domain.work) is never ready: a move that
would make it ready makes it on_call instead, until the work is released.
"""

from __future__ import annotations

from enum import StrEnum

from acd.domain.errors import IllegalTransition


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


S = AgentState

TRANSITIONS: dict[tuple[AgentState, str], AgentState] = {
    (S.LOGGED_OUT, "login"): S.READY,
    (S.READY, "reserve"): S.RESERVED,
    (S.RESERVED, "answer"): S.ON_CALL,
    (S.RESERVED, "offer_over"): S.READY,
    (S.ON_CALL, "call_ended_wrap_up"): S.WRAP_UP,
    (S.ON_CALL, "call_ended"): S.READY,
    (S.WRAP_UP, "wrap_up_over"): S.READY,
    (S.WRAP_UP, "pause"): S.PAUSED,
    (S.READY, "pause"): S.PAUSED,
    (S.RESERVED, "pause"): S.PAUSED,
    (S.PAUSED, "pause"): S.PAUSED,
    (S.PAUSED, "unpause"): S.READY,
    (S.READY, "logout"): S.LOGGED_OUT,
    (S.RESERVED, "logout"): S.LOGGED_OUT,
    (S.WRAP_UP, "logout"): S.LOGGED_OUT,
    (S.PAUSED, "logout"): S.LOGGED_OUT,
    (S.ON_CALL, "pause"): S.PAUSED,
    (S.ON_CALL, "logout"): S.LOGGED_OUT,
    (S.READY, "engage"): S.ON_CALL,
    (S.RESERVED, "engage"): S.ON_CALL,
    (S.ON_CALL, "release"): S.READY,
    (S.ON_CALL, "release_wrap_up"): S.WRAP_UP,
}


def next_state(state: AgentState, event: str) -> AgentState:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(f"agent in state {state.value!r} cannot {event!r}") from None
