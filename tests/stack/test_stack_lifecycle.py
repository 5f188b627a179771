"""The stack's life with a real `mlflow server`: up, idempotent up, status, a notebook logging to it,
down, restart keeping the data, reset. Everything runs through the `course` command and a fresh
python, with the network guard on so that neither the client nor the server reaches outside.

The tests of this module run in file order on one server start (a module-scoped fixture); each
test also works on its own, at the cost of starting the server for it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _proc import (
    NETGUARD,
    course,
    course_env,
    free_port,
    guarded,
    http_get,
    ok,
    one_line_error,
    pid_alive,
    port_free,
    python,
    wait_until,
)

# One notebook session: connect, log a run with a param and a metric and a small sklearn model with
# the pinned requirements, and report what happened as JSON on the last line of stdout.
CLIENT_SCRIPT = """
import json
import sys

import mlflow
import mlflow.sklearn
from sklearn.linear_model import LogisticRegression

import course

stack = course.setup("m02")
model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
with mlflow.start_run(run_name="lifecycle") as run:
    mlflow.log_param("C", 1.0)
    mlflow.log_metric("accuracy", 0.75)
    info = mlflow.sklearn.log_model(model, name="model", pip_requirements=stack.pip_requirements)
guard = sys.modules.get("sitecustomize")
print(json.dumps({
    "mode": stack.mode,
    "tracking_uri": stack.tracking_uri,
    "experiment_id": run.info.experiment_id,
    "run_id": run.info.run_id,
    "model_id": info.model_id,
    "pip_requirements": list(stack.pip_requirements),
    "guard": getattr(guard, "__file__", None),
}))
"""


# --- helpers ----------------------------------------------------------------------------------


def is_mlflow_server(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"mlflow" in cmdline and b"server" in cmdline


def read_pid_file(home: Path) -> tuple[int, int] | None:
    try:
        pid, port = (home / "run" / "mlflow.pid").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return int(pid), int(port)


def http_get_fails(url: str) -> bool:
    try:
        http_get(url, timeout=2)
    except OSError:
        return True
    return False


def api(port: int, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call the MLflow REST API of the server on port (POST when there is a payload)."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/2.0/mlflow/{path}",
        data=data,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.load(r)


def search_runs(port: int, experiment_id: str) -> dict[str, dict[str, Any]]:
    runs = api(port, "runs/search", {"experiment_ids": [experiment_id]}).get("runs", [])
    return {run["info"]["run_id"]: run for run in runs}


def last_json_line(stdout: str) -> dict[str, Any]:
    return json.loads(stdout.strip().splitlines()[-1])


def guard_log_text(log: Path) -> str:
    return log.read_text() if log.exists() else ""


# --- the server -------------------------------------------------------------------------------


@dataclass
class Server:
    home: Path
    port: int
    env: dict[str, str]  # guarded: the CLI, the server it starts and clients are all watched
    guard_log: Path
    first_up: subprocess.CompletedProcess | None = None
    pids: set[int] = field(default_factory=set)  # every server pid seen, for the teardown
    logged: dict[str, Any] | None = None  # what the client script logged

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        result = course(self.env, *args)
        self.remember_pid()
        return result

    def remember_pid(self) -> int | None:
        found = read_pid_file(self.home)
        if found:
            self.pids.add(found[0])
        return found[0] if found else None

    def ensure_up(self) -> int:
        ok(self.cli("stack", "up", "--port", str(self.port)))
        pid = self.remember_pid()
        assert pid is not None and pid_alive(pid)
        return pid

    def ensure_down(self) -> None:
        ok(self.cli("stack", "down"))
        assert wait_until(lambda: not any(pid_alive(p) for p in self.pids)), "server still alive"
        assert wait_until(lambda: port_free(self.port)), f"port {self.port} still taken"

    def log_a_run(self) -> dict[str, Any]:
        """Run the client script once against the running server (cached for later tests)."""
        if self.logged is None:
            self.ensure_up()
            result = python(self.env, CLIENT_SCRIPT)
            self.logged = {"stdout": ok(result), **last_json_line(result.stdout)}
        return self.logged


def kill_server(pid: int) -> None:
    """Last resort of the teardown: give the server time to stop after `down`, then SIGKILL its
    process group (it has its own)."""
    if wait_until(lambda: not (pid_alive(pid) and is_mlflow_server(pid)), timeout=20):
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`course stack up` once for the module; always stopped afterwards, even when tests fail."""
    base = tmp_path_factory.mktemp("stack-lifecycle")
    home = base / "course-home"
    guard_log = base / "netguard.log"  # outside COURSE_HOME: `reset --yes` must not wipe it
    srv = Server(home, free_port(), guarded(course_env(home), guard_log), guard_log)
    try:
        srv.first_up = srv.cli("stack", "up", "--port", str(srv.port))
        yield srv
    finally:
        course(srv.env, "stack", "down", timeout=60)
        srv.remember_pid()
        for pid in srv.pids:
            kill_server(pid)


# --- lifecycle --------------------------------------------------------------------------------


@pytest.mark.server
def test_up_starts_a_healthy_server(server: Server) -> None:
    assert server.first_up is not None
    out = ok(server.first_up)
    assert f"MLflow server healthy at {server.url}" in out
    found = read_pid_file(server.home)
    assert found is not None, "no pid file after `course stack up`"
    pid, port = found
    assert port == server.port
    assert f"(pid {pid})" in out
    assert pid_alive(pid) and is_mlflow_server(pid)
    status, body = http_get(f"{server.url}/health")
    assert status == 200, body
    # the server itself runs under the network guard (the last test reads its log)
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"NETGUARD_LOG={server.guard_log}".encode() in environ
    assert f"PYTHONPATH={NETGUARD}".encode() in environ


@pytest.mark.server
def test_second_up_is_idempotent(server: Server) -> None:
    pid = server.ensure_up()
    again = ok(server.cli("stack", "up", "--port", str(server.port)))
    assert "already running" in again
    assert f"{server.url} (pid {pid})" in again
    assert read_pid_file(server.home) == (pid, server.port)
    assert pid_alive(pid)
    assert http_get(f"{server.url}/health")[0] == 200


@pytest.mark.server
def test_status_shows_running_with_url(server: Server) -> None:
    pid = server.ensure_up()
    out = ok(server.cli("stack", "status"))
    row = next(line for line in out.splitlines() if line.startswith("mlflow server"))
    assert "running" in row
    assert f"{server.url} (pid {pid})" in row
    assert any(
        line.startswith("tracking store") and "ready" in line for line in out.splitlines()
    ), out


@pytest.mark.server
def test_setup_connects_in_server_mode_and_the_run_is_visible(server: Server) -> None:
    logged = server.log_a_run()
    setup_line = next(line for line in logged["stdout"].splitlines() if "m02" in line)
    assert f"server MLflow at {server.url}" in setup_line
    assert logged["mode"] == "server"
    assert logged["tracking_uri"] == server.url
    assert logged["guard"] == str(NETGUARD / "sitecustomize.py"), "network guard not loaded"

    runs = search_runs(server.port, logged["experiment_id"])
    assert logged["run_id"] in runs
    run = runs[logged["run_id"]]
    assert run["info"]["status"] == "FINISHED"
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert metrics == {"accuracy": 0.75}
    experiment = api(server.port, f"experiments/get?experiment_id={logged['experiment_id']}")
    assert experiment["experiment"]["name"] == "shopflow-m02"

    # the model's files went through the server into the shared store under COURSE_HOME
    model = api(server.port, f"logged-models/{logged['model_id']}")["model"]["info"]
    assert model["source_run_id"] == logged["run_id"]
    model_dir = server.home / "mlflow" / "artifacts" / logged["experiment_id"] / "models"
    requirements = model_dir / logged["model_id"] / "artifacts" / "requirements.txt"
    pinned = set(requirements.read_text().split())
    assert set(logged["pip_requirements"]) <= pinned, pinned  # MLflow adds its own pin


@pytest.mark.server
def test_down_stops_the_server_and_second_down_says_not_running(server: Server) -> None:
    pid = server.ensure_up()
    out = ok(server.cli("stack", "down"))
    assert f"stopped MLflow server (pid {pid}, port {server.port})" in out
    assert not (server.home / "run" / "mlflow.pid").exists()
    assert wait_until(lambda: not pid_alive(pid)), f"server pid {pid} still alive"
    assert wait_until(lambda: port_free(server.port)), f"port {server.port} still taken"
    assert http_get_fails(f"{server.url}/health")

    again = ok(server.cli("stack", "down"))
    assert "not running" in again
    status = ok(server.cli("stack", "status"))
    assert "stopped" in next(ln for ln in status.splitlines() if ln.startswith("mlflow server"))


@pytest.mark.server
def test_restart_keeps_runs_and_models(server: Server) -> None:
    logged = server.log_a_run()
    old_pid = server.ensure_up()
    server.ensure_down()

    pid = server.ensure_up()
    assert pid != old_pid
    assert http_get(f"{server.url}/health")[0] == 200
    runs = search_runs(server.port, logged["experiment_id"])
    assert logged["run_id"] in runs, "the run logged before the restart is gone"
    metrics = {m["key"]: m["value"] for m in runs[logged["run_id"]]["data"]["metrics"]}
    assert metrics == {"accuracy": 0.75}
    model = api(server.port, f"logged-models/{logged['model_id']}")["model"]["info"]
    prefix = "mlflow-artifacts:/"
    assert model["artifact_uri"].startswith(prefix)
    path = model["artifact_uri"][len(prefix) :]
    status, body = http_get(f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{path}/MLmodel")
    assert status == 200, body
    assert logged["model_id"].encode() in body


@pytest.mark.server
def test_down_returns_only_after_the_server_has_exited(server: Server) -> None:
    pid = server.ensure_up()
    ok(server.cli("stack", "down"))
    alive_when_down_returned = pid_alive(pid)
    listening_when_down_returned = not port_free(server.port)
    assert wait_until(lambda: not pid_alive(pid)), f"server pid {pid} never exited"
    assert wait_until(lambda: port_free(server.port))
    assert not alive_when_down_returned, "`down` returned while the server process was alive"
    assert not listening_when_down_returned, "`down` returned while the port was still taken"


@pytest.mark.server
def test_reset_refuses_without_yes_then_wipes_everything(server: Server) -> None:
    logged = server.log_a_run()
    server.ensure_down()
    db = server.home / "mlflow" / "mlflow.db"
    before = db.read_bytes()

    line = one_line_error(server.cli("stack", "reset"))
    assert "--yes" in line and str(server.home) in line
    assert db.read_bytes() == before, "reset without --yes touched the database"
    model_dir = server.home / "mlflow" / "artifacts" / logged["experiment_id"] / "models"
    assert (model_dir / logged["model_id"]).is_dir()

    out = ok(server.cli("stack", "reset", "--yes"))
    assert f"wiped {server.home}" in out
    assert not server.home.exists()


@pytest.mark.server
def test_server_made_no_outside_connections(server: Server) -> None:
    """Last: the guard log collects whatever the CLI, the server and the client tried."""
    server.log_a_run()
    assert guard_log_text(server.guard_log) == ""


# --- no network, embedded ---------------------------------------------------------------------


def test_embedded_setup_and_model_logging_stay_offline(tmp_path: Path) -> None:
    home = tmp_path / "course-home"
    log = tmp_path / "netguard.log"
    result = python(guarded(course_env(home), log), CLIENT_SCRIPT)
    logged = last_json_line(ok(result))
    assert logged["mode"] == "embedded"
    assert logged["guard"] == str(NETGUARD / "sitecustomize.py"), "network guard not loaded"
    assert guard_log_text(log) == ""
    assert (home / "mlflow" / "mlflow.db").stat().st_size > 0


def test_the_network_guard_records_outside_lookups(tmp_path: Path) -> None:
    """The guard itself works, so an empty log above means something."""
    log = tmp_path / "netguard.log"
    code = (
        "import socket\n"
        "try:\n"
        "    socket.getaddrinfo('pypi.org', 443)\n"
        "except OSError:\n"
        "    print('blocked')\n"
    )
    result = python(guarded(course_env(tmp_path / "home"), log), code, timeout=60)
    assert ok(result).strip() == "blocked"
    assert "DNS-BLOCKED 'pypi.org'" in guard_log_text(log)
