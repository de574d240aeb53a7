"""Debian's Chromium, driven by Playwright (PyPI), headless, for the web and softphone tests.

Playwright's own browser download cannot work on these machines (no
internet): the browser is Debian's ``chromium`` (``apt-get install
chromium``, done by ``make test`` as root), launched with
``executable_path``. The flags keep it off the network (without the
background-networking ones Chromium keeps trying Google's hosts, and this
machine's closed network refuses them many at a time) and give it a fresh
profile per test. ``fake_audio=WAV`` adds the fake microphone flags for
WebRTC tests (issue 15): the page gets a microphone without a prompt that
plays the file.

Every page load is photographed into ``screenshot_dir`` (one folder per
test, under ``$JONO_SCREENSHOTS`` or ``<tmp>/jono-screenshots``), kept for
CI artifacts and for people to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = "install with: apt-get install chromium (or run `make test` as root)"

CHROMIUM_ARGS = (
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-default-browser-check",
)


def fake_media_args(fake_audio: Path | None) -> tuple[str, ...]:
    """A live fake microphone (and camera) without a permission prompt; optionally a WAV."""
    args = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")
    if fake_audio is not None:
        if not fake_audio.is_file():
            raise FileNotFoundError(f"fake audio capture file {fake_audio} does not exist")
        args += (f"--use-file-for-fake-audio-capture={fake_audio}",)
    return args


def screenshot_root() -> Path:
    return Path(
        os.environ.get("JONO_SCREENSHOTS") or Path(tempfile.gettempdir()) / "jono-screenshots"
    )


def screenshot_dir_for(nodeid: str) -> Path:
    """A fresh folder for one test's screenshots (emptied if an earlier run left one)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("/")[-1]).strip("_")[:150]
    folder = screenshot_root() / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def require_chromium() -> str:
    """The browser's path; fails the test with the install command when it is missing."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: {INSTALL_HINT}", pytrace=False)
    return CHROMIUM


def require_playwright() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail(
            "playwright not importable: pip install playwright (it is in the [test] extra; "
            "run `make test`). Its browser download is not needed: tests use Debian's chromium.",
            pytrace=False,
        )


class Screenshots:
    """A PNG of every page a test visits, taken by the test's own thread (no races).

    A page's ``load`` event only marks it; the screenshot is taken at the
    test's next use of the page (through :class:`ShotPage`) or at teardown,
    so it shows the loaded page before the test acts on it. Screenshots are
    numbered in the order taken and named after the page's path.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []
        self._loaded: dict[int, Page] = {}

    def watch(self, context: BrowserContext) -> None:
        context.on("page", self._watch_page)
        for page in context.pages:
            self._watch_page(page)

    def wrap(self, page: Page) -> ShotPage:
        return ShotPage(page, self)

    def _watch_page(self, page: Page) -> None:
        page.on("load", self._mark)

    def _mark(self, page: Page) -> None:
        self._loaded[id(page)] = page

    def flush(self, page: Page) -> None:
        if self._loaded.pop(id(page), None) is not None:
            self.take(page)

    def take(self, page: Page, label: str = "") -> Path:
        """Save a full-page PNG now, named after its order and the page's path (or ``label``)."""
        self._loaded.pop(id(page), None)
        if not label:
            label = page.url.split("//", 1)[-1].partition("/")[2] or "root"
        slug = re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-")[:60] or "root"
        path = self.folder / f"{len(self.taken) + 1:02d}-{slug}.png"
        self.taken.append(path)
        page.screenshot(path=str(path), full_page=True)
        return path

    def finish(self) -> None:
        """Photograph pages that loaded since their last screenshot (before the browser closes)."""
        for page in list(self._loaded.values()):
            if not page.is_closed():
                self.take(page)
        self._loaded.clear()


class ShotPage:
    """A Playwright page that photographs itself after each load, before the test's next step."""

    def __init__(self, page: Page, shots: Screenshots) -> None:
        self._page = page
        self._shots = shots

    def __getattr__(self, name: str) -> Any:
        self._shots.flush(self._page)
        return getattr(self._page, name)

    @property
    def raw(self) -> Page:
        """The wrapped Playwright page."""
        return self._page


def launch(
    playwright: Playwright,
    profile_dir: Path,
    *,
    fake_audio: Path | None = None,
    fake_media: bool = False,
    extra_args: tuple[str, ...] = (),
    **context_options: Any,
) -> BrowserContext:
    """Headless Chromium with a fresh profile in ``profile_dir``; one context, closed by the caller."""
    executable = require_chromium()
    args = CHROMIUM_ARGS + extra_args
    if fake_media or fake_audio is not None:
        args += fake_media_args(fake_audio)
    return playwright.chromium.launch_persistent_context(
        str(profile_dir),
        executable_path=executable,
        headless=True,
        args=list(args),
        chromium_sandbox=False,
        viewport={"width": 1280, "height": 800},
        **context_options,
    )
