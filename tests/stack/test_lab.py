"""`course lab` (what `make lab` runs): the stack healthy, JupyterLab with nbgrader serving the
learner's workspace offline, the learner's files never overwritten, and a clean stop."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from _proc import (
    COURSE,
    REPO,
    course_env,
    free_port,
    guarded,
    http_get,
    pid_alive,
    port_free,
    wait_until,
)

pytestmark = pytest.mark.server
TOKEN = "test-token"


def test_lab_serves_the_workspace_with_nbgrader_and_stops_cleanly(tmp_path: Path) -> None:
    home, workspace, netlog = tmp_path / "home", tmp_path / "workspace", tmp_path / "net.log"
    mine = workspace / "00_welcome" / "00_welcome.ipynb"
    mine.parent.mkdir(parents=True)
    mine.write_text('{"my": "answers"}')  # a learner's work: must survive
    lab_port, mlflow_port = free_port(), free_port()
    env = guarded(course_env(home, COURSE_MLFLOW_PORT=str(mlflow_port)), netlog)
    cmd = [str(COURSE), "lab", "--no-browser", "--port", str(lab_port), "--workspace",
           str(workspace), "--", f"--IdentityProvider.token={TOKEN}"]  # fmt: skip
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{lab_port}"
    try:
        assert wait_until(lambda: _answers(f"{base}/api/status?token={TOKEN}"), timeout=120)
        assert http_get(f"http://127.0.0.1:{mlflow_port}/health")[0] == 200
        status, page = http_get(f"http://127.0.0.1:{mlflow_port}/")  # the MLflow UI
        assert status == 200 and b"<html" in page.lower()
        status, body = http_get(f"{base}/lab/api/extensions?token={TOKEN}")
        enabled = {e["name"]: e["enabled"] for e in json.loads(body)}
        assert enabled.get("@jupyter/nbgrader") is True
        status, body = http_get(f"{base}/assignments?token={TOKEN}&course_id=mlops-course")
        assert status == 200 and json.loads(body)["success"] is True  # the exchange exists
        assert mine.read_text() == '{"my": "answers"}'
        assert (workspace / "02_experiment_tracking" / "02_experiment_tracking.ipynb").exists()
        pid = int((home / "run" / "mlflow.pid").read_text().split()[0])
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends
        proc.wait(timeout=60)
        log.close()
    assert wait_until(lambda: port_free(lab_port) and port_free(mlflow_port), timeout=30)
    assert not pid_alive(pid)
    assert "stopped MLflow server" in (tmp_path / "lab.log").read_text()
    assert not netlog.exists() or netlog.read_text() == ""


def _answers(url: str) -> bool:
    try:
        return http_get(url, timeout=2)[0] == 200
    except OSError:
        return False
