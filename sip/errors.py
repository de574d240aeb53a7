"""Errors of the SIP layer: one base with a status hint (h11/_util.py style)."""

from __future__ import annotations


class SipError(Exception):
    """Base of every SIP-layer error; ``status`` is the response it calls for."""

    status: int = 500

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if status is not None:
            self.status = status


class SipParseError(SipError):
    """Bytes from the network that are not a valid SIP message (answer 400)."""

    status = 400


class LocalProtocolError(SipError):
    """We were asked to do something the protocol forbids (a bug here)."""


class RemoteProtocolError(SipError):
    """The peer broke the protocol in a way a response can report."""

    status = 400
