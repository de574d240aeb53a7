"""REFER (RFC 3515) and Replaces (RFC 3891): what a transfer request says.

Theory of operation
-------------------
A phone transfers a call by sending REFER inside the call's dialog; its
Refer-To names where the other party should go.  A blind transfer names a
plain target (``sip:1002@jono``); an attended transfer names the dialog of
the consultation call to be replaced (``sip:1002@jono?Replaces=...``, RFC
3891 §4 and RFC 3515 §2.1's embedded headers).  :func:`parse_refer_to`
turns the header value into a :class:`ReferTo`.

Accepting a REFER creates an implicit subscription to the ``refer`` event
(RFC 3515 §2.4.4): the agent that accepted it reports the progress of the
referenced request with NOTIFYs whose body is a ``message/sipfrag`` status
line (§2.4.5).  :class:`ReferNotifier` is that notifier; it sends through
the dialog's leg (``sip.leg_dialog``) and knows nothing of calls.

Pure parsing here; the notifier only asks its leg to send requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote

from sip.errors import SipParseError
from sip.headers import SipUri, parse_name_addr, parse_params
from sip.message import Response, reason_phrase

SIPFRAG = "message/sipfrag"
# RFC 3515 §2.4.4 and RFC 6665 §4.2.2: how long the implicit subscription
# lasts unless a final NOTIFY ends it first.
REFER_EXPIRES_S = 120


@dataclass(frozen=True, slots=True, kw_only=True)
class Replaces:
    """A ``Replaces`` value (RFC 3891 §6.1): the dialog to be replaced.

    "The to-tag parameter is compared to the local tag, and the from-tag
    parameter is compared to the remote tag" (§3) by the agent that
    receives it."""

    call_id: str
    to_tag: str
    from_tag: str
    early_only: bool = False

    @classmethod
    def parse(cls, text: str) -> Replaces:
        # Replaces = "Replaces" HCOLON callid *(SEMI replaces-param)
        call_id, _, rest = text.strip().partition(";")
        params = parse_params(rest)
        to_tag, from_tag = params.get("to-tag"), params.get("from-tag")
        if not call_id.strip() or not to_tag or not from_tag:
            raise SipParseError(f"bad Replaces {text!r}: needs a Call-ID, to-tag and from-tag")
        return cls(
            call_id=call_id.strip(), to_tag=to_tag, from_tag=from_tag,
            early_only="early-only" in params,
        )  # fmt: skip

    def __str__(self) -> str:
        early = ";early-only" if self.early_only else ""
        return f"{self.call_id};to-tag={self.to_tag};from-tag={self.from_tag}{early}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferTo:
    """Where a REFER sends the other party: a URI and the headers embedded in it."""

    uri: str  # without the embedded headers
    user: str | None  # the user part: what was "dialled"
    headers: dict[str, str]  # embedded headers, unescaped (RFC 3261 §19.1.1)
    replaces: Replaces | None = None


def parse_refer_to(value: str) -> ReferTo:
    """A Refer-To value (RFC 3515 §2.1) -> :class:`ReferTo`.

    "Refer-To = ("Refer-To" / "r") HCOLON ( name-addr / addr-spec ) *(SEMI
    generic-param)"; any SIP URI header it embeds (``?Replaces=...&Require=
    replaces``) is unescaped.  Raises SipParseError."""
    addr = parse_name_addr(value)
    uri = SipUri.parse(addr.uri)
    headers: dict[str, str] = {}
    for pair in (uri.headers or "").split("&"):
        if not pair:
            continue
        name, _, raw = pair.partition("=")
        headers[unquote(name).strip().lower()] = unquote(raw)
    replaces = Replaces.parse(headers["replaces"]) if "replaces" in headers else None
    bare = str(uri.with_(headers=None))
    return ReferTo(uri=bare, user=uri.user, headers=headers, replaces=replaces)


def sipfrag(status: int, reason: str | None = None) -> bytes:
    """RFC 3515 §2.4.5: "The body of a NOTIFY MUST begin with a SIP Response
    Status-Line"; a status line alone is a valid message/sipfrag (RFC 3420)."""
    return f"SIP/2.0 {status} {reason or reason_phrase(status)}\r\n".encode()


OnDone = Callable[[], None]


class NotifySender(Protocol):
    """What a notifier needs of its dialog's leg (``sip.leg_dialog.DialogLeg``)."""

    def send_in_dialog(
        self,
        method: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        on_response: Callable[[Response | None, str], None] | None = None,
    ) -> bool: ...


class ReferNotifier:
    """The notifier side of the implicit subscription of one accepted REFER.

    RFC 3515 §2.4.4: "A REFER creates an implicit subscription"; the first
    NOTIFY is sent at once (RFC 6665 §4.2.1.2), one more per progress step,
    and a final one with ``Subscription-State: terminated``.  With
    ``Refer-Sub: false`` (RFC 4488 §4) no subscription exists and nothing is
    sent.  ``event_id`` is the REFER's CSeq number (§2.4.6: the id
    parameter tells apart the subscriptions of several REFERs).
    """

    def __init__(self, sender: NotifySender, event_id: int, *, subscribed: bool = True) -> None:
        self.sender = sender
        self.event_id = event_id
        self.subscribed = subscribed
        self.terminated = False
        self.last_status: int | None = None

    def progress(self, status: int, reason: str | None = None) -> None:
        """A provisional status of the referenced request (100 Trying, 180 Ringing)."""
        if self.terminated or not self.subscribed:
            return
        self.last_status = status
        self._notify(status, reason, f"active;expires={REFER_EXPIRES_S}", None)

    def final(self, status: int, reason: str | None = None, then: OnDone | None = None) -> None:
        """The final status; the subscription ends ("terminated;reason=noresource",
        RFC 6665 §4.1.3: the resource has no more state to report).  ``then``
        runs once the NOTIFY is answered (or failed), e.g. to send BYE after it."""
        if self.terminated:
            return
        self.terminated = True
        self.last_status = status
        if not self.subscribed:
            if then is not None:
                then()
            return
        self._notify(status, reason, "terminated;reason=noresource", then)

    def _notify(self, status: int, reason: str | None, state: str, then: OnDone | None) -> None:
        def answered(response: Response | None, why: str) -> None:
            if response is not None and response.status < 200:
                return
            if then is not None:
                then()

        sent = self.sender.send_in_dialog(
            "NOTIFY",
            body=sipfrag(status, reason),
            content_type=SIPFRAG,
            headers=(
                ("Event", f"refer;id={self.event_id}"),
                ("Subscription-State", state),
            ),
            on_response=answered,
        )
        if not sent and then is not None:
            then()
