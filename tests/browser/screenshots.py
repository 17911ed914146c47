"""`make screenshots`: the demo's main pages in Debian's chromium, as docs/screenshots/*.png (the
README shows them). Runs `make run`'s stack on spare ports with a fresh store and the demo, signs
in with the development roles, and photographs each page."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import click
from playwright.sync_api import Page, sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT = REPO_ROOT / "docs" / "screenshots"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def signed_in(browser, base_url: str, role_button: str) -> Page:  # type: ignore[no-untyped-def]
    page = browser.new_context(base_url=base_url, locale="sv-SE", viewport={"width": 1280, "height": 900}).new_page()
    page.goto("/logga-in")
    page.get_by_role("button", name=role_button).click()
    page.wait_for_url("**/arenden")
    return page


def first_page(page: Page, prefix: str) -> str:
    """The first link on the page to one item (an id after the prefix, not a form such as /ny)."""
    hrefs = page.locator(f"main a[href^='{prefix}']").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    return next(href for href in hrefs if re.fullmatch(rf"{prefix}[0-9a-f-]{{36}}", href))


def shoot_first(page: Page, listing: str, prefix: str, name: str) -> None:
    """The first item listed on `listing` (its page a link under `prefix`)."""
    page.goto(listing)
    shoot(page, first_page(page, prefix), name)


def shoot(page: Page, path: str, name: str) -> None:
    page.goto(path)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    click.echo(f"docs/screenshots/{name}.png  {path}")


@click.command()
@click.option("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"), show_default=True)
def main(chromium: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("WEB", "INITIATIVES", "LETTERS", "MEETINGS", "EVALUATIONS", "AUDIT")}
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "DATA_DIR": data, "LOG_FORMAT": "text", **{f"{k}_PORT": str(v) for k, v in ports.items()}}
        stack = subprocess.Popen([sys.executable, "-m", "services.run_local"], cwd=REPO_ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        try:
            assert stack.stdout is not None
            for line in stack.stdout:  # up when it says how to stop it
                if line.startswith("Ctrl-C stops"):
                    break
            else:
                raise click.ClickException(f"make run's stack stopped: {stack.wait()}")
            base_url = f"http://127.0.0.1:{ports['WEB']}"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
                registrar = signed_in(browser, base_url, "Registrator (utveckling)")
                shoot(registrar, "/arenden", "arenden")
                case = registrar.locator("table.list a").first.get_attribute("href")
                auditor = signed_in(browser, base_url, "Revisor (utveckling)")
                shoot(auditor, case, "arende")
                secretary = signed_in(browser, base_url, "Nämndsekreterare (utveckling)")
                shoot_first(secretary, "/sammantraden", "/sammantraden/", "sammantrade")
                shoot_first(secretary, "/organ", "/organ/", "organ")
                strategist = signed_in(browser, base_url, "Strateg (utveckling)")
                shoot_first(strategist, "/overenskommelser", "/overenskommelser/", "overenskommelse")
                shoot_first(strategist, "/utvarderingar?state=published", "/utvarderingar/", "utvardering")
                shoot(registrar, "/sok?q=samverkan", "sok")
                browser.close()
        finally:
            os.killpg(stack.pid, signal.SIGTERM)
            stack.wait(timeout=60)


if __name__ == "__main__":
    main()
