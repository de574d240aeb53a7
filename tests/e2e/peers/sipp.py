"""Run SIPp 3.6 scenarios and read back what happened.

SIPp writes its results to files; every run gets its own directory so that
parallel tests never share a file. We read three of them:

- the statistics CSV (``-trace_stat -stf``): successful/failed calls and
  retransmissions, last row = final totals;
- the message log (``-trace_msg -message_file``): every SIP message sent
  and received, so tests can count INVITEs or compare header sets;
- the error log (``-trace_err -error_file``): unexpected messages.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .ports import LOOPBACK, free_port, free_port_block
from .tools import require_tool

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
BUILTIN = frozenset(
    {
        "uac",
        "uas",
        "regexp",
        "3pcc-C-A",
        "3pcc-C-B",
        "3pcc-A",
        "3pcc-B",
        "branchc",
        "branchs",
        "uac_pcap",
    }
)

# SIPp exit codes (sipp(1)).
EXIT_ALL_OK = 0
EXIT_SOME_FAILED = 1
EXIT_NO_CALL_PROCESSED = 99

_SEPARATOR = re.compile(r"^-{20,} .*$", re.MULTILINE)
_HEADER_LINE = re.compile(r"^(UDP|TCP) message (sent|received)", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class SipTrace:
    """One SIP message from SIPp's message log."""

    direction: str  # "sent" or "received"
    text: str

    @property
    def start_line(self) -> str:
        return self.text.split("\n", 1)[0].strip()

    @property
    def method(self) -> str | None:
        """Request method, or None for a response."""
        first = self.start_line
        return None if first.startswith("SIP/2.0") else first.split(" ", 1)[0]

    @property
    def status(self) -> int | None:
        first = self.start_line
        if not first.startswith("SIP/2.0"):
            return None
        return int(first.split(" ")[1])

    def headers(self) -> list[tuple[str, str]]:
        """(name, value) pairs in order; names lower-cased."""
        head = self.text.replace("\r\n", "\n").split("\n\n", 1)[0]
        pairs: list[tuple[str, str]] = []
        for line in head.split("\n")[1:]:
            if line[:1] in (" ", "\t") and pairs:
                name, value = pairs[-1]
                pairs[-1] = (name, value + " " + line.strip())
            elif ":" in line:
                name, value = line.split(":", 1)
                pairs.append((name.strip().lower(), value.strip()))
        return pairs

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for n, v in self.headers() if n == wanted), None)

    def header_names(self) -> list[str]:
        return [n for n, _ in self.headers()]


def parse_message_log(text: str) -> list[SipTrace]:
    """Split a ``-trace_msg`` log into messages."""
    traces: list[SipTrace] = []
    for chunk in _SEPARATOR.split(text):
        chunk = chunk.strip("\r\n")
        if not chunk:
            continue
        first, _, rest = chunk.partition("\n")
        match = _HEADER_LINE.match(first.strip())
        if match is None:
            continue
        traces.append(SipTrace(direction=match.group(2).lower(), text=rest.strip("\r\n") + "\n"))
    return traces


def parse_stat_csv(text: str) -> dict[str, str]:
    """Last row of a ``-trace_stat`` CSV as {column: value}."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return {}
    names = lines[0].rstrip(";").split(";")
    values = lines[-1].rstrip(";").split(";")
    return dict(zip(names, values, strict=False))


def _counter(stats: Mapping[str, str], name: str) -> int:
    value = stats.get(name, "0").strip()
    return int(value) if value.isdigit() else 0


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class SippResult:
    """Outcome of one SIPp run."""

    command: tuple[str, ...]
    returncode: int
    timed_out: bool
    stats: dict[str, str]
    messages: list[SipTrace]
    errors: str
    output: str
    successful: int = field(init=False)
    failed: int = field(init=False)
    retransmissions: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "successful", _counter(self.stats, "SuccessfulCall(C)"))
        object.__setattr__(self, "failed", _counter(self.stats, "FailedCall(C)"))
        object.__setattr__(self, "retransmissions", _counter(self.stats, "Retransmissions(C)"))

    def __repr__(self) -> str:
        return (
            f"SippResult(exit={self.returncode}, successful={self.successful}, "
            f"failed={self.failed}, timed_out={self.timed_out})"
        )

    @property
    def ok(self) -> bool:
        return self.returncode == EXIT_ALL_OK and not self.timed_out and self.failed == 0

    def received(self, *, method: str | None = None, status: int | None = None) -> list[SipTrace]:
        return self._select("received", method, status)

    def sent(self, *, method: str | None = None, status: int | None = None) -> list[SipTrace]:
        return self._select("sent", method, status)

    def _select(self, direction: str, method: str | None, status: int | None) -> list[SipTrace]:
        return [
            t
            for t in self.messages
            if t.direction == direction
            and (method is None or t.method == method)
            and (status is None or t.status == status)
        ]

    def describe(self) -> str:
        """Everything a failing assertion should show."""
        flow = "\n".join(f"  {t.direction:8} {t.start_line}" for t in self.messages)
        return (
            f"sipp exit={self.returncode} timed_out={self.timed_out} "
            f"successful={self.successful} failed={self.failed} "
            f"retransmissions={self.retransmissions}\n"
            f"command: {' '.join(self.command)}\n"
            f"message flow:\n{flow}\n"
            f"errors:\n{self.errors[-4000:]}\n"
            f"output:\n{self.output[-2000:]}"
        )


@dataclass(slots=True, kw_only=True)
class SippRun:
    """Where one SIPp process keeps its files."""

    workdir: Path
    name: str

    @property
    def stat_file(self) -> Path:
        return self.workdir / f"{self.name}_stat.csv"

    @property
    def message_file(self) -> Path:
        return self.workdir / f"{self.name}_messages.log"

    @property
    def error_file(self) -> Path:
        return self.workdir / f"{self.name}_errors.log"

    @property
    def output_file(self) -> Path:
        return self.workdir / f"{self.name}_output.log"

    def result(self, command: Sequence[str], returncode: int, timed_out: bool) -> SippResult:
        def read(path: Path) -> str:
            return path.read_text(errors="replace") if path.exists() else ""

        return SippResult(
            command=tuple(command),
            returncode=returncode,
            timed_out=timed_out,
            stats=parse_stat_csv(read(self.stat_file)),
            messages=parse_message_log(read(self.message_file)),
            errors=read(self.error_file),
            output=read(self.output_file),
        )


def scenario_args(scenario: str | Path) -> list[str]:
    """``-sn NAME`` for built-in scenarios, ``-sf PATH`` for ours (name or path)."""
    if isinstance(scenario, str) and scenario in BUILTIN:
        return ["-sn", scenario]
    path = Path(scenario)
    if not path.suffix:
        path = path.with_suffix(".xml")
    if not path.is_absolute() and not path.exists():
        path = SCENARIO_DIR / path
    if not path.exists():
        raise FileNotFoundError(f"SIPp scenario not found: {path}")
    return ["-sf", str(path)]


def sipp_command(
    scenario: str | Path,
    remote: str | None,
    *,
    run: SippRun,
    local_port: int,
    calls: int = 1,
    rate: float | None = None,
    limit: int | None = None,
    transport: str = "un",
    service: str | None = None,
    auth: tuple[str, str] | None = None,
    keys: Mapping[str, str] | None = None,
    timeout_s: float = 10.0,
    extra: Sequence[str] = (),
) -> list[str]:
    """The SIPp command line; ``transport`` is SIPp's ``-t`` value (``un`` or ``t1``)."""
    cmd = [require_tool("sipp"), *scenario_args(scenario)]
    if remote is not None:
        cmd.append(remote)
    cmd += [
        "-i", LOOPBACK,
        "-p", str(local_port),
        "-mi", LOOPBACK,
        "-mp", str(free_port_block(4)),
        "-cp", str(free_port()),
        "-t", transport,
        "-m", str(calls),
        "-nostdin",
        "-trace_stat", "-stf", str(run.stat_file), "-fd", "1",
        "-trace_msg", "-message_file", str(run.message_file),
        "-trace_err", "-error_file", str(run.error_file),
        "-timeout", f"{int(timeout_s * 1000)}ms", "-timeout_error",
        "-max_socket", "512",
    ]  # fmt: skip
    if rate is not None:
        cmd += ["-r", str(rate)]
    if limit is not None:
        cmd += ["-l", str(limit)]
    if service is not None:
        cmd += ["-s", service]
    if auth is not None:
        cmd += ["-au", auth[0], "-ap", auth[1]]
    for key, value in (keys or {}).items():
        cmd += ["-key", key, value]
    cmd += list(extra)
    return cmd


def run_sipp(
    scenario: str | Path,
    remote: str | None,
    *,
    workdir: Path,
    name: str = "uac",
    local_port: int | None = None,
    timeout_s: float = 10.0,
    **options: Any,
) -> SippResult:
    """Run SIPp to completion (hard limit ``timeout_s`` + 5 s) and collect its results."""
    workdir.mkdir(parents=True, exist_ok=True)
    run = SippRun(workdir=workdir, name=name)
    cmd = sipp_command(
        scenario,
        remote,
        run=run,
        local_port=local_port or free_port(),
        timeout_s=timeout_s,
        **options,
    )
    timed_out = False
    with run.output_file.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
        try:
            returncode = proc.wait(timeout=timeout_s + 5)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.kill()
            returncode = proc.wait()
    return run.result(cmd, returncode, timed_out)


class SippBackground:
    """A SIPp process (usually a UAS) running while the test drives something else."""

    def __init__(
        self,
        scenario: str | Path,
        remote: str | None = None,
        *,
        workdir: Path,
        name: str = "uas",
        port: int | None = None,
        calls: int = 100,
        timeout_s: float = 30.0,
        **options: Any,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self._run = SippRun(workdir=workdir, name=name)
        self._cmd = sipp_command(
            scenario,
            remote,
            run=self._run,
            local_port=self.port,
            calls=calls,
            timeout_s=timeout_s,
            **options,
        )
        self._out = self._run.output_file.open("wb")
        self._proc = subprocess.Popen(
            self._cmd, stdout=self._out, stderr=subprocess.STDOUT, cwd=workdir
        )
        self._result: SippResult | None = None
        self._wait_listening()

    @property
    def contact(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def _wait_listening(self) -> None:
        """SIPp binds before it prints anything; give it a moment and check it lived."""
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    "SIPp exited at start:\n" + self._run.result(self._cmd, -1, False).describe()
                )
            if self._run.stat_file.exists():
                return
            time.sleep(0.02)

    def running(self) -> bool:
        return self._proc.poll() is None

    def wait(self, timeout_s: float = 10.0) -> SippResult:
        """Wait for SIPp to end by itself (``-m`` calls done)."""
        try:
            code = self._proc.wait(timeout=timeout_s)
            return self._finish(code, timed_out=False)
        except subprocess.TimeoutExpired:
            return self.stop()

    def wait_calls(self, count: int, *, timeout_s: float = 5.0) -> SippResult:
        """Wait until ``count`` calls ended (successful or failed), then stop SIPp.

        SIPp rewrites its statistics file every second (``-fd 1``), so this
        returns up to a second after the calls end, or after ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self._proc.poll() is None:
            stats = parse_stat_csv(
                self._run.stat_file.read_text(errors="replace")
                if self._run.stat_file.exists()
                else ""
            )
            if _counter(stats, "SuccessfulCall(C)") + _counter(stats, "FailedCall(C)") >= count:
                break
            time.sleep(0.1)
        return self.stop()

    def stop(self) -> SippResult:
        """End SIPp (SIGINT: it dumps its statistics and exits; SIGKILL after 3 s)."""
        if self._result is not None:
            return self._result
        timed_out = False
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._proc.pid, signal.SIGINT)
            try:
                self._proc.wait(timeout=3.0)
            except subprocess.TimeoutExpired:
                timed_out = True
                self._proc.kill()
        return self._finish(self._proc.wait(), timed_out=timed_out)

    def _finish(self, code: int, *, timed_out: bool) -> SippResult:
        self._out.close()
        self._result = self._run.result(self._cmd, code, timed_out)
        return self._result

    def __enter__(self) -> SippBackground:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def sipp_uas(scenario: str | Path, *, workdir: Path, **options: Any) -> Iterator[SippBackground]:
    """Context manager around :class:`SippBackground`; always stops SIPp."""
    uas = SippBackground(scenario, workdir=workdir, **options)
    try:
        yield uas
    finally:
        uas.stop()
