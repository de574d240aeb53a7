"""Users' calls out: the class of service, blocked and emergency numbers (P2).

A user dials something that is neither an extension nor a number of the
plan: if it looks like a phone number it is a call out. The number is
normalised to E.164 by the trunk's rules, then:

* an emergency number (``outbound.emergency``) is always allowed, whatever
  the user's class, and is never blocked;
* a number with a blocked prefix (``outbound.blocked_prefixes``) is refused;
* class ``internal`` may not call out; ``national`` may call numbers of the
  trunk's own country code (and short service numbers without one);
  ``international`` may call any number.

The caller ID shown is the user's own (``users.NAME.caller_id``: their DID,
or a group number the plan lets them present, N3), else the trunk's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from acd.config import Dialplan
from acd.config.outbound import DialClass
from acd.telephony.trunks import OutboundRoute, TrunkRoutes

_PHONE = re.compile(r"\+?[0-9]+")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    number: str  # as it goes out: E.164, or the emergency number as dialled
    reason: str  # why allowed (emergency, national, ...) or why refused
    status: int = 200  # the SIP status of a refusal
    route: OutboundRoute | None = None
    caller_id: str | None = None


class OutboundRules:
    def __init__(self, plan: Dialplan, trunks: TrunkRoutes) -> None:
        self.plan = plan
        self.trunks = trunks

    def decide(self, user: str, dialled: str) -> Decision | None:
        """None when ``dialled`` is not a phone number (not a call out at all)."""
        conf = self.plan.users.get(user)
        caller_id = conf.caller_id if conf is not None else None
        dial_class = (conf.dial if conf is not None else None) or self.plan.outbound.default_class
        return self.decide_for_class(dial_class, dialled, caller_id)

    def decide_for_class(
        self, dial_class: DialClass, dialled: str, caller_id: str | None = None
    ) -> Decision | None:
        """The rules for a class of service (a user's, or a queue's callbacks)."""
        number = re.sub(r"[\s().-]", "", dialled)
        if not _PHONE.fullmatch(number):
            return None
        rules = self.plan.outbound
        trunk_rules = self.trunks.rules_of(rules.trunk)
        e164 = trunk_rules.normalise(number) if trunk_rules is not None else number
        route = self.trunks.outbound(number, rules.trunk)
        if number in rules.emergency or e164 in rules.emergency:
            if route is None:
                return Decision(False, number, "no trunk for calls out", 503)
            return Decision(True, number, "emergency", route=_as(route, number),
                            caller_id=caller_id)
        if any(e164.startswith(p) or number.startswith(p) for p in rules.blocked_prefixes):
            return Decision(False, e164, "number blocked", 403)
        if dial_class == "internal":
            return Decision(False, e164, "calls out not allowed", 403)
        home = f"+{trunk_rules.country_code}" if trunk_rules is not None else "+"
        if dial_class == "national" and e164.startswith("+") and not e164.startswith(home):
            return Decision(False, e164, "international calls not allowed", 403)
        if route is None:
            return Decision(False, e164, "no trunk for calls out", 503)
        return Decision(True, e164, dial_class, route=route, caller_id=caller_id)


def _as(route: OutboundRoute, number: str) -> OutboundRoute:
    """The route with the number as dialled (emergency numbers are not E.164)."""
    host = route.uri.rpartition("@")[2]
    return OutboundRoute(
        trunk=route.trunk, uri=f"sip:{number}@{host}", target=route.target,
        credentials=route.credentials, caller_id=route.caller_id, from_domain=route.from_domain,
    )
