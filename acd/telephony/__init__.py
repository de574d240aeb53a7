"""The SIP-facing edge of the application: who is calling (access), where a
request goes (inbound dispatch, registrar), where a user's devices are (the
device directory), and the trunks (outbound routing, registrations)."""
