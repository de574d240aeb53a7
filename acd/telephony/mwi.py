"""Message waiting (P4, RFC 3842): phones learn how many voicemails wait.

A phone subscribes to ``message-summary`` for its user's mailbox with
SUBSCRIBE (authenticated by digest like REGISTER; a user subscribes to their
own mailbox only). Every change of a mailbox's counts is sent to each of its
subscriptions (:mod:`sip.subscription` does the RFC 6665 work) and, for a user
whose plan says ``unsolicited_mwi``, as an unsolicited NOTIFY to each of the
user's registered phones.

The counts themselves come from the voicemail side (``acd.flows``): it calls
:meth:`MessageWaiting.changed`; a new subscription reads the latest counts
through ``counts_of`` (the store, cached here after the first read).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from acd.config import Dialplan
from acd.telephony.access import Access
from acd.telephony.directory import DeviceDirectory
from sip.errors import SipError
from sip.message import Request
from sip.subscription import (
    MESSAGE_SUMMARY,
    SIMPLE_MESSAGE_SUMMARY,
    MailboxCounts,
    Subscription,
    message_summary,
    send_unsolicited,
)
from sip.transport import Target
from sip.ua import UserAgent

log = structlog.stdlib.get_logger("jono.mwi")

CountsOf = Callable[[str], MailboxCounts]


def _no_messages(user: str) -> MailboxCounts:
    return MailboxCounts(new=0, old=0)


class MessageWaiting:
    def __init__(self, ua: UserAgent, counts_of: CountsOf = _no_messages) -> None:
        self.ua = ua
        self.counts_of = counts_of
        self.plan: Dialplan | None = None
        self.directory: DeviceDirectory | None = None
        self.subscriptions: dict[str, list[Subscription]] = {}
        self._mailboxes: dict[int, str] = {}  # id(subscription) -> mailbox
        self._counts: dict[str, MailboxCounts] = {}

    def configure(self, plan: Dialplan, directory: DeviceDirectory) -> None:
        self.plan, self.directory = plan, directory

    def counts(self, user: str) -> MailboxCounts:
        known = self._counts.get(user)
        if known is None:
            known = self._counts[user] = self.counts_of(user)
        return known

    def _account(self, user: str) -> str:
        return f"sip:{user}@{self.ua.hostport()}"

    def _body(self, user: str) -> tuple[str, bytes]:
        return SIMPLE_MESSAGE_SUMMARY, message_summary(self.counts(user), self._account(user))

    # -- SUBSCRIBE (the inbound dispatch hands it here) ------------------------------
    def subscribe(
        self, ua: UserAgent, access: Access, request: Request, txn: object, source: Target
    ) -> None:
        event = (request.headers.get("Event") or "").split(";")[0].strip().lower()
        if event != MESSAGE_SUMMARY:
            # RFC 6665 §4.2.1.1: a notifier that does not understand the event
            # package "MUST respond with a 489 (Bad Event)" listing the ones it
            # does in Allow-Events.
            ua.respond(txn, request, 489, headers=(("Allow-Events", MESSAGE_SUMMARY),))
            return
        username = access.authenticate(ua, request, txn, time.time(), source=source)
        if username is None:
            return  # challenged
        plan, directory = self.plan, self.directory
        try:
            mailbox_user = request.to.sip_uri.user
        except SipError:
            mailbox_user = None
        mailbox = directory.user_for(mailbox_user or "") if directory is not None else None
        if mailbox is None or plan is None or plan.users[mailbox].voicemail is None:
            ua.respond(txn, request, 404, "No Such Mailbox")
            return
        if mailbox != username:
            ua.respond(txn, request, 403, "Not Your Mailbox")
            return
        subscription = Subscription(
            ua, request, txn, source, event=MESSAGE_SUMMARY,
            state=lambda: self._body(mailbox), on_end=self._ended,
        )  # fmt: skip
        self.subscriptions.setdefault(mailbox, []).append(subscription)
        self._mailboxes[id(subscription)] = mailbox
        expires = subscription.accept()
        log.info("mwi subscribed", user=mailbox, expires=expires,
                 source=f"{source.host}:{source.port}")

    def _ended(self, subscription: Subscription) -> None:
        mailbox = self._mailboxes.pop(id(subscription), None)
        subs = self.subscriptions.get(mailbox or "", [])
        if subscription in subs:
            subs.remove(subscription)
            if not subs:
                del self.subscriptions[mailbox or ""]

    # -- changes ------------------------------------------------------------------------
    def changed(self, user: str, counts: MailboxCounts) -> None:
        """The mailbox of ``user`` now holds ``counts``: tell its phones."""
        before = self._counts.get(user)
        self._counts[user] = counts
        if before == counts:
            return
        for subscription in list(self.subscriptions.get(user, [])):
            subscription.notify()
        plan, directory = self.plan, self.directory
        settings = plan.users[user].voicemail if plan is not None and user in plan.users else None
        if settings is not None and settings.unsolicited_mwi and directory is not None:
            content_type, body = self._body(user)
            for target in directory.targets(user, ("reg",)):
                send_unsolicited(
                    self.ua, target.target, target.uri, to_uri=self._account(user),
                    event=MESSAGE_SUMMARY, content_type=content_type, body=body,
                )  # fmt: skip
        log.info("mwi", user=user, new=counts.new, old=counts.old,
                 subscriptions=len(self.subscriptions.get(user, [])))

    def close(self) -> None:
        for subs in list(self.subscriptions.values()):
            for subscription in list(subs):
                subscription.terminate("deactivated")
