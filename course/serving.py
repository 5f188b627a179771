"""Start and stop model servers from a notebook, and never leave one behind.

Every server writes a pid file under the state dir. ``Server.stop`` (or leaving a ``with`` block,
or the kernel exiting) stops it; ``stop_all`` stops whatever a notebook left running, which is
what grading does after each submission even when the kernel was killed.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _paths, _prometheus
from ._errors import CourseError
from ._quiet import OFFLINE_ENV

__all__ = ["Server", "serve", "stop_all"]


def _run_dir(home: Path) -> Path:
    return home / "run" / "serving"


@dataclass
class Server:
    """A running model server: its URL, the model it serves, and how to stop it."""

    url: str
    model_uri: str
    pid: int
    log: Path
    _pid_file: Path
    _proc: subprocess.Popen | None = None
    _target: Path | None = None  # the Prometheus target file that makes it scraped

    def _call(self, path: str, method: str = "GET") -> Any:
        req = urllib.request.Request(
            self.url + path, method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read().decode()
        return json.loads(body) if body.startswith("{") else body

    def version(self) -> str | None:
        """The registry version answering requests now."""
        return self._call("/version")["version"]

    def reload(self) -> str | None:
        """Re-resolve the alias (after moving it) and load that version; returns it."""
        return self._call("/reload", "POST")["version"]

    def metrics(self) -> str:
        return self._call("/metrics")

    def running(self) -> bool:
        return _alive(self.pid)

    def flush(self) -> int:
        """Write every answered request to the inference log now; returns the rows written."""
        return int(self._call("/flush", "POST")["written"])

    def stop(self) -> None:
        """Stop the server and its children; safe to call twice. The inference log is written
        first, so that a slow shutdown cannot lose what the server answered."""
        from .stack import _stop

        if _alive(self.pid):
            with contextlib.suppress(OSError, ValueError, KeyError):
                self.flush()
            _stop(self.pid, grace=5.0)
        self._pid_file.unlink(missing_ok=True)
        if self._target is not None:
            self._target.unlink(missing_ok=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Server({self.url}, {self.model_uri}, pid {self.pid})"


def _alive(pid: int) -> bool:
    from .stack import _gone

    return not _gone(pid)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    from .stack import _port_free as free

    return free(port)


def _health(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=0.5) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


def serve(
    model_uri: str, port: int | None = None, timeout: float = 90.0, log_requests: bool = True
) -> Server:
    """Serve ``model_uri`` (e.g. ``models:/shopflow-conversion@champion``) on 127.0.0.1.

    Returns once ``/health`` answers. The server speaks MLflow's scoring protocol
    (``POST /invocations``) and adds ``/version``, ``/reload`` and ``/metrics``. Every request
    it answers goes to the state dir's inference log (``log_requests=False`` turns that off).
    """
    import mlflow

    if not isinstance(model_uri, str) or not model_uri.startswith(("models:/", "runs:/")):
        raise CourseError(
            f"serve() takes a model URI like 'models:/name@champion', not {model_uri!r}"
        )
    if port is None:
        port = _free_port()
    elif not _port_free(port):
        raise CourseError(f"port {port} on 127.0.0.1 is in use; call serve(...) without port=")
    home = _paths.home()
    run_dir = _run_dir(home)
    run_dir.mkdir(parents=True, exist_ok=True)
    log = run_dir / f"serve-{port}.log"
    env = {**os.environ, **OFFLINE_ENV, "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri()}
    cmd = [sys.executable, "-m", "course._serving_app", model_uri, "--port", str(port)]
    if log_requests:
        from . import _inference_log

        cmd += ["--log-dir", str(_inference_log.directory(home))]
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    pid_file = run_dir / f"serve-{proc.pid}.json"
    pid_file.write_text(json.dumps({"pid": proc.pid, "port": port, "model_uri": model_uri}))
    target = _prometheus.add_target(
        home, f"serve-{port}", f"127.0.0.1:{port}", {"model_uri": model_uri}
    )
    server = Server(f"http://127.0.0.1:{port}", model_uri, proc.pid, log, pid_file, proc, target)
    atexit.register(server.stop)
    deadline = time.monotonic() + timeout
    while not _health(server.url):
        if proc.poll() is not None or time.monotonic() > deadline:
            server.stop()
            from .stack import _last_line

            why = "exited" if proc.returncode is not None else f"did not answer in {timeout:.0f} s"
            raise CourseError(f"the model server {why}: {_last_line(log)} (log: {log})")
        time.sleep(0.1)
    return server


def stop_all(home: Path | None = None) -> int:
    """Stop every server started under this state dir; returns how many were running."""
    from .stack import _stop

    stopped = 0
    for pid_file in sorted(_run_dir(home or _paths.home()).glob("serve-*.json")):
        try:
            pid = int(json.loads(pid_file.read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            pid_file.unlink(missing_ok=True)
            continue
        if _alive(pid) and _is_server(pid):
            _stop(pid, grace=5.0)
            stopped += 1
        pid_file.unlink(missing_ok=True)
    for target in _prometheus.targets_dir(home or _paths.home()).glob("serve-*.json"):
        target.unlink(missing_ok=True)
    return stopped


def _is_server(pid: int) -> bool:
    """Only stop a process that is still our server (pids are reused)."""
    try:
        return b"course._serving_app" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not Path("/proc").exists()
