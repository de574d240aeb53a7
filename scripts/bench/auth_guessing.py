#!/usr/bin/env python3
"""Password guessing against a real `jono serve` (issue 10 item 6).

Starts Jono on a free loopback port with one user (alice) and runs, one
after the other, the same guessing attacks against her digest password for
up to --seconds each, guessing wrong words with the right one as guess
number --right-at (200, like a 200-word list):

  reuse   one challenge, then every guess answers that one nonce (nc + 1
          each time): the attack the issue measured at ~3,800 guesses/s;
  fresh   a new challenge per guess (REGISTER, 401, REGISTER with the guess),
          64 guesses in flight from one address;
  spread  as fresh, but from 100 addresses (127.0.0.2 ...), against the
          per-user count;
  svcrack sipvicious' svcrack with the same list (if installed:
          pip install sipvicious), one address.

For each: how many guesses were answered as wrong (401) and how many
requests were refused unchecked (403), per second, and whether and when the
password was found.  Run against another source tree (e.g. the code
before a change) with --source DIR:

    git archive e07d3f0 sip acd media prompts | tar -x -C /tmp/before
    flock /tmp/jono-bench.lock .venv/bin/python scripts/bench/auth_guessing.py --source /tmp/before
    flock /tmp/jono-bench.lock .venv/bin/python scripts/bench/auth_guessing.py
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from procstat import HOST, free_port  # sibling module (sys.path[0])

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from sip.auth import answer_challenge  # noqa: E402
from sip.message import Response  # noqa: E402
from sip.parser import parse_message  # noqa: E402

USER = "alice"
PASSWORD = "correct-horse-battery"
REALM = "bench"


@dataclass
class Outcome:
    name: str
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    found_after: float | None = None
    guesses_sent: int = 0

    def row(self) -> str:
        def rate(n: int) -> str:
            return f"{n} ({n / self.seconds:.1f}/s)" if self.seconds else str(n)

        found = f"after {self.found_after:.2f} s" if self.found_after is not None else "no"
        if not self.statuses:  # svcrack reports no per-request figures
            return f"| {self.name} | {self.seconds:.1f} s | - | - | {found} |"
        return (f"| {self.name} | {self.seconds:.1f} s | {rate(self.statuses[401])} | "
                f"{rate(self.statuses[403])} | {found} |")


def words(right_at: int) -> itertools.chain[str]:
    """Wrong guesses, the right password as guess number ``right_at``, then wrong ones."""
    return itertools.chain(
        (f"guess{i:05d}" for i in range(right_at - 1)), [PASSWORD],
        (f"more{i:07d}" for i in itertools.count()),
    )


def start_jono(workdir: Path, source: Path | None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    plan = workdir / "plan.yaml"
    plan.write_text(
        f'server: {{listen: "{HOST}:{port}", realm: {REALM}, http: "{HOST}:{free_port()}", '
        f'digest_algorithms: [MD5]}}\n'
        f"users:\n  {USER}: {{extension: '1001', password: '{PASSWORD}'}}\n"
    )
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
        command = [sys.executable, "-c", "import sys; from acd.cli import main; sys.exit(main())"]
    else:
        command = [str(ROOT / ".venv/bin/jono")]
    proc = subprocess.Popen(
        [*command, "serve", str(plan), "--db", f"sqlite:///{workdir}/bench.db",
         "--log-level", "WARNING", "--pid-file", str(workdir / "jono.pid")],
        stdout=subprocess.PIPE, stderr=(workdir / "jono.log").open("wb"), cwd=workdir, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if "listening" not in line:
        raise SystemExit(f"jono did not start: {line!r}; see {workdir / 'jono.log'}")
    return proc, port


class Client(asyncio.DatagramProtocol):
    """One UDP socket; responses are routed to waiters by Call-ID and CSeq."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[tuple[str, int], asyncio.Future[Response]] = {}
        self.port = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            message = parse_message(data)
        except Exception:
            return
        if not isinstance(message, Response) or message.status == 100:
            return
        waiter = self.waiting.pop((message.call_id, message.cseq.number), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(message)

    async def register(self, host: str, port: int, call_id: str, cseq: int,
                       authorization: str | None, timeout: float = 2.0) -> Response | None:
        assert self.transport is not None
        local = self.transport.get_extra_info("sockname")[0]
        auth = f"Authorization: {authorization}\r\n" if authorization else ""
        data = (
            f"REGISTER sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {local}:{self.port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:{USER}@{host}>;tag={call_id[:8]}\r\n"
            f"To: <sip:{USER}@{host}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
            f"Contact: <sip:{USER}@{local}:{self.port}>\r\nExpires: 60\r\n{auth}"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        waiter: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.waiting[(call_id, cseq)] = waiter
        self.transport.sendto(data, (host, port))
        try:
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            self.waiting.pop((call_id, cseq), None)
            return None


async def client(bind: str = HOST) -> Client:
    _, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        Client, local_addr=(bind, 0)
    )
    return protocol


def _challenge(response: Response | None) -> str | None:
    if response is None or response.status != 401:
        return None
    return response.headers.get("WWW-Authenticate")


async def attack_reuse(port: int, guesses: Iterator[str], seconds: float) -> Outcome:
    out = Outcome("reuse")
    c = await client()
    call_id = uuid.uuid4().hex
    challenge = _challenge(await c.register(HOST, port, call_id, 1, None))
    if challenge is None:
        return out
    started = time.monotonic()
    cseq = itertools.count(2)
    nc = itertools.count(1)
    queue = guesses

    async def lane() -> None:
        for word in queue:
            if time.monotonic() - started > seconds or out.found_after is not None:
                return
            value = answer_challenge(challenge, "REGISTER", f"sip:{HOST}:{port}", USER, word,
                                     cnonce="c", nc=next(nc))
            out.guesses_sent += 1
            response = await c.register(HOST, port, call_id, next(cseq), value)
            if response is not None:
                out.statuses[response.status] += 1
                if response.status == 200 and out.found_after is None:
                    out.found_after = time.monotonic() - started

    await asyncio.gather(*(lane() for _ in range(64)))
    out.seconds = time.monotonic() - started
    return out


async def attack_fresh(port: int, guesses: Iterator[str], seconds: float, name: str,
                       addresses: list[str]) -> Outcome:
    out = Outcome(name)
    clients = [await client(a) for a in addresses]
    started = time.monotonic()
    queue = guesses

    async def lane(c: Client) -> None:
        for word in queue:
            if time.monotonic() - started > seconds or out.found_after is not None:
                return
            call_id = uuid.uuid4().hex
            first = await c.register(HOST, port, call_id, 1, None)
            challenge = _challenge(first)
            if challenge is None:
                if first is not None:
                    out.statuses[first.status] += 1  # refused before any challenge
                    await asyncio.sleep(0.01)
                continue
            value = answer_challenge(challenge, "REGISTER", f"sip:{HOST}:{port}", USER, word, "c")
            out.guesses_sent += 1
            response = await c.register(HOST, port, call_id, 2, value)
            if response is not None:
                out.statuses[response.status] += 1
                if response.status == 200 and out.found_after is None:
                    out.found_after = time.monotonic() - started

    await asyncio.gather(*(lane(clients[i % len(clients)]) for i in range(64)))
    out.seconds = time.monotonic() - started
    return out


def attack_svcrack(port: int, guesses: list[str], seconds: float, workdir: Path) -> Outcome | None:
    """svcrack fetches a fresh challenge per guess; its list ends with the right word."""
    svcrack = shutil.which("sipvicious_svcrack") or str(ROOT / ".venv/bin/sipvicious_svcrack")
    if not Path(svcrack).exists():
        print("svcrack: not installed (pip install sipvicious); skipped")
        return None
    wordlist = workdir / "words.txt"
    wordlist.write_text("\n".join(guesses) + "\n")
    out = Outcome("svcrack (list of " f"{len(guesses)})", guesses_sent=len(guesses))
    started = time.monotonic()
    try:
        result = subprocess.run(
            [svcrack, "-u", USER, "-d", str(wordlist), "-p", str(port), "-b", HOST, HOST],
            capture_output=True, text=True, timeout=seconds, cwd=workdir, check=False,
        )  # fmt: skip
        text = result.stdout + result.stderr
    except subprocess.TimeoutExpired as err:
        text = (err.stdout or b"").decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
    out.seconds = time.monotonic() - started
    if re.search(re.escape(PASSWORD), text):
        out.found_after = out.seconds
    return out


async def run(port: int, args: argparse.Namespace, workdir: Path) -> list[Outcome]:
    results = [await attack_reuse(port, words(args.right_at), args.seconds)]
    await asyncio.sleep(args.pause)
    results.append(await attack_fresh(port, words(args.right_at), args.seconds, "fresh", [HOST]))
    await asyncio.sleep(args.pause)
    spread = [f"127.0.0.{i}" for i in range(2, 102)]
    results.append(await attack_fresh(port, words(args.right_at), args.seconds, "spread", spread))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help="run jono from this source tree (PYTHONPATH)")
    parser.add_argument("--seconds", type=float, default=60.0, help="time limit per attack")
    parser.add_argument("--right-at", type=int, default=200, help="the right password's turn")
    parser.add_argument("--pause", type=float, default=65.0,
                        help="seconds between attacks (lets the throttle drain)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="jono-auth-bench-"))
    jono, port = start_jono(workdir, args.source)
    try:
        time.sleep(0.3)
        results = asyncio.run(run(port, args, workdir))
        time.sleep(args.pause)
        svcrack = attack_svcrack(
            port, list(itertools.islice(words(args.right_at), args.right_at)), args.seconds, workdir
        )
        if svcrack is not None:
            results.append(svcrack)
    finally:
        jono.send_signal(signal.SIGTERM)
        jono.wait(10)
    print(f"jono from {args.source or ROOT}; {time.strftime('%Y-%m-%d %H:%M')}")
    print("| attack | ran | answered wrong (401) | refused unchecked (403) | found |")
    print("| --- | ---: | ---: | ---: | --- |")
    for outcome in results:
        print(outcome.row())
    failed_lines = sum(1 for line in (workdir / "jono.log").read_text().splitlines()
                       if "auth failed:" in line)
    print(f"'auth failed' lines in the log: {failed_lines}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
