"""Errors raised by the ACD domain.

One base, :class:`AcdError`. Every error is about input the engine was
given (the adapter's bug or a stale event), never about I/O.
"""

from __future__ import annotations


class AcdError(Exception):
    """Base of every ACD domain error."""


class ConfigError(AcdError, ValueError):
    """A setting is out of range; the message names the field and the value."""


class UnknownAgent(AcdError, KeyError):
    """An event named an agent that is not configured."""


class UnknownQueue(AcdError, KeyError):
    """An event named a queue that is not configured."""


class UnknownCall(AcdError, KeyError):
    """An event named a call the engine does not hold."""


class IllegalTransition(AcdError):
    """An agent event is not allowed in the agent's current state (D11)."""
