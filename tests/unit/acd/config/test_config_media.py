"""server.media: the mode alone (shorthand), or written out with the media engine
(issue 16: rtpengine as the media plane), and what the composition root makes of it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from acd.bootstrap import CannotListen, Settings, connect_media
from acd.config import ConfigError, load
from media.engine import MediaEngine

USERS = "users:\n  alice: {extension: 1001, password: x}\n"


def plan(tmp_path: Path, media: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(f"server: {{media: {media}}}\n{USERS}")
    return path


def test_a_mode_alone_is_short_for_the_builtin_engine(tmp_path: Path) -> None:
    media = load(plan(tmp_path, "passthrough")).server.media
    assert (media.mode, media.engine, media.ng) == ("passthrough", "builtin", "127.0.0.1:2223")


def test_rtpengine_written_out(tmp_path: Path) -> None:
    media = load(plan(tmp_path, '{engine: rtpengine, ng: "10.0.0.7:2223"}')).server.media
    assert (media.mode, media.engine, media.ng) == ("anchor", "rtpengine", "10.0.0.7:2223")


def test_an_unknown_engine_is_refused_with_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(plan(tmp_path, "{engine: freeswitch}"))
    [issue] = caught.value.issues
    assert issue.path == "server.media.engine" and "freeswitch" in issue.message


def test_an_ng_address_without_a_port_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(plan(tmp_path, "{engine: rtpengine, ng: localhost}"))
    [issue] = caught.value.issues
    assert issue.path == "server.media.ng"


def _settings(tmp_path: Path) -> Settings:
    return Settings(host="127.0.0.1", port=0, db=f"sqlite:///{tmp_path}/j.db", realm="jono",
                    rtp_ports=(39600, 39700))  # fmt: skip


async def test_the_builtin_engine_is_built_by_default(tmp_path: Path) -> None:
    engine = await connect_media(load(plan(tmp_path, "anchor")), _settings(tmp_path))
    try:
        assert isinstance(engine, MediaEngine)
    finally:
        await engine.close()


async def test_a_silent_rtpengine_stops_the_start_with_its_address(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:  # bound, never answers
        quiet.bind(("127.0.0.1", 0))
        ng = f"127.0.0.1:{quiet.getsockname()[1]}"
        dialplan = load(plan(tmp_path, f'{{engine: rtpengine, ng: "{ng}"}}'))
        with pytest.raises(CannotListen, match=f"rtpengine at {ng} does not answer"):
            await connect_media(dialplan, _settings(tmp_path))
