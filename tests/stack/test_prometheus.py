"""Prometheus in the stack: `up` starts it, it scrapes the model servers the course starts,
`down` stops it, and a machine without it (or with its port taken) still gets an MLflow stack."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import mlflow
import pytest
from _proc import free_port
from sklearn.linear_model import LogisticRegression

import course
from course import _prometheus, serving, stack

M07 = (
    Path(__file__).resolve().parents[2]
    / "solutions"
    / "07_monitoring_drift"
    / "07_monitoring_drift.ipynb"
)
needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="prometheus is not installed (make system-deps)"
)


@needs_prometheus
def test_the_config_passes_promtool(tmp_path: Path) -> None:
    path = tmp_path / "prometheus.yml"
    path.write_text(_prometheus.config(tmp_path))
    proc = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _post(url: str, rows: list[list[float]]) -> None:
    body = json.dumps({"dataframe_split": {"columns": ["x"], "data": rows}}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        assert r.status == 200


@needs_prometheus
def test_up_scrapes_the_model_server_and_down_stops_both(course_home: Path, capsys) -> None:
    note = stack.up(port=free_port(), home=course_home)
    try:
        assert "Prometheus healthy at http://127.0.0.1:" in note
        pid, _ = _prometheus.running(course_home)
        assert pid and "running" in stack.status(course_home)[1][1]
        mlflow.set_tracking_uri(course.stack.connect(course_home).tracking_uri)
        model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
        experiment = mlflow.create_experiment("scraped")  # not an earlier test's active one
        with mlflow.start_run(experiment_id=experiment):
            info = mlflow.sklearn.log_model(model, name="model", registered_model_name="tiny")
        server = serving.serve(f"models:/tiny/{info.registered_model_version}", log_requests=False)
        with server:
            for _ in range(3):
                _post(server.url + "/invocations", [[0.5], [2.5]])
            deadline, seen = time.monotonic() + 60, -1.0
            while time.monotonic() < deadline and seen != 3.0:  # the next scrape sees all three
                found = _prometheus.query(
                    course_home, 'serving_requests_total{job="model-servers"}'
                )
                seen = float(found[0]["value"][1]) if found else -1.0
                time.sleep(1)
            assert seen == 3.0, found
        assert not list(_prometheus.targets_dir(course_home).glob("*.json")), "target left behind"
        _m07_rules_load(course_home, capsys)
    finally:
        mlflow.set_tracking_uri(None)
        out = stack.down(course_home)
    assert "stopped Prometheus" in out
    assert _prometheus.running(course_home) == (None, None)


def _m07_rules_load(home: Path, capsys) -> None:
    """m07's check hands the learner's rules to the running Prometheus and asks its API."""
    cells = json.loads(M07.read_text())["cells"]
    rules = next(
        c
        for c in cells
        if c["metadata"].get("nbgrader", {}).get("grade_id") == "m07_ex8_rules_answer"
    )
    tests = next(
        c
        for c in cells
        if c["metadata"].get("nbgrader", {}).get("grade_id") == "m07_ex8_tests_answer"
    )
    work = home / "m07"
    work.mkdir()
    for name, cell in (("alerts.yml", rules), ("alerts_test.yml", tests)):
        lines = "".join(cell["source"]).splitlines()[1:]  # the file %%writefile writes
        body = "\n".join(ln for ln in lines if not ln.startswith("### ")) + "\n"
        (work / name).write_text(body)
    capsys.readouterr()
    course.check(
        "m07.ex8", rules_file=str(work / "alerts.yml"), tests_file=str(work / "alerts_test.yml")
    )
    assert capsys.readouterr().out.strip().endswith("Prometheus loaded them")
    line = _prometheus.load_rules(home, work / "alerts.yml")
    assert "ShopflowDataDrift inactive (health ok)" in line, line
    (work / "broken.yml").write_text(
        "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: up >\n"
    )
    with pytest.raises(course.CourseError, match="Prometheus refused broken.yml"):
        _prometheus.load_rules(home, work / "broken.yml", name="broken")
    assert not (_prometheus.rules_dir(home) / "broken.yml").exists(), "a refused file stays behind"


@needs_prometheus
def test_a_taken_port_is_a_note_and_mlflow_still_starts(course_home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        try:
            note = stack.up(port=free_port(), home=course_home, prometheus_port=busy)
            assert "MLflow server healthy" in note
            assert f"Prometheus not started: port {busy} on 127.0.0.1 is in use" in note
            assert f"--prometheus-port {busy + 1}" in note
        finally:
            stack.down(course_home)


def test_without_prometheus_the_stack_says_so_in_one_line(course_home, monkeypatch) -> None:
    monkeypatch.setattr(_prometheus, "binary", lambda: None)
    assert _prometheus.up(course_home) == _prometheus.MISSING
    assert _prometheus.status_row(course_home)[1] == "not installed"
    assert "\n" not in _prometheus.MISSING


def test_a_bad_port_setting_is_one_actionable_line(monkeypatch) -> None:
    monkeypatch.setenv(_prometheus.PORT_ENV, "nine")
    with pytest.raises(course.CourseError, match="COURSE_PROMETHEUS_PORT='nine' is not a port"):
        _prometheus.port()
