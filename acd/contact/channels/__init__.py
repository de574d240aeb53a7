"""Channels: how each kind of work reaches agents (voice; callback and chat next)."""
