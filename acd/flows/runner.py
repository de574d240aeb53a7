"""Run a caller through dial-plan destinations (N1-N7, P2, P4, S4).

Each destination kind is one coroutine that either ends the call or returns
the next destination: a menu returns the chosen option, a schedule the open
or closed branch, an announcement its ``then``.  A bounded number of steps
guards against dial plans that loop forever (menu -> menu -> ...).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from acd.flows.announcements import Announcements
from acd.flows.session import CallerGone, CallerSession
from acd.routing import Router
from sip.legs import Credentials

log = logging.getLogger("jono.flows")

MAX_STEPS = 50

Clock = Callable[[], datetime]
QueueHandler = Callable[[CallerSession, str], Awaitable[Any]]


class FlowRunner:
    def __init__(
        self,
        dialplan: Any,
        router: Router,
        announcements: Announcements,
        *,
        clock: Clock | None = None,
        queue_handler: QueueHandler | None = None,
    ) -> None:
        self.dialplan = dialplan
        self.router = router
        self.announcements = announcements
        self.clock = clock or (lambda: datetime.now(UTC))
        self.queue_handler = queue_handler

    async def run(self, session: CallerSession, destination: Any, number: Any = None) -> None:
        """Drive ``session`` from ``destination`` until the call ends."""
        try:
            current: Any = destination
            for _ in range(MAX_STEPS):
                if current is None:
                    break
                current = await self._step(session, current, number)
            else:
                log.warning("dial plan loop on %s; hanging up", session.call_id)
            if not session.gone.is_set() and session.peer is None:
                session.hangup("flow end")
            elif session.peer is not None:
                await session.wait_end()
        except CallerGone:
            pass
        except Exception:
            log.exception("call flow failed on %s", session.call_id)
            session.hangup("error", status=500)

    async def _step(self, session: CallerSession, dest: Any, number: Any) -> Any:
        kind, target = dest.kind, dest.target
        handler = getattr(self, f"_to_{kind}", None)
        if handler is None:
            log.warning("destination kind %s not available; hanging up", kind)
            return None
        return await handler(session, target, number)

    # -- destinations -------------------------------------------------------
    async def _to_hangup(self, session: CallerSession, target: str | None, number: Any) -> Any:
        if session.answered:
            await session.play(["goodbye"])
        session.hangup("dial plan")
        return None

    async def _to_echo(self, session: CallerSession, target: str | None, number: Any) -> Any:
        session.answer()
        session.media.echo(True)
        await session.wait_end()
        return None

    async def _to_announcement(self, session: CallerSession, target: str, number: Any) -> Any:
        await self._play_ref(session, target)
        return self.announcements.then(target)

    async def _to_schedule(self, session: CallerSession, target: str, number: Any) -> Any:
        schedule = self.dialplan.schedules[target]
        default_tz = str(getattr(self.dialplan.server, "timezone", "UTC"))
        return schedule.destination_at(self.clock(), default_timezone=default_tz)

    async def _to_menu(self, session: CallerSession, target: str, number: Any) -> Any:
        menu = self.dialplan.menus[target]
        if menu.language is not None:
            session.language = menu.language  # the caller's choice holds from here on
        if menu.collect is not None:
            return await self._collect(session, menu.collect, menu.prompt)
        session.clear_digits()
        for attempt in range(menu.retries + 1):
            digit = await self._play_ref(session, menu.prompt, interruptible=True)
            if digit is None:
                digit = await session.collect(max_digits=1, timeout=menu.timeout, terminator=None)
            else:
                digit = await session.collect(max_digits=1, timeout=0.1, terminator=None)
            if not digit:
                if attempt < menu.retries:
                    await self._play_ref(session, menu.timeout_prompt or "no_input")
                continue
            choice = menu.options.get(digit)
            if choice is not None:
                session.variables.setdefault("menu_" + target, digit)
                return choice
            if attempt < menu.retries:
                await self._play_ref(session, menu.invalid_prompt or "invalid")
        return menu.final

    async def _collect(self, session: CallerSession, collect: Any, menu_prompt: str) -> Any:
        # N6: the caller must be answered to send digits (RFC 4733 needs the
        # media path; INFO needs the dialog); without its own prompt the
        # collection plays the menu's.
        session.clear_digits()
        session.answer()
        await self._play_ref(session, collect.prompt or menu_prompt, interruptible=True)
        digits = await session.collect(
            max_digits=collect.max_digits, timeout=collect.timeout,
            terminator=collect.terminator, inter_digit=collect.timeout,
        )
        if len(digits) >= collect.min_digits:
            session.variables[collect.variable] = digits
        return collect.then

    async def _to_user(self, session: CallerSession, target: str, number: Any) -> Any:
        user = self.dialplan.users[target]
        targets = self.router.targets_for(target, datetime.now(UTC).timestamp())
        caller = session.caller_number
        shown = number.displayed_caller_id(caller, session.dialled) if number is not None else caller
        headers = [(f"X-Jono-{_header_name(k)}", v) for k, v in session.variables.items()]
        if not targets:
            result_status = 480
        else:
            result = await session.connect(
                targets, from_uri=f"sip:{shown}@{self.router.host}",
                to_uri=f"sip:{user.extension}@{self.router.host}",
                ring_timeout=float(user.no_answer_timeout), headers=headers,
            )
            if result.answered:
                await session.wait_end()
                return None
            result_status = result.status
        busy = result_status in (486, 600, 603)
        forward = user.forward_busy if busy else user.forward_no_answer
        if forward is not None:
            return forward
        if user.no_answer_message:
            await self._play_ref(session, user.no_answer_message)
            return None
        if session.answered:
            session.hangup("no answer")
        else:
            session.reject(486 if busy else 480)
        return None

    async def _to_voicemail(self, session: CallerSession, target: str, number: Any) -> Any:
        user = self.dialplan.users.get(target)
        message = getattr(user, "no_answer_message", None)
        await self._play_ref(session, message or "goodbye")
        return None

    async def _to_number(self, session: CallerSession, target: str, number: Any) -> Any:
        """An external number through the first trunk with an outbound gateway (P2)."""
        for name, trunk in self.dialplan.trunks.items():
            out = trunk.outbound
            routed = self.router.via_trunk(target, name)
            if out is None or routed is None:
                continue
            uri, gw = routed
            credentials = (
                Credentials(username=out.username, password=out.password or "")
                if out.username else None
            )
            caller_id = out.caller_id or session.caller_number
            domain = out.from_domain or gw.host
            result = await session.connect(
                [routed], from_uri=f"sip:{caller_id}@{domain}",
                to_uri=uri, credentials=credentials, ring_timeout=60,
            )
            log.info("outbound via %s to %s: %s", name, uri, result.status)
            if result.answered:
                await session.wait_end()
            elif not session.answered:
                session.reject(result.status if result.status >= 400 else 480)
            else:
                session.hangup("outbound failed")
            return None
        log.warning("no trunk with an outbound gateway for %s", target)
        session.reject(503)
        return None

    async def _to_queue(self, session: CallerSession, target: str, number: Any) -> Any:
        if self.queue_handler is None:
            log.warning("queues are not running; hanging up %s", session.call_id)
            session.reject(503)
            return None
        return await self.queue_handler(session, target)

    async def _play_ref(
        self, session: CallerSession, reference: str, *, interruptible: bool = False
    ) -> str | None:
        try:
            pcm = self.announcements.pcm(reference, session.language)
        except KeyError:
            log.warning("prompt %s missing; skipped", reference)
            return None
        return await session.play([pcm], interruptible=interruptible)


def _header_name(variable: str) -> str:
    return "-".join(part.capitalize() for part in variable.replace("_", "-").split("-"))
