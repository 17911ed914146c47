"""Browser tests: the web app and the services as operators run them (`nameko run`, PostgreSQL),
driven by Playwright in Debian's chromium, headless (infra/local-services.sh installs it; no browser
is downloaded). They run in a pytest process of their own, not patched by eventlet
(CASES_TESTS_IN_BROWSER=1, tests/conftest.py): `make browser-tests`, and `make test` after the rest."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import eventlet.patcher
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from tests.e2e.conftest import run_services  # noqa: F401 - the services, started per test
from tests.support.services import TEST_TOKENS, ServiceProcess, free_port
from tests.support.infrastructure import Infrastructure

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Chromium as root on a machine without a display or network: no sandbox, no GPU, nothing fetched at start.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SHOTS = Path(os.environ.get("CASES_TEST_RUN_LOG_DIR") or "/tmp") / "screens"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if eventlet.patcher.is_monkey_patched("socket"):
        pytest.fail("The browser tests run in a process without eventlet: make browser-tests "
                    "(CASES_TESTS_IN_BROWSER=1 pytest tests/browser)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def web(run_services: Callable[..., dict[str, dict[str, Any]]], infrastructure: Infrastructure,  # noqa: F811
        tmp_path: Path) -> Iterator["Web"]:
    """initiatives, meetings and audit on PostgreSQL, and the web app reading them."""
    configs = run_services("initiatives", "meetings", "audit")
    config = {
        "AMQP_URI": infrastructure.amqp_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
        "WEB_SERVICES": {name: f"http://{c['WEB_SERVER_ADDRESS']}" for name, c in configs.items()},
        "AUTH_TOKEN_DIGESTS": configs["initiatives"]["AUTH_TOKEN_DIGESTS"], "WEB_SECURE_COOKIE": "false",
    }
    process = ServiceProcess(config, str(tmp_path / "web.log"), "web").start()
    try:
        yield Web(f"http://{config['WEB_SERVER_ADDRESS']}", configs)
    finally:
        process.stop()


class Web:
    def __init__(self, base_url: str, configs: dict[str, dict[str, Any]]):
        self.base_url = base_url
        self.configs = configs

    def signed_in(self, browser: Browser, role: str, javascript: bool = True) -> Page:
        """A browser of its own for the role, signed in on the sign-in page with the keyboard alone:
        Tab to the token field, type the role's token, Enter."""
        page = browser.new_context(base_url=self.base_url, locale="sv-SE", java_script_enabled=javascript).new_page()
        page.set_default_timeout(15_000)
        page.goto("/arenden")
        assert "/logga-in" in page.url  # no session: the sign-in page first
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Hoppa till innehållet"
        for _ in range(10):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "token":
                break
        else:
            raise AssertionError("the token field cannot be reached with Tab")
        page.keyboard.type(TEST_TOKENS[role]["token"])
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/arenden$"))
        assert TEST_TOKENS[role]["actor"] in page.locator("header").inner_text()
        assert_accessible(page)
        return page


# On each page: Swedish, one h1, every form control labelled, every button named, ids unique.
ACCESSIBILITY_PROBLEMS = """() => {
  const problems = [];
  if (document.documentElement.lang !== "sv") problems.push("html lang is not sv");
  if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
  for (const control of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (!(control.labels && control.labels.length) && !control.getAttribute("aria-label"))
      problems.push("unlabelled " + control.outerHTML.slice(0, 120));
  }
  for (const button of document.querySelectorAll("button, a[href]")) {
    if (!button.textContent.trim() && !button.getAttribute("aria-label")) problems.push("unnamed " + button.outerHTML.slice(0, 120));
  }
  const ids = [...document.querySelectorAll("[id]")].map(e => e.id);
  for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) problems.push("duplicate id " + id);
  for (const element of document.querySelectorAll("[aria-describedby]")) {
    for (const id of element.getAttribute("aria-describedby").split(" "))
      if (!document.getElementById(id)) problems.push("aria-describedby names no element: " + id);
  }
  return problems;
}"""


def assert_accessible(page: Page) -> None:
    problems = page.evaluate(ACCESSIBILITY_PROBLEMS)
    assert problems == [], f"{page.url}: {problems}"


def field(page: Page, label: str) -> Locator:
    """The form field with this label (a required one's label goes on: "Rubrik (måste fyllas i)")."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}( \(måste fyllas i\))?$"))


def reload_until(page: Page, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Reloads the page until the condition holds: events reach other services asynchronously."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not shown within {timeout}s on {page.url}:\n{page.inner_text('main')[:3000]}")
        time.sleep(0.3)
        page.reload()


def screenshot(page: Page, name: str) -> None:
    """Kept with the run's logs, to look at when a test fails."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
