"""Run a caller through dial-plan destinations (N1-N7, P2, P4, S4).

Each destination kind has one handler: a coroutine that either ends the
call or returns the next destination (a menu returns the chosen option, a
schedule the open or closed branch, an announcement its ``then``). The
runner's table is filled at start-up: the kinds built into flows here,
and the kinds other layers own (``queue`` from the contact centre);
:meth:`FlowRunner.check_complete` refuses to run a plan whose kinds are
not all handled. A bounded number of steps guards against dial plans that
loop forever (menu -> menu -> ...).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import structlog

from acd.calls.call import Call
from acd.calls.dialer import Dial
from acd.calls.status import Outcome, is_busy
from acd.clock import Clock
from acd.config import Dialplan, Number
from acd.config.menus import CollectDigits
from acd.config.types import Destination
from acd.flows.announcements import Announcements
from acd.flows.forwarding import Forwarding
from acd.flows.session import CallerGone, CallerInfo, FlowSession
from acd.telephony.directory import DeviceDirectory
from acd.telephony.trunks import OutboundRoute, TrunkRoutes

log = structlog.stdlib.get_logger("jono.flows")

MAX_STEPS = 50
OUTBOUND_RING_S = 60.0
HOST = "jono"

Next = Destination | None
FlowHandler = Callable[[FlowSession, str | None], Awaitable[Next]]


class FlowRunner:
    def __init__(
        self,
        plan: Dialplan,
        *,
        directory: DeviceDirectory,
        trunks: TrunkRoutes,
        announcements: Announcements,
        clock: Clock,
        forwarding: Forwarding | None = None,
    ) -> None:
        self.plan = plan
        self.forwarding = forwarding
        self.directory = directory
        self.trunks = trunks
        self.announcements = announcements
        self.clock = clock
        self.handlers: dict[str, FlowHandler] = {
            "hangup": self._to_hangup,
            "echo": self._to_echo,
            "announcement": self._to_announcement,
            "schedule": self._to_schedule,
            "menu": self._to_menu,
            "user": self._to_user,
            "number": self._to_number,
        }

    def handle(self, kind: str, handler: FlowHandler) -> None:
        """Add the handler of a destination kind another layer owns."""
        self.handlers[kind] = handler

    def check_complete(self, kinds: Iterable[str]) -> None:
        missing = sorted(set(kinds) - set(self.handlers))
        if missing:
            raise RuntimeError(f"no call-flow handler for destination kinds: {', '.join(missing)}")

    async def run(
        self, session: FlowSession, destination: Next, *, first: Awaitable[Next] | None = None
    ) -> None:
        """Drive ``session`` from ``destination`` (or from what ``first``
        returns) until the call ends."""
        steps: list[str] = []
        try:
            current: Next = await first if first is not None else destination
            for _ in range(MAX_STEPS):
                if current is None and session.peer is not None:
                    # Connected: the flow goes on where a transfer sends the caller.
                    current = await session.talk()
                if current is None:
                    break
                steps.append(str(current))
                log.info("route", to=str(current))
                current = await self._step(session, current)
            else:
                log.warning("dial plan loop: hanging up", steps=len(steps))
            if not session.gone.is_set():
                session.hangup("flow end")
        except CallerGone:
            pass
        except Exception:
            log.exception("call flow failed")
            session.hangup("error", status=500)
        finally:
            log.info("route taken", path=" -> ".join([session.caller.source, *steps]))

    async def _step(self, session: FlowSession, dest: Destination) -> Next:
        handler = self.handlers.get(dest.kind)
        if handler is None:  # check_complete keeps this from happening
            log.error("destination kind has no handler: hanging up", kind=dest.kind)
            return None
        return await handler(session, dest.target)

    # -- destinations -------------------------------------------------------
    async def _to_hangup(self, session: FlowSession, target: str | None) -> Next:
        if session.answered:
            await session.play(["goodbye"])
        session.hangup("dial plan")
        return None

    async def _to_echo(self, session: FlowSession, target: str | None) -> Next:
        """The echo test: the caller hears themselves through the media engine."""
        session.call.note = "echo"
        await session.ready()
        session.media.echo(True)
        await session.wait_end()
        return None

    async def _to_announcement(self, session: FlowSession, target: str | None) -> Next:
        assert target is not None
        session.call.note = "message"
        await self.play_ref(session, target)
        return self.announcements.then(target)

    async def _to_schedule(self, session: FlowSession, target: str | None) -> Next:
        assert target is not None
        schedule = self.plan.schedules[target]
        return schedule.destination_at(self.clock.wall(), default_timezone=self.plan.server.timezone)

    async def _to_menu(self, session: FlowSession, target: str | None) -> Next:
        assert target is not None
        menu = self.plan.menus[target]
        if menu.language is not None:
            session.language = menu.language  # the caller's choice holds from here on
        if menu.collect is not None:
            return await self._collect(session, menu.collect, menu.prompt)
        session.clear_digits()
        for attempt in range(menu.retries + 1):
            digit = await self.play_ref(session, menu.prompt, interruptible=True)
            if digit is None:
                digit = await session.collect(max_digits=1, timeout=menu.timeout, terminator=None)
            else:
                digit = await session.collect(max_digits=1, timeout=0.1, terminator=None)
            if not digit:
                if attempt < menu.retries:
                    await self.play_ref(session, menu.timeout_prompt or "no_input")
                continue
            choice = menu.options.get(digit)
            if choice is not None:
                session.variables.setdefault("menu_" + target, digit)
                return choice
            if attempt < menu.retries:
                await self.play_ref(session, menu.invalid_prompt or "invalid")
        return menu.final

    async def _collect(self, session: FlowSession, collect: CollectDigits, prompt: str) -> Next:
        # N6: the caller must be answered to send digits (RFC 4733 needs the
        # media path; INFO needs the dialog); without its own prompt the
        # collection plays the menu's.
        session.clear_digits()
        await session.ready()
        await self.play_ref(session, collect.prompt or prompt, interruptible=True)
        digits = await session.collect(
            max_digits=collect.max_digits, timeout=collect.timeout,
            terminator=collect.terminator, inter_digit=collect.timeout,
        )
        if len(digits) >= collect.min_digits:
            session.variables[collect.variable] = digits
        return collect.then

    def forward(self, user_name: str, kind: str) -> Destination | None:
        """P4: where ``user_name`` forwards ``kind`` (always, busy, no_answer):
        the user's own setting, else the plan's."""
        user = self.plan.users[user_name]
        if self.forwarding is not None:
            return self.forwarding.destination(user_name, user, kind)
        found: Destination | None = getattr(user, f"forward_{kind}")
        return found

    async def _to_user(self, session: FlowSession, target: str | None) -> Next:
        """A user's devices, all at once (D7, P4); forwarding always, on busy or
        on no answer."""
        assert target is not None
        always = self.forward(target, "always")
        if always is not None:
            session.variables.setdefault("forwarded_from", target)
            return always
        passthrough = (
            not session.has_media and self.media_mode(session.caller.source, target) == "passthrough"
        )
        dial = self.user_dial(session.call, session.caller, session.number, target,
                              passthrough=passthrough)
        outcome, status = Outcome.UNREACHABLE, 480
        if dial.targets:
            if not passthrough:
                await session.open_media()
            # Known before the answer, so the desktops see it as the call connects.
            session.call.agent_to_agent = self.between_agents(session.call, dial.user)
            result = await session.connect(dial)
            if result.party is not None:
                session.call.agent_to_agent = self.between_agents(session.call)
                return await session.talk()
            session.call.agent_to_agent = False
            outcome, status = result.outcome, result.status
        return await self.unanswered(session, target, outcome, status)

    def between_agents(self, call: Call, joining: str | None = None) -> bool:
        """O6: a direct call between two agents (users who answer queues);
        ``joining``: a user about to join the call."""
        users = [party.user for party in call.parties] + ([joining] if joining else [])
        if call.external is not None or len(users) < 2:
            return False
        members = {name for queue in self.plan.queues.values() for name in queue.members}
        return all(user in members for user in users)

    def user_dial(
        self, call: Call, caller: CallerInfo, number: Number | None, user_name: str, *,
        passthrough: bool,
    ) -> Dial:
        """Ring every device of ``user_name`` (D7), showing the caller as N4 says."""
        user = self.plan.users[user_name]
        shown = number.displayed_caller_id(caller.number, caller.dialled) if number else caller.number
        incoming = call.incoming
        return Dial(
            targets=tuple(self.directory.targets(user_name)),
            from_uri=f"sip:{shown}@{HOST}",
            from_display=caller.display,
            to_uri=f"sip:{user.extension}@{HOST}",
            headers=variable_headers(call.variables),
            ring_timeout=float(user.no_answer_timeout),
            offer=(incoming.sdp or b"") if passthrough and incoming is not None else None,
            user=user_name,
            max_forwards=hops_left(call),
        )

    async def unanswered(
        self, session: FlowSession, user_name: str, outcome: Outcome, status: int
    ) -> Next:
        """P4: the user did not answer: forward, a message, or the caller is told."""
        user = self.plan.users[user_name]
        busy = is_busy(outcome)
        forward = self.forward(user_name, "busy" if busy else "no_answer")
        if forward is not None:
            return forward
        if user.no_answer_message:
            session.call.note = "message"
            await self.play_ref(session, user.no_answer_message)
            return None
        if session.answered:
            session.hangup("no answer")
        else:
            # The caller hears what the callee said (busy, declined); our own
            # ring timeout and cancels become 480 Temporarily Unavailable.
            session.reject(status if status >= 400 and status not in (408, 487) else 480)
        return None

    async def _to_number(self, session: FlowSession, target: str | None) -> Next:
        """An external number through the plan's outbound trunk (P2)."""
        assert target is not None
        route = self.trunks.outbound(target, self.plan.outbound.trunk)
        if route is None:
            log.warning("no trunk with an outbound gateway", number=target)
            session.reject(503)
            return None
        return await self.call_out(session, route)

    async def call_out(self, session: FlowSession, route: OutboundRoute) -> Next:
        """Through the trunk, showing the caller ID the plan gives (N3)."""
        await session.open_media()
        session.call.external = session.call.external or "outbound"
        result = await session.connect(outbound_dial(session.call, session.caller, route))
        log.info("outbound", trunk=route.trunk, uri=route.uri, status=result.status)
        if result.party is not None:
            return await session.talk()
        if not session.answered:
            session.reject(result.status if result.status >= 400 else 480)
        else:
            session.hangup("outbound failed")
        return None

    # -- helpers ---------------------------------------------------------------
    def media_mode(self, source: str, callee: str) -> str:
        """Per-user, then per-trunk/caller, then server-wide media handling."""
        mode = self.plan.users[callee].media
        if mode:
            return mode
        kind, _, name = source.partition(":")
        entry = self.plan.users.get(name) if kind == "user" else self.plan.trunks.get(name)
        if entry is not None and entry.media:
            return entry.media
        return self.plan.server.media.mode

    async def play_ref(
        self, session: FlowSession, reference: str, *, interruptible: bool = False
    ) -> str | None:
        try:
            pcm = self.announcements.pcm(reference, session.language)
        except KeyError:
            log.warning("prompt missing: skipped", prompt=reference)
            return None
        return await session.play([pcm], interruptible=interruptible)


def outbound_dial(call: Call, caller: CallerInfo, route: OutboundRoute) -> Dial:
    """A number through the trunk, showing ``caller`` as the plan says (N3)."""
    return Dial(
        targets=(route.dial_target(),),
        from_uri=route.from_uri(caller.number, presented=caller.presented),
        to_uri=route.uri,
        credentials=route.credentials,
        ring_timeout=OUTBOUND_RING_S,
        max_forwards=hops_left(call),
    )


def hops_left(call: Call) -> int:
    """RFC 3261 §16.6 step 3: a call placed for a caller carries the hop count
    down, so a number forwarded back to Jono cannot loop for ever."""
    incoming = call.incoming
    return incoming.max_forwards - 1 if incoming is not None else 70


def header_name(variable: str) -> str:
    """``customer_number`` -> ``Customer-Number`` (for ``X-Jono-Customer-Number``)."""
    return "-".join(part.capitalize() for part in variable.replace("_", "-").split("-"))


def variable_headers(variables: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """N6: digits collected in menus travel with the call as X-Jono-* headers."""
    return tuple((f"X-Jono-{header_name(k)}", v) for k, v in variables.items())
