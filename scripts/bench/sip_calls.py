#!/usr/bin/env python3
"""SIP call-rate benchmark: SIPp uac -> Jono (B2BUA) -> SIPp uas.

For each rate the uac places ``rate * seconds`` calls through Jono to an
extension whose device is a static contact pointing at a SIPp uas.  In the
same run the uac calls the uas directly, which is the ceiling on this
machine.  Reports, per rate: successful/failed calls, retransmissions, and
Jono's CPU per call; then the highest rate with 0 failures and < 1%
retransmissions for both paths, and Jono's rate as a ratio of the ceiling.

    .venv/bin/python scripts/bench/sip_calls.py [--rates 200,400,...] [--seconds 5]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from procstat import HOST, cpu_seconds, free_port  # sibling module (sys.path[0])

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    rate: int
    calls: int
    ok: int
    failed: int
    retrans: int
    cpu_per_call_us: float | None

    @property
    def clean(self) -> bool:
        return self.failed == 0 and self.ok == self.calls and self.retrans < 0.01 * self.calls


def run_uac(target_port: int, rate: int, calls: int, workdir: Path) -> tuple[int, int, int]:
    stat = workdir / f"uac_{target_port}_{rate}.csv"
    stat.unlink(missing_ok=True)
    cmd = [
        "sipp", "-sn", "uac", "-s", "2000", f"{HOST}:{target_port}", "-i", HOST,
        "-p", str(free_port()), "-r", str(rate), "-m", str(calls), "-l", str(rate * 4),
        "-nostdin", "-trace_stat", "-stf", str(stat), "-fd", "1", "-timeout", "60s",
        "-timeout_error", "-max_socket", "10000",
    ]
    subprocess.run(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=calls / rate + 90, check=False)
    rows = list(csv.reader(stat.read_text().splitlines(), delimiter=";"))
    head, last = rows[0], rows[-1]
    col = {name: i for i, name in enumerate(head)}
    return (int(last[col["SuccessfulCall(C)"]]), int(last[col["FailedCall(C)"]]),
            int(last[col["Retransmissions(C)"]]))


def start_uas(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["sipp", "-sn", "uas", "-i", HOST, "-p", str(port), "-nostdin", "-max_socket", "10000"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def start_jono(uas_port: int, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = workdir / "bench.yaml"
    config.write_text(
        f"""server:
  listen: "{HOST}:{port}"
  realm: bench
  media: passthrough
users:
  uas:
    extension: "2000"
    password: "unused-secret"
    devices:
      - kind: static
        contact: "sip:2000@{HOST}:{uas_port}"
trunks:
  sipp:
    inbound_sources: ["{HOST}"]
    reach: public_numbers_and_extensions
"""
    )
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/jono"), "serve", str(config), "--db",
         f"sqlite:///{workdir}/bench.db", "--log-level", "WARNING"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if "listening" not in line:
        raise SystemExit(f"jono did not start: {line!r}")
    return proc, port


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="100,200,400,600,800,1000,1200,1500")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if shutil.which("sipp") is None:
        raise SystemExit("sipp not found: apt-get install sip-tester")
    rates = [int(r) for r in args.rates.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="jono-bench-"))
    uas_port = free_port()
    uas = start_uas(uas_port, workdir)
    jono, jono_port = start_jono(uas_port, workdir)
    time.sleep(0.5)
    direct: list[Result] = []
    via_jono: list[Result] = []
    try:
        for rate in rates:
            calls = int(rate * args.seconds)
            ok, failed, retrans = run_uac(uas_port, rate, calls, workdir)
            direct.append(Result(rate, calls, ok, failed, retrans, None))
            before = cpu_seconds(jono.pid)
            ok, failed, retrans = run_uac(jono_port, rate, calls, workdir)
            used = cpu_seconds(jono.pid) - before
            via_jono.append(Result(rate, calls, ok, failed, retrans, used / max(ok, 1) * 1e6))
            d, j = direct[-1], via_jono[-1]
            print(f"rate {rate:5d}/s  direct ok={d.ok} failed={d.failed} retrans={d.retrans}  |  "
                  f"jono ok={j.ok} failed={j.failed} retrans={j.retrans} "
                  f"cpu/call={j.cpu_per_call_us:.0f} us", flush=True)
            time.sleep(1.0)
    finally:
        jono.send_signal(signal.SIGTERM)
        uas.terminate()
        jono.wait(10)
        uas.wait(10)
    best_direct = max((r.rate for r in direct if r.clean), default=0)
    best_jono = max((r.rate for r in via_jono if r.clean), default=0)
    cpu = next((r.cpu_per_call_us for r in via_jono if r.rate == best_jono), None)
    print()
    print(f"ceiling (SIPp uac -> SIPp uas): {best_direct} calls/s clean")
    print(f"Jono B2BUA: {best_jono} calls/s clean, server CPU {cpu or 0:.0f} us/call")
    if best_direct:
        print(f"ratio: {best_jono / best_direct:.2f} of the ceiling")
    return 0


if __name__ == "__main__":
    sys.exit(main())
