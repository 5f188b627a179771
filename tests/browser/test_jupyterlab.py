"""A learner's first minutes, in a real browser: `course lab` serves module 00, headless Chromium
runs every cell, the check lines and nbgrader's Validate button show, and a screenshot is kept.
Nothing on the page reaches outside the machine (not even the Colab badge), no news popup asks
for consent, and nbgrader's instructor tools are not in a learner's menu.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stack"))
from _proc import COURSE, REPO, course_env, free_port, http_get, wait_until  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TOKEN = "browser-test"
SCREENSHOT = REPO / "test-artifacts" / "m00-run-all.png"
# Chromium offline: no background fetches, no update or sync checks (they would be refused).
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
NEWS_POPUP = "official Jupyter news"
INSTRUCTOR_ITEMS = ("Formgrader", "Course List", "Create Assignment")

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Chromium is not installed (make system-deps installs Debian's chromium)",
    ),
]


def _answers(url: str) -> bool:
    try:
        return http_get(url)[0] == 200
    except OSError:
        return False


@pytest.fixture
def lab(tmp_path):
    port, mlflow_port = free_port(), free_port()
    env = course_env(tmp_path / "home", COURSE_MLFLOW_PORT=str(mlflow_port))
    cmd = [str(COURSE), "lab", "--no-browser", "--port", str(port), "--workspace",
           str(tmp_path / "workspace"), "--", f"--IdentityProvider.token={TOKEN}"]  # fmt: skip
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        ok = wait_until(lambda: _answers(f"{base}/api/status?token={TOKEN}"), 120)
        assert ok, (tmp_path / "lab.log").read_text()[-2000:]
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:  # a clean Ctrl-C stop is tests/stack/test_lab.py's subject; here it only cleans up
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            subprocess.run([str(COURSE), "stack", "down"], env=env, capture_output=True, timeout=60)
        log.close()


def test_module_00_runs_top_to_bottom_in_chromium(lab, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    url = f"{lab}/lab/tree/00_welcome/00_welcome.ipynb?token={TOKEN}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)  # a fresh profile
        outside: list[str] = []
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 2000})
            page.on("request", lambda r: outside.append(r.url) if _outside(r.url) else None)
            page.goto(url, wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            # The kernel is ready when the status bar says so; earlier clicks are lost.
            page.wait_for_selector("text=/Python 3 \\(ipykernel\\) \\| Idle/", timeout=120_000)
            page.wait_for_timeout(1000)
            # Run every cell as a learner does: Shift+Enter from the top, cell after cell.
            page.locator(".jp-Notebook .jp-Cell").first.click()
            page.keyboard.press("Escape")
            for _ in range(page.locator(".jp-Notebook .jp-Cell").count()):
                page.keyboard.press("Shift+Enter")
                page.wait_for_timeout(150)
            # The last cell prints the progress table: the whole notebook ran.
            try:
                page.wait_for_selector("text=/m00: \\d+ of \\d+ passed/", timeout=180_000)
            except Exception:
                SCREENSHOT.parent.mkdir(exist_ok=True)
                page.screenshot(path=str(SCREENSHOT.with_name("m00-failure.png")), full_page=True)
                raise
            text = page.inner_text(".jp-Notebook")
            body = page.inner_text("body")
            menu = _nbgrader_menu(page)
            validate = page.get_by_text("Validate", exact=True)
            assert validate.count() >= 1, "nbgrader's Validate button is missing"
            # JupyterLab renders only the cells in view: scroll up for the first ones.
            page.locator(".jp-WindowedPanel-outer").first.evaluate("n => n.scrollTop = 0")
            page.wait_for_timeout(1500)
            text += page.inner_text(".jp-Notebook")
            badge = page.locator('.jp-RenderedMarkdown img[alt="Open In Colab"]').first
            badge_width = badge.evaluate("img => img.complete ? img.naturalWidth : 0")
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert "✓ m00 Welcome and the local stack" in text  # the setup cell's status line
    assert "Not attempted" in text or "not attempted" in text  # the untouched exercises
    # Stub cells raise NotImplementedError (that is the stub); checks answer in one line, never
    # with a traceback into the package.
    assert "course/checks/" not in text and "site-packages" not in text
    assert SCREENSHOT.stat().st_size > 10_000
    print(f"screenshot: {SCREENSHOT}")
    assert outside == [], f"the page reached outside the machine: {outside}"
    assert badge_width == 117, "the Colab badge did not load from the notebook"
    assert NEWS_POPUP not in body, "JupyterLab asked about news"
    assert "Assignment List" in menu, menu  # the learner's nbgrader tool stays
    assert [i for i in INSTRUCTOR_ITEMS if i in menu + body] == [], menu


def _outside(url: str) -> bool:
    """A request that would leave the machine (data: and blob: URLs never do)."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOOPBACK


def _nbgrader_menu(page) -> str:  # type: ignore[no-untyped-def]
    """The items of the Nbgrader menu in the menu bar, as a learner sees them."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.wait_for_selector("#jp-mainmenu-nbgrader", timeout=10_000)
    items = page.inner_text("#jp-mainmenu-nbgrader")
    page.keyboard.press("Escape")
    return items
