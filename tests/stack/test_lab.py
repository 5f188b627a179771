"""`course lab` (what `make lab` runs): the stack healthy, JupyterLab with nbgrader serving the
learner's workspace offline, the learner's files never overwritten, a quiet log, nbgrader's
instructor tools only with --instructor, and a clean stop that leaves alone what it did not start."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
from _proc import (
    COURSE,
    REPO,
    course,
    course_env,
    free_port,
    guarded,
    http_get,
    ok,
    pid_alive,
    port_free,
    wait_until,
)

pytestmark = pytest.mark.server
TOKEN = "test-token"
# What a learner's terminal must not show (each was seen before the lab was configured).
NOISE = (
    "Kernel is running over TCP without encryption",
    "websocket_ping_timeout",
    "is not trusted",
    "Exception in callback",
    "Traceback",
)
PING_INTERVAL = 30  # seconds between Jupyter Server's websocket pings
INSTRUCTOR_PLUGINS = (
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
)


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
        # A learner's lab: no instructor panels, no formgrader behind them.
        assert _disabled_plugins(base) >= set(INSTRUCTOR_PLUGINS)
        assert http_get(f"{base}/formgrader?token={TOKEN}")[0] == 404
        # Open a course notebook and run code in a kernel over its websocket, as the page does.
        status, _ = http_get(f"{base}/api/contents/01_reproducible_training/"
                             f"01_reproducible_training.ipynb?token={TOKEN}")  # fmt: skip
        assert status == 200
        assert asyncio.run(_run_in_kernel(lab_port, "print(6 * 7)", hold=PING_INTERVAL + 5)) == "42"
        pid = int((home / "run" / "mlflow.pid").read_text().split()[0])
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends
        proc.wait(timeout=60)
        log.close()
    assert wait_until(lambda: port_free(lab_port) and port_free(mlflow_port), timeout=30)
    assert not pid_alive(pid)
    text = (tmp_path / "lab.log").read_text()
    assert "Ctrl-C stops it and the MLflow server" in text
    assert "stopped MLflow server" in text
    assert [n for n in NOISE if n in text] == [], text[-3000:]
    assert not netlog.exists() or netlog.read_text() == ""


def test_instructor_lab_reuses_a_running_server_and_leaves_it_running(tmp_path: Path) -> None:
    home, workspace = tmp_path / "home", tmp_path / "workspace"
    lab_port, mlflow_port = free_port(), free_port()
    env = course_env(home)
    ok(course(env, "stack", "up", "--port", str(mlflow_port)))
    cmd = [str(COURSE), "lab", "--no-browser", "--instructor", "--port", str(lab_port),
           "--workspace", str(workspace), "--", f"--IdentityProvider.token={TOKEN}"]  # fmt: skip
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{lab_port}"
    try:
        assert wait_until(lambda: _answers(f"{base}/api/status?token={TOKEN}"), timeout=120)
        assert _disabled_plugins(base).isdisjoint(INSTRUCTOR_PLUGINS)
        assert http_get(f"{base}/formgrader?token={TOKEN}")[0] == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        log.close()
    try:
        text = (tmp_path / "lab.log").read_text()
        assert "already running" in text and "keeps running" in text
        assert "Ctrl-C stops it and" not in text and "stopped MLflow server" not in text
        assert http_get(f"http://127.0.0.1:{mlflow_port}/health")[0] == 200  # still serving
    finally:
        ok(course(env, "stack", "down"))


def _disabled_plugins(base: str) -> set[str]:
    """The plugins JupyterLab's page config disables (what the browser will not load)."""
    status, page = http_get(f"{base}/lab?token={TOKEN}")
    assert status == 200
    start = page.index(b'id="jupyter-config-data"')
    data = page[page.index(b">", start) + 1 : page.index(b"</script>", start)]
    return set(json.loads(data)["disabledExtensions"])


async def _run_in_kernel(port: int, code: str, hold: float = 0) -> str:
    """Start a kernel, run code over the kernel websocket and return its stdout; keep the socket
    open ``hold`` more seconds (through a server ping)."""
    from tornado.websocket import websocket_connect

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/kernels?token={TOKEN}", data=b"{}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as r:
        kernel = json.loads(r.read())["id"]
    ws = await websocket_connect(
        f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels?token={TOKEN}"
    )
    msg_id = "test-execute"
    await ws.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": "test", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False},
    }))  # fmt: skip
    out = ""
    try:
        while True:
            raw = await asyncio.wait_for(ws.read_message(), timeout=120)
            assert raw is not None, "the kernel websocket closed"
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out += msg["content"]["text"]
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                await asyncio.sleep(hold)
                return out.strip()
    finally:
        ws.close()


def _answers(url: str) -> bool:
    try:
        return http_get(url, timeout=2)[0] == 200
    except OSError:
        return False
