"""Free loopback ports for parallel test runs."""

from __future__ import annotations

import random
import socket

LOOPBACK = "127.0.0.1"

_handed_out: set[int] = set()


def _bindable(port: int, kind: socket.SocketKind) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port on 127.0.0.1 that is free for both UDP and TCP right now.

    The port comes from the kernel's ephemeral range (so two pytest-xdist
    workers rarely collide) and is never handed out twice by this process.
    """
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((LOOPBACK, 0))
            port = int(tcp.getsockname()[1])
        if port in _handed_out:
            continue
        if _bindable(port, socket.SOCK_DGRAM) and _bindable(port, socket.SOCK_STREAM):
            _handed_out.add(port)
            return port
    raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive ports free for UDP and TCP (RTP needs pairs).

    Bases are drawn at random below the kernel's ephemeral range as well as in
    it: on a busy machine (a benchmark holding thousands of RTP ports) blocks
    in the ephemeral range alone can all be broken up."""
    for attempt in range(2000):
        base = free_port() if attempt % 2 else random.randrange(10000, 32000, 2)
        if base + count > 65535:
            continue
        ports = range(base, base + count)
        others = ports[1:]
        if all(p not in _handed_out for p in others) and all(
            _bindable(p, socket.SOCK_DGRAM) and _bindable(p, socket.SOCK_STREAM) for p in others
        ):
            _handed_out.update(ports)
            return base
    raise RuntimeError(f"no block of {count} free ports on 127.0.0.1")
