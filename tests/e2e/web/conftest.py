"""Browser fixtures: Debian's Chromium driven by Playwright, a screenshot of every page.

- ``screenshots``: this test's :class:`peers.browser.Screenshots` (its folder
  is printed in the report sections of a failed test and in the run summary).
- ``open_browser(fake_audio=None, fake_media=False, **context_options)``:
  a fresh headless Chromium context (own profile), pages photographed on load.
- ``page``: one page of one such browser, for tests that need no options;
  wrap pages you open yourself with ``screenshots.wrap(page)``.

A missing Chromium or Playwright fails the test with how to install it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from peers.browser import Screenshots, ShotPage, launch, require_chromium, require_playwright
from peers.browser import screenshot_dir_for as _screenshot_dir_for

_SHOTS_KEY = pytest.StashKey[Screenshots]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    shots = item.stash.get(_SHOTS_KEY, None)
    if shots is not None and report.when == "call":
        report.user_properties.append(("screenshots", str(shots.folder)))
        if report.failed:
            listing = "\n".join(str(p) for p in shots.taken) or "(none taken)"
            report.sections.append(("browser screenshots", f"{shots.folder}\n{listing}"))


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    shots = Screenshots(_screenshot_dir_for(request.node.nodeid))
    request.node.stash[_SHOTS_KEY] = shots
    return shots


@pytest.fixture
def open_browser(tmp_path: Path, screenshots: Screenshots) -> Iterator[Callable[..., Any]]:
    require_playwright()
    require_chromium()
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    contexts: list[Any] = []

    def open_one(**options: Any) -> Any:
        context = launch(playwright, tmp_path / f"chromium-profile-{len(contexts)}", **options)
        contexts.append(context)
        screenshots.watch(context)
        return context

    try:
        yield open_one
    finally:
        try:
            screenshots.finish()
        finally:
            for context in contexts:
                context.close()
            playwright.stop()


@pytest.fixture
def page(open_browser: Callable[..., Any], screenshots: Screenshots) -> ShotPage:
    """A page of a fresh browser; photographed after every load (see ``ShotPage``)."""
    context = open_browser()
    return screenshots.wrap(context.pages[0] if context.pages else context.new_page())
