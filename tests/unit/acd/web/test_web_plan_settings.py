"""The plan's web settings (roles, server.http, server.desktop), the contacts
directory, ``jono passwd``, and HTTPS with server.http.tls."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import sessionmaker

from acd import cli
from acd.config import ConfigError, load
from acd.config.schema import schema
from acd.store import make_engine
from acd.store.accounts import SqlAccounts
from acd.web.access import roles_from, visibility
from acd.web.auth import PasswordHasher, Principal, Role
from acd.web.contacts import ContactsError, Directory, parse_contacts
from acd.web.http import HttpServer
from acd.web.workplace import auth_settings

BASE = """
users:
  ada: {extension: "1000", password: x, roles: [admin]}
  sue: {extension: "1001", password: x, roles: [agent, supervisor], supervises: [sales]}
  bob: {extension: "1002", password: x, display_name: Bob Agent}
  zed: {extension: "1003", password: x, roles: []}
queues:
  sales: {members: [bob, sue]}
  support: {members: [bob]}
"""


def plan(tmp_path: Path, text: str = BASE, extra: str = "") -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text + extra)
    return path


def test_roles_come_from_the_plan_and_agent_is_the_default(tmp_path: Path) -> None:
    loaded = load(plan(tmp_path), env={})
    roles = roles_from(lambda: loaded)
    assert roles("bob").roles == frozenset({Role.AGENT})  # type: ignore[union-attr]
    sue = roles("sue")
    assert sue is not None and sue.supervises == frozenset({"sales"})
    assert roles("zed") is None and roles("nobody") is None
    who = Principal(user="sue", roles=sue.roles, supervises=sue.supervises)
    vis = visibility(loaded, who)
    assert vis.queues == {"sales"} and vis.agents == {"sue", "bob"}


def test_mistakes_in_roles_are_named_with_their_place(tmp_path: Path) -> None:
    bad = BASE.replace("roles: [admin]", "roles: [boss]").replace(
        "supervises: [sales]", "supervises: [sails]").replace(
        "queues:", '  eve: {extension: "1004", password: x, supervises: [sales]}\nqueues:')
    with pytest.raises(ConfigError) as err:
        load(plan(tmp_path, bad), env={})
    text = str(err.value)
    assert "users.ada.roles[0]: 'boss' must be one of 'agent', 'supervisor' or 'admin'" in text
    assert "users.sue.supervises[0]: unknown queue 'sails'; did you mean 'sales'?" in text
    assert "users.eve: supervises needs the supervisor (or admin) role in roles" in text


def test_server_http_is_a_host_port_or_written_out(tmp_path: Path) -> None:
    short = load(plan(tmp_path, BASE, "server: {http: '0.0.0.0:8443'}\n"), env={})
    assert (short.server.http_host, short.server.http_port) == ("0.0.0.0", 8443)
    long = load(plan(tmp_path, BASE, """
server:
  public_host: 192.0.2.10
  http:
    listen: 0.0.0.0:8443
    tls: {cert: c.pem, key: k.pem}
    allowed_hosts: [Jono.Example.com]
    trusted_proxies: ["10.0.0.5", "192.0.2.0/24"]
"""), env={})
    assert long.server.http.tls is not None and long.server.http.tls.key == "k.pem"
    settings = auth_settings(long.server)
    assert settings.allowed_hosts == ("127.0.0.1", "localhost", "::1", "192.0.2.10",
                                      "jono.example.com")
    assert settings.trusted_proxies == ("10.0.0.5", "192.0.2.0/24")
    with pytest.raises(ConfigError, match=r"server.http.trusted_proxies\[0\]: 'proxy' is not"):
        load(plan(tmp_path, BASE, "server: {http: {trusted_proxies: [proxy]}}\n"), env={})
    http = schema()["$defs"]["Server"]["properties"]["http"]
    assert http["anyOf"] == [{"type": "string"}, {"$ref": "#/$defs/Http"}]


def test_contacts_from_yaml_and_csv_and_their_mistakes() -> None:
    yaml_text = "- {name: Acme, number: '+358201234567', company: Acme Oy}\n"
    assert parse_contacts(yaml_text, ".yaml")[0].company == "Acme Oy"
    csv_text = "name,number,note\nMatti,040 123 4567,buyer\n"
    assert parse_contacts(csv_text, ".csv")[0].number == "040 123 4567"
    with pytest.raises(ContactsError, match="entry 1: needs a name and a phone number"):
        parse_contacts("- {name: X, number: call me}\n", ".yaml")


def test_search_finds_users_and_contacts_by_every_word(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_text(
        "name,number,company\nMatti Meikäläinen,0401234567,Acme Oy\nAcme switchboard,+35820,Acme Oy\n"
    )
    loaded = load(plan(tmp_path, BASE, "server: {desktop: {contacts: contacts.csv}}\n"), env={})
    directory = Directory(tmp_path)
    assert [r["name"] for r in directory.search(loaded, "acme")] == [
        "Matti Meikäläinen", "Acme switchboard"]
    assert [r["name"] for r in directory.search(loaded, "matti acme")] == ["Matti Meikäläinen"]
    assert [r["number"] for r in directory.search(loaded, "040123")] == ["0401234567"]
    [bob] = directory.search(loaded, "bob")
    assert (bob["kind"], bob["user"], bob["number"]) == ("user", "bob", "1002")
    assert directory.search(loaded, "zed") == []  # no web roles, no name: not listed
    assert directory.search(loaded, "   ") == []


def test_jono_passwd_sets_a_hash_that_signs_in(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'jono.db'}"
    path = plan(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("bob-web-password\n"))
    assert cli.main(["passwd", str(path), "bob", "--db", db, "--stdin"]) == 0
    assert "web password set for bob" in capsys.readouterr().out
    engine = make_engine(db)
    stored = asyncio.run(SqlAccounts(sessionmaker(engine)).get_password_hash("bob"))
    engine.dispose()
    assert stored is not None and stored.startswith("$argon2id$")
    assert PasswordHasher().verify(stored, "bob-web-password")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["passwd", str(path), "bob", "--db", db, "--stdin"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-password\n"))
    assert cli.main(["passwd", str(path), "mallory", "--db", db, "--stdin"]) == 2
    assert "no user 'mallory'" in capsys.readouterr().err


def self_signed(tmp_path: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return str(cert_path), str(key_path)


async def test_https_serves_secure_host_only_cookies_and_hsts(tmp_path: Path) -> None:
    from jono_web import WebServer

    server = WebServer(tmp_path)
    cert, key = self_signed(tmp_path)
    http = HttpServer(server.app, "127.0.0.1", 0, tls=(cert, key))
    try:
        assert await http.start()
        assert http.url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=cert)
        async with httpx.AsyncClient(verify=context) as client:
            port = http.address[1]
            page = await client.get(f"https://localhost:{port}/login")
        assert page.status_code == 200
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert page.headers["set-cookie"].startswith("__Host-jono_login=")
        assert "Secure" in page.headers["set-cookie"]
    finally:
        await http.close()
        await server.close()


async def test_an_unreadable_certificate_is_reported(tmp_path: Path) -> None:
    from jono_web import WebServer

    server = WebServer(tmp_path)
    http = HttpServer(server.app, "127.0.0.1", 0, tls=(str(tmp_path / "no.pem"), "no.key"))
    try:
        assert not await http.start()
        assert http.error is not None and http.error.startswith("TLS:")
    finally:
        await server.close()
