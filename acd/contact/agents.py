"""Agent commands: the one place that logs agents in and out, pauses and
readies them, and sets presence (D1, D8, D9). Feature codes, the JSON API
and the agent desktop all call these, so they follow the same rules."""

from __future__ import annotations

from collections.abc import Sequence

from acd.contact.centre import ContactCentre
from acd.domain import AcdError, AgentState


class AgentCommands:
    def __init__(self, centre: ContactCentre) -> None:
        self.centre = centre

    def _member_queues(self, agent: str) -> list[str]:
        plan = self.centre.plan
        if plan is None:
            return []
        return [name for name, queue in plan.queues.items() if agent in queue.members]

    def state(self, agent: str) -> AgentState | None:
        try:
            return self.centre.engine.agent_snapshot(agent).state
        except AcdError:
            return None

    def _settings_changed(self, agent: str) -> None:
        """Queues or presence changed (perhaps with no state change): tell the hub."""
        try:
            snap = self.centre.engine.agent_snapshot(agent)
        except AcdError:
            return
        self.centre.hub.publish({
            "type": "agent_settings", "agent": agent, "queues": sorted(snap.queues),
            "presence": "busy" if snap.presence_busy else "available", "at": self.centre.now(),
        })

    def login(self, agent: str, queues: Sequence[str] | None = None) -> str | None:
        """Log in to ``queues`` (None: all the agent's queues); an error text or None."""
        member_of = self._member_queues(agent)
        if not member_of:
            return f"{agent} is not a member of any queue: no queues to log in to"
        if queues is not None:
            unknown = [q for q in queues if q not in member_of]
            if unknown:
                return f"{agent} is not a member of queue {unknown[0]!r}"
        self.centre.sync_registration(agent)
        engine = self.centre.engine
        wanted = None if queues is None else list(queues)
        if not self.centre.run(lambda now: engine.agent_login(agent, wanted, now)):
            return f"{agent} cannot log in now"
        self._settings_changed(agent)
        return None

    def logout(
        self, agent: str, queues: Sequence[str] | None = None, reason: str = "logout"
    ) -> str | None:
        engine = self.centre.engine
        leaving = None if queues is None else list(queues)
        if not self.centre.run(lambda now: engine.agent_logout(agent, now, leaving, reason)):
            return f"{agent} cannot log out now"
        self._settings_changed(agent)
        return None

    def pause(self, agent: str, reason: str = "paused") -> str | None:
        engine = self.centre.engine
        if not self.centre.run(lambda now: engine.agent_pause(agent, reason, now)):
            return f"{agent} cannot pause now"
        return None

    def ready(self, agent: str) -> str | None:
        """End a pause or wrap-up (D9)."""
        engine = self.centre.engine
        if not self.centre.run(lambda now: engine.agent_ready(agent, now)):
            return f"{agent} cannot go ready now"
        return None

    def presence(self, agent: str, busy: bool) -> str | None:
        """D8: busy/red (DND, in a meeting) or available."""
        engine = self.centre.engine
        if not self.centre.run(lambda now: engine.agent_presence(agent, busy, now)):
            return f"no agent {agent!r}"
        self._settings_changed(agent)
        return None

    def set_state(
        self,
        agent: str,
        state: str,
        *,
        reason: str | None = None,
        queues: Sequence[str] | None = None,
    ) -> str | None:
        """Go ``ready`` (logging in first when logged out, or into ``queues``),
        ``paused`` (with a reason) or ``logged_out`` (of ``queues``, or all)."""
        current = self.state(agent)
        if current is None:
            return f"no agent {agent!r}"
        if state == AgentState.READY.value:
            if current is AgentState.LOGGED_OUT or queues is not None:
                error = self.login(agent, queues)
                if error is not None or current is AgentState.LOGGED_OUT:
                    return error
            return self.ready(agent)
        if state == AgentState.PAUSED.value:
            return self.pause(agent, reason or "paused")
        if state == AgentState.LOGGED_OUT.value:
            return self.logout(agent, queues, reason or "logout")
        return f"state {state!r} must be one of ready, paused, logged_out"
