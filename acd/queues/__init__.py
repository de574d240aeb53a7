"""Queues on the real server: the ACD engine driven by calls, agents and time."""
