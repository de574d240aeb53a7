"""SUBSCRIBE/NOTIFY, notifier side (RFC 6665), for message waiting (RFC 3842).

Theory of operation
-------------------
A phone subscribes to ``message-summary`` for its mailbox with an
out-of-dialog SUBSCRIBE.  The application authenticates it, checks the
event package, and makes a :class:`Subscription`, which answers 200 with
the granted ``Expires`` (the dialog is created as by any 2xx, RFC 3261
§12.1.1) and sends the current state in a NOTIFY at once.  The phone
refreshes it with SUBSCRIBE in the dialog before it expires, or ends it
with ``Expires: 0``; the timer ``expires`` ends it otherwise.  Every end
sends a last NOTIFY with ``Subscription-State: terminated`` and reports the
subscription to ``on_end`` once.

The state itself (what the body says) belongs to the application: the
subscription calls ``state()`` for the body of each NOTIFY, and the
application calls :meth:`Subscription.notify` when it changes.

:func:`message_summary` renders the RFC 3842 body; :func:`send_unsolicited`
sends a NOTIFY outside any subscription to a phone configured to expect one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sip.dialog import Dialog, DialogState, new_call_id, new_tag
from sip.message import Headers, Request, Response, make_response
from sip.transport import Target
from sip.ua import ALLOW_HEADER, UserAgent

log = logging.getLogger("jono.sip.subscriptions")

MESSAGE_SUMMARY = "message-summary"
SIMPLE_MESSAGE_SUMMARY = "application/simple-message-summary"
TIMER_EXPIRES = "expires"
# RFC 3842 §4.1: "the default subscription duration ... 3600 seconds".
DEFAULT_EXPIRES_S = 3600
MIN_EXPIRES_S = 60
MAX_EXPIRES_S = 3600


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxCounts:
    """What one mailbox holds (RFC 3842 §5: new/old voice messages)."""

    new: int
    old: int


def message_summary(counts: MailboxCounts, account: str | None = None) -> bytes:
    """The body of a message-summary NOTIFY (RFC 3842 §5.2).

    "Messages-Waiting: yes" when there are new messages; the optional
    Message-Account names the mailbox; "Voice-Message: new/old" counts the
    voice messages (with urgent counts in parentheses, none here)."""
    lines = [f"Messages-Waiting: {'yes' if counts.new else 'no'}"]
    if account:
        lines.append(f"Message-Account: {account}")
    lines.append(f"Voice-Message: {counts.new}/{counts.old} (0/0)")
    return ("\r\n".join(lines) + "\r\n").encode()


def requested_expires(request: Request) -> int:
    """The Expires a SUBSCRIBE asks for; the package default when absent."""
    value = (request.headers.get("Expires") or "").strip()
    return int(value) if value.isascii() and value.isdigit() else DEFAULT_EXPIRES_S


State = Callable[[], tuple[str, bytes]]
"""The current state of the subscribed resource: (content type, body)."""


def _ignore_end(subscription: Subscription) -> None:
    pass


class Subscription:
    """The notifier side of one subscription dialog (RFC 6665 §4.2)."""

    def __init__(
        self,
        ua: UserAgent,
        request: Request,
        txn: object,
        source: Target,
        *,
        event: str,
        state: State,
        on_end: Callable[[Subscription], None] = _ignore_end,
        min_expires: int = MIN_EXPIRES_S,
        max_expires: int = MAX_EXPIRES_S,
    ) -> None:
        self.ua = ua
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.flow = source
        self.event = event
        self.state = state
        self.on_end = on_end
        self.local_tag = new_tag()
        self.dialog = Dialog.from_uas(request, self.local_tag)
        self.dialog.state = DialogState.CONFIRMED
        self.expires_at = 0.0
        self.ended = False
        self._request = request
        self._txn: object | None = txn
        self.notifies_sent = 0

    @property
    def call_id(self) -> str:
        return self.dialog.call_id

    def accept(self) -> int:
        """Answer the initial SUBSCRIBE and send the first NOTIFY; the granted
        expiry in seconds (0: a one-time fetch, RFC 6665 §4.4.3)."""
        request, txn = self._request, self._txn
        assert txn is not None
        self._txn = None
        expires = self._granted(request, txn)
        if expires is None:
            self.ended = True
            return 0
        self._respond_ok(request, txn, expires)
        if expires == 0:
            self._finish("timeout")
            return 0
        self.ua.register_dialog(self.dialog, self)
        self.ua.hold_flow(self.flow)
        self._arm(expires)
        self.notify()
        return expires

    def _granted(self, request: Request, txn: object, *, tag: str | None = None) -> int | None:
        expires = requested_expires(request)
        # RFC 6665 §4.2.1.1: a notifier that finds the expiration "too small
        # ... MUST return a 423 (Interval Too Brief)" with Min-Expires.
        if 0 < expires < self.min_expires:
            self.ua.respond(
                txn, request, 423, headers=(("Min-Expires", str(self.min_expires)),),
                to_tag=tag or self.local_tag,
            )  # fmt: skip
            return None
        # "The notifier MAY shorten the duration ... but MUST NOT lengthen it."
        return min(expires, self.max_expires)

    def _respond_ok(self, request: Request, txn: object, expires: int) -> None:
        # RFC 6665 §4.2.1.1: "200-class responses to SUBSCRIBE requests ...
        # MUST contain an Expires header field".
        self.ua.send_response(txn, make_response(
            request, 200, to_tag=self.local_tag,
            headers=(("Expires", str(expires)), ("Contact", self._contact())),
        ))  # fmt: skip

    def _contact(self) -> str:
        return self.ua.contact(self.flow.transport)

    def _arm(self, expires: int) -> None:
        self.expires_at = self.ua.now() + expires
        self.ua.arm(self, TIMER_EXPIRES, float(expires))

    # -- the dialog's requests (sip.ua.DialogOwner) ---------------------------------
    def on_dialog_request(self, request: Request, txn: object | None, source: Target) -> None:
        if txn is None or self.ended:
            return
        if not self.dialog.check_remote_cseq(request):
            self.ua.respond(txn, request, 500, "Out of order CSeq", to_tag=self.local_tag)
            return
        if request.method != "SUBSCRIBE":
            self.ua.respond(txn, request, 405, headers=(("Allow", ALLOW_HEADER),),
                            to_tag=self.local_tag)
            return
        # RFC 6665 §4.2.1.2: a SUBSCRIBE in the dialog refreshes it, and
        # "Upon successfully accepting or refreshing a subscription, notifiers
        # MUST send a NOTIFY request immediately".
        expires = self._granted(request, txn, tag=self.local_tag)
        if expires is None:
            return
        self.dialog.update_target(request)
        self._respond_ok(request, txn, expires)
        if expires == 0:
            # §4.1.2.3: "a SUBSCRIBE request with an "Expires" value of 0"
            # unsubscribes; the NOTIFY that follows says "terminated".
            self._finish("timeout")
            return
        self._arm(expires)
        self.notify()

    def on_timer(self, name: str, now: float) -> None:
        if name == TIMER_EXPIRES and not self.ended:
            # §4.2.2: when a subscription expires the notifier "SHOULD send a
            # NOTIFY request with a "Subscription-State" value of "terminated"
            # ... reason "timeout"".
            self._finish("timeout")

    # -- notifying ----------------------------------------------------------------
    def notify(self) -> None:
        """Send the current state (call on every change)."""
        if self.ended:
            return
        remaining = max(0, int(self.expires_at - self.ua.now()))
        self._send_notify(f"active;expires={remaining}")

    def terminate(self, reason: str = "noresource") -> None:
        """End the subscription from our side (the mailbox went away, shutdown)."""
        self._finish(reason)

    def _finish(self, reason: str) -> None:
        if self.ended:
            return
        self._send_notify(f"terminated;reason={reason}")
        self._drop()

    def _drop(self) -> None:
        if self.ended:
            return
        self.ended = True
        self.dialog.state = DialogState.TERMINATED
        self.ua.disarm(self, TIMER_EXPIRES)
        self.ua.forget_dialog(self.dialog)
        self.ua.release_flow(self.flow)
        on_end, self.on_end = self.on_end, _ignore_end
        try:
            on_end(self)
        except Exception:
            log.exception("subscription end hook failed")

    def _send_notify(self, state: str) -> None:
        content_type, body = self.state()
        request = self.dialog.create_request(
            "NOTIFY", via=self.ua.via(self.flow.transport), contact=self._contact(),
            body=body, content_type=content_type,
            extra=(("Event", self.event), ("Subscription-State", state)),
        )  # fmt: skip
        self.notifies_sent += 1
        self.ua.send_request(request, self.flow, self._notify_answered)

    def _notify_answered(self, response: Response | None, why: str) -> None:
        if response is not None and response.status < 300:
            return
        # RFC 6665 §4.2.2: a NOTIFY answered 481, or with no answer at all,
        # means the subscriber is gone: "the notifier MUST remove the
        # corresponding subscription" (§4.2.2, and RFC 5057 §5.2 for 481).
        status = response.status if response is not None else 408
        if status in (401, 407, 491):
            return  # not about the subscription: keep it
        log.info("subscription dropped after NOTIFY %s (%s)", status, why or "answered")
        self._drop()


def send_unsolicited(
    ua: UserAgent,
    target: Target,
    uri: str,
    *,
    to_uri: str,
    event: str,
    content_type: str,
    body: bytes,
    on_response: Callable[[Response | None, str], None] | None = None,
) -> Request:
    """A NOTIFY outside any subscription, for phones configured to expect one
    (RFC 3842 §4's package is subscribed to normally; many phones also take
    message waiting this way).  Sent to ``uri`` at ``target``."""
    headers = Headers()
    headers.add("Via", ua.via(target.transport))
    headers.add("Max-Forwards", "70")
    headers.add("From", f"<sip:jono@{ua.hostport()}>;tag={new_tag()}")
    headers.add("To", f"<{to_uri}>")
    headers.add("Call-ID", new_call_id(ua.public_host or "jono"))
    headers.add("CSeq", "1 NOTIFY")
    headers.add("Contact", ua.contact(target.transport))
    headers.add("Event", event)
    headers.add("Subscription-State", "active")
    headers.add("Content-Type", content_type)
    request = Request(method="NOTIFY", uri=uri, headers=headers, body=body)
    ua.send_request(request, target, on_response or _ignore_response)
    return request


def _ignore_response(response: Response | None, why: str) -> None:
    pass
