"""The caller's side of callbacks (B1, B3, B4, B6, Q7).

:func:`offered` says whether a queue offers callback now (B3, B6): the
gates that are set must all pass (the clock window, open for at least X
minutes, not within X minutes of closing); of the triggers that are set
(more than N waiting, longest wait over X min, EWT over X min, B6 average
wait over X min) at least one must hold; with no trigger set it is offered
whenever the gates pass.

:class:`CallbackDialog` is the ``callback:QUEUE`` destination of the call
flows: the caller confirms the number they call from or keys in another
(checked against the plan's rules for calls out, so no premium or foreign
numbers unless the queue's class allows them), picks a time from the
admin's choices if there are any, hears the confirmation and is hung up.
The request keeps the place the caller had in the queue.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog

from acd.config import CallbackSettings, Dialplan, Queue
from acd.config.types import parse_range
from acd.contact.channels.callback import CallbackChannel
from acd.domain import QueueSnapshot
from acd.flows.runner import FlowRunner, Next
from acd.flows.session import CallerGone, FlowSession
from acd.telephony.outbound import OutboundRules

log = structlog.stdlib.get_logger("jono.callback")

CONFIRM, OTHER = "1", "2"
ENTRY_TRIES = 2


def offered(
    settings: CallbackSettings,
    queue: Queue,
    plan: Dialplan,
    snapshot: QueueSnapshot,
    wall: datetime,
) -> bool:
    s = settings
    zone = ZoneInfo(plan.server.timezone)
    if s.window is not None:
        start, end = parse_range(s.window)
        local = wall.astimezone(zone)
        minute = local.hour * 60 + local.minute
        if not start <= minute < end:
            return False
    if s.offer_after_open_minutes or s.stop_before_close_min:
        schedule = plan.schedules.get(queue.schedule or "")
        span = (
            schedule.open_span(wall, default_timezone=plan.server.timezone)
            if schedule is not None else None
        )
        if span is None:
            return False
        since_open, to_close = span
        if s.offer_after_open_minutes and since_open < s.offer_after_open_minutes:
            return False
        if s.stop_before_close_min and to_close <= s.stop_before_close_min:
            return False
    waits = [c.wait for c in snapshot.waiting]
    average = sum(waits) / len(waits) if waits else 0.0
    triggers = [
        (s.offer_when_waiting_over, len(waits) > s.offer_when_waiting_over),
        (s.offer_when_longest_wait_over_min, snapshot.longest_wait > 60 * s.offer_when_longest_wait_over_min),
        (s.offer_when_ewt_over_min,
         snapshot.ewt is not None and snapshot.ewt > 60 * s.offer_when_ewt_over_min),
        (s.auto_activate_avg_wait_min, average > 60 * s.auto_activate_avg_wait_min),
    ]
    active = [holds for setting, holds in triggers if setting]
    return not active or any(active)


def next_start(window: str, after: datetime, zone: ZoneInfo) -> float:
    """When ``window`` next opens after ``after`` (now, if it is open)."""
    start, end = parse_range(window)
    local = after.astimezone(zone)
    minute = local.hour * 60 + local.minute
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if minute < start:
        return (day + timedelta(minutes=start)).timestamp()
    if minute < end:
        return after.timestamp()
    return (day + timedelta(days=1, minutes=start)).timestamp()


class CallbackDialog:
    """The ``callback:QUEUE`` destination: number, time, confirmation (B4)."""

    def __init__(self, channel: CallbackChannel, runner: FlowRunner) -> None:
        self.channel = channel
        self.runner = runner
        self.rules = OutboundRules(runner.plan, runner.trunks)

    async def __call__(self, session: FlowSession, target: str | None) -> Next:
        plan = self.channel.plan
        queue = plan.queues.get(target or "") if plan is not None else None
        if plan is None or queue is None or queue.callback is None or target is None:
            session.reject(404, "Not In Service")
            return None
        settings = queue.callback
        await session.ready()
        number = await self._number(session, plan, settings)
        if number is None:
            await session.play(["goodbye"])
            session.hangup("no callback number")
            return None
        window, eligible_at = await self._time(session, plan, settings)
        joined_at = session.queue_joined_at or self.channel.clock.now()
        request = self.channel.new_request(
            queue=target, number=number, caller=session.call.caller_number, joined_at=joined_at,
            caller_name=session.caller.display, variables=dict(session.variables),
            window=window, eligible_at=eligible_at,
        )
        await self.channel.add(request)
        session.call.note = "callback_requested"
        session.call.variables["callback"] = request.id
        await session.play(["callback_confirmed"])
        session.hangup("callback requested")
        return None

    async def _number(
        self, session: FlowSession, plan: Dialplan, settings: CallbackSettings
    ) -> str | None:
        own = self._checked(settings, session.caller_number)
        if own is not None:
            session.clear_digits()
            digit = await session.play(["callback_confirm_number"], interruptible=True)
            if digit is None:
                digit = await session.collect(max_digits=1, timeout=6, terminator=None)
            else:
                digit = await session.collect(max_digits=1, timeout=0.1, terminator=None)
            if digit == CONFIRM:
                return own
        for attempt in range(ENTRY_TRIES):
            if attempt:  # the first time, digits keyed ahead count
                session.clear_digits()
            await session.play(["callback_enter_number"], interruptible=True)
            keyed = await session.collect(max_digits=16, timeout=8, inter_digit=4)
            number = self._checked(settings, keyed)
            if number is not None:
                return number
            log.info("callback number refused", number=keyed)
            with contextlib.suppress(CallerGone):
                await session.play(["invalid"])
        return None

    def _checked(self, settings: CallbackSettings, number: str) -> str | None:
        """The number to call back: a user's extension, or a public number in
        E.164 that the queue's class may call (P2 rules)."""
        directory = self.channel.centre.directory
        if number and directory is not None and directory.user_for(number) is not None:
            return number
        if not re.fullmatch(r"\+?[0-9]{3,16}", number or ""):
            return None
        decision = self.rules.decide_for_class(settings.dial, number)
        if decision is None or not decision.allowed or decision.reason == "emergency":
            return None
        # Called back through the trunk: a public number, not an extension.
        return decision.number if decision.number.startswith("+") else None

    async def _time(
        self, session: FlowSession, plan: Dialplan, settings: CallbackSettings
    ) -> tuple[str | None, float | None]:
        if not settings.intervals:
            return None, None
        session.clear_digits()
        choices = {str(i + 2): interval for i, interval in enumerate(settings.intervals)}
        digit = await session.play(["callback_choose_time"], interruptible=True)
        for interval in settings.intervals:
            if digit is not None:
                break
            pcm_name = interval.prompt
            if pcm_name is not None:
                digit = await self.runner.play_ref(session, pcm_name, interruptible=True)
        if digit is None:
            digit = await session.collect(max_digits=1, timeout=6, terminator=None)
        else:
            digit = await session.collect(max_digits=1, timeout=0.1, terminator=None)
        chosen = choices.get(digit or "")
        if chosen is None:
            return None, None  # as soon as possible
        zone = ZoneInfo(plan.server.timezone)
        return chosen.window, next_start(chosen.window, self.channel.clock.wall(), zone)
