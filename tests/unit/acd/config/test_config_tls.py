"""``server.tls`` in the dial plan: checked by ``jono check`` with file:line, files
resolved next to the plan, and the development pair made once under var/tls."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.config import ConfigError, load
from acd.config.server import TlsSettings
from acd.telephony.tls_files import make_self_signed, tls_files

USERS = "users:\n  alice: {extension: '1001', password: pw}\n"


def _plan(folder: Path, tls: str) -> Path:
    path = folder / "plan.yaml"
    path.write_text(f"server:\n  tls:\n{tls}{USERS}")
    return path


def _errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path)
    return str(caught.value).replace(str(path.parent) + "/", "").splitlines()


def test_missing_certificate_file_is_named_with_file_and_line(tmp_path: Path) -> None:
    path = _plan(tmp_path, "    certificate: tls/jono.crt\n    key: tls/jono.key\n")
    assert _errors(path) == [
        "plan.yaml:3:18: server.tls.certificate: file 'tls/jono.crt' not found",
        "plan.yaml:4:10: server.tls.key: file 'tls/jono.key' not found",
    ]


def test_certificate_without_key_is_refused(tmp_path: Path) -> None:
    make_self_signed(tmp_path / "c.pem", tmp_path / "k.pem", ("127.0.0.1",))
    path = _plan(tmp_path, "    certificate: c.pem\n")
    assert _errors(path) == [
        "plan.yaml:3:18: server.tls.certificate: give both 'certificate' and 'key', or neither"
        " (a self-signed pair for development)",
    ]


def test_key_of_another_certificate_is_refused_without_showing_the_key(tmp_path: Path) -> None:
    make_self_signed(tmp_path / "c.pem", tmp_path / "k.pem", ("127.0.0.1",))
    make_self_signed(tmp_path / "c2.pem", tmp_path / "k2.pem", ("127.0.0.1",))
    path = _plan(tmp_path, "    certificate: c.pem\n    key: k2.pem\n")
    errors = _errors(path)
    assert len(errors) == 1
    assert errors[0].startswith(
        "plan.yaml:3:18: server.tls.certificate: certificate and key do not load as a pair:"
    )
    assert "PRIVATE KEY" not in errors[0]


def test_pair_next_to_the_plan_loads_and_becomes_absolute(tmp_path: Path) -> None:
    make_self_signed(tmp_path / "c.pem", tmp_path / "k.pem", ("127.0.0.1",))
    path = _plan(tmp_path, "    listen: 127.0.0.1:5071\n    certificate: c.pem\n    key: k.pem\n")
    plan = load(path)
    assert plan.server.tls is not None
    assert plan.server.tls.certificate == str(tmp_path / "c.pem")
    assert plan.server.tls.listen_port == 5071


def test_without_a_pair_a_development_pair_is_made_once_and_reused(tmp_path: Path) -> None:
    first = tls_files(TlsSettings(), ("127.0.0.1",), dev_dir=tmp_path / "var" / "tls")
    assert first.self_signed
    assert (Path(first.key).stat().st_mode & 0o777) == 0o600
    made = Path(first.certificate).read_bytes()
    again = tls_files(TlsSettings(), ("127.0.0.1",), dev_dir=tmp_path / "var" / "tls")
    assert Path(again.certificate).read_bytes() == made
    assert again.server() is not None
