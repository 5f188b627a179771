"""The MLflow links a notebook prints open the experiment's training runs, not MLflow 3's GenAI
overview: checked on the printed text against a real `course stack up`, then in headless Chromium
(the runs table shows the run; no GenAI overview, no "Detect Issues")."""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stack"))
from _proc import course, course_env, free_port, http_get, ok, python  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
RUNS_VIEW = re.compile(
    r"http://127\.0\.0\.1:\d+/#/experiments/(\d+)/runs\?workflowType=machine_learning"
)

pytestmark = pytest.mark.server

# A notebook's first cells: connect, log one run; MLflow prints its links when the run ends.
NOTEBOOK = """
import mlflow
import course

stack = course.setup("m02")
with mlflow.start_run(run_name="ui-link") as run:
    mlflow.log_metric("val_roc_auc", 0.75)
print("RUN", run.info.run_id)
"""


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """(MLflow port, what the notebook printed) against a running `course stack up`."""
    home = tmp_path_factory.mktemp("mlflow-ui") / "home"
    port = free_port()
    env = course_env(home)
    ok(course(env, "stack", "up", "--port", str(port)))
    try:
        result = python(env, NOTEBOOK)
        assert result.returncode == 0, result.stdout + result.stderr
        yield port, result.stdout
    finally:
        ok(course(env, "stack", "down"))


def test_printed_links_open_the_runs_view(printed: tuple[int, str]) -> None:
    port, out = printed
    setup_line = next(line for line in out.splitlines() if line.startswith("✓ m02"))
    experiment = next(line for line in out.splitlines() if "View experiment at:" in line)
    run_line = next(line for line in out.splitlines() if "View run ui-link at:" in line)
    run_id = out.split("RUN ", 1)[1].split()[0]
    assert RUNS_VIEW.search(setup_line), setup_line
    assert RUNS_VIEW.search(experiment), experiment
    assert re.search(
        rf"/#/experiments/\d+/runs/{run_id}\?workflowType=machine_learning$", run_line
    ), run_line
    # The server runs without MLflow's AI gateway (a GenAI extra the course never uses).
    status, body = http_get(f"http://127.0.0.1:{port}/ajax-api/3.0/mlflow/server-info")
    assert status == 200 and json.loads(body)["features_enabled"]["gateway"] is False


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Chromium is not installed (make system-deps installs Debian's chromium)",
)
def test_the_experiment_link_shows_the_runs_table_in_chromium(printed: tuple[int, str]) -> None:
    from playwright.sync_api import sync_playwright

    _, out = printed
    url = RUNS_VIEW.search(next(ln for ln in out.splitlines() if "View experiment" in ln))[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            page.get_by_text("ui-link", exact=True).wait_for(timeout=60_000)  # the run's row
            text = page.inner_text("body")
            assert "/runs" in page.url and "overview" not in page.url
        finally:
            browser.close()
    assert "Runs" in text and "Detect Issues" not in text
    assert "Evaluation runs" not in text  # the GenAI side panel is not shown
