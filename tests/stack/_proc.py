"""Running the `course` command and python in subprocesses, and watching ports and pids."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COURSE = BIN / "course"
NETGUARD = REPO / "tests" / "netguard"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    """True when a new server could listen on 127.0.0.1:port (what `course stack up` checks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll until predicate() is true; False when it never was within timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def course_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a learner's shell with COURSE_HOME set and no tracking URI."""
    env = dict(os.environ)
    for key in ("MLFLOW_TRACKING_URI", "COURSE_MLFLOW_PORT", "COURSE_STUDENT_ID"):
        env.pop(key, None)
    env["COURSE_HOME"] = str(home)
    env.update(extra)
    return env


def guarded(env: dict[str, str], log: Path) -> dict[str, str]:
    """env with the network guard loaded into every python started with it (and its children)."""
    return {**env, "PYTHONPATH": str(NETGUARD), "NETGUARD_LOG": str(log)}


def course(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(COURSE), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def python(env: dict[str, str], code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The single `error: ...` line of a command that must fail cleanly."""
    output = result.stdout + result.stderr
    assert result.returncode == 1, f"exit {result.returncode}\n{output}"
    assert "Traceback" not in output, output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def http_get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def ok(result: subprocess.CompletedProcess) -> str:
    """stdout of a command that must succeed, with nothing on stderr and no traceback."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.stderr == "", result.stderr
    return result.stdout
