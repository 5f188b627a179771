"""Choosing `make lab`'s ports: the make variables reach `course lab`, the options say what they
do, a busy port is one line naming the make variable, and the banner promises only what Ctrl-C
really stops. Nothing here starts a server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO

from course.lab import banner

COURSE = Path(sys.executable).parent / "course"


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another program (this test) listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_MLFLOW_PORT",)}
    env["COURSE_HOME"] = str(tmp_path / "home")
    cmd = [str(COURSE), "lab", "--no-browser", "--workspace", str(tmp_path / "ws"), *args]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def _error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _make_n(*args: str) -> subprocess.CompletedProcess:
    """`make -n`, as if typed in a shell: under `make test` the parent's MAKEFLAGS would add
    "Entering directory" lines to the output."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    cmd = ["make", "--no-print-directory", "-n", *args]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=True)


def test_make_lab_passes_both_ports_to_course_lab() -> None:
    result = _make_n("lab", "LAB_PORT=8899", "MLFLOW_PORT=5055")
    last = result.stdout.strip().splitlines()[-1]
    assert last.endswith("course lab --port 8899 --mlflow-port 5055"), last


def test_make_lab_without_ports_uses_the_defaults() -> None:
    result = _make_n("lab")
    assert result.stdout.strip().splitlines()[-1].endswith("course lab")


def test_lab_help_explains_both_ports() -> None:
    env = {**os.environ, "COLUMNS": "200"}  # one line per option
    out = subprocess.run(
        [str(COURSE), "lab", "--help"], env=env, capture_output=True, text=True, check=True
    ).stdout
    out = out.split("options:", 1)[1]
    port_help = out.split("--port PORT", 1)[1].split("--mlflow-port", 1)[0]
    assert "JupyterLab" in port_help and "LAB_PORT" in port_help
    assert "MLflow" in out.split("--mlflow-port PORT", 1)[1] and "MLFLOW_PORT" in out


def test_a_busy_lab_port_names_the_make_variable(tmp_path: Path, busy_port: int) -> None:
    line = _error_line(_lab(tmp_path, "--port", str(busy_port), "--mlflow-port", str(_free_port())))
    assert f"port {busy_port}" in line and "in use" in line
    assert "`make lab LAB_PORT=" in line and "--port " in line
    assert not (tmp_path / "ws").exists()  # refused before anything was made or started


def test_a_busy_mlflow_port_names_the_make_variable(tmp_path: Path, busy_port: int) -> None:
    line = _error_line(_lab(tmp_path, "--port", str(_free_port()), "--mlflow-port", str(busy_port)))
    assert f"port {busy_port}" in line and "in use" in line
    assert "`make lab MLFLOW_PORT=" in line and "--mlflow-port " in line
    assert not (tmp_path / "home" / "run" / "mlflow.pid").exists()


def test_a_port_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    result = _lab(tmp_path, "--port", "99999")
    assert result.returncode == 2 and "not a port number" in result.stderr


def test_banner_promises_to_stop_only_what_this_lab_started() -> None:
    started, reused = banner(8899, "started"), banner(8899, "reused")
    assert "http://127.0.0.1:8899" in started and "Ctrl-C stops it and the MLflow server" in started
    assert "http://127.0.0.1:8899" in reused and "keeps running" in reused
    assert "Ctrl-C stops it and" not in reused and "course stack down" in reused
    assert "MLflow" not in banner(8899, "none")


def test_readme_documents_both_make_variables() -> None:
    start = (REPO / "README.md").read_text().split("## Start", 1)[1].split("\n## ", 1)[0]
    assert "make lab LAB_PORT=" in start and "MLFLOW_PORT=" in start
