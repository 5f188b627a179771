"""Shared fixtures: every test gets its own empty state dir; nothing touches ~/.mlops-course."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NETGUARD = REPO / "tests" / "netguard"

# Tests never reach outside the machine and never write to the real home.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Every `course stack up` of this test run starts Prometheus on this port, not on 9090, so that
# make test's two lanes (and a Prometheus of the machine's own) never compete for one port.
os.environ.setdefault("COURSE_PROMETHEUS_PORT", str(_free_port()))


@pytest.fixture
def course_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty COURSE_HOME, with no tracking URI inherited from the environment."""
    home = tmp_path / "course-home"
    monkeypatch.setenv("COURSE_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("COURSE_STUDENT_ID", raising=False)
    return home


@pytest.fixture
def embedded(course_home: Path):
    """Connect like a notebook's first cell would, for module m02 by default; yields a factory."""
    import mlflow

    import course

    def connect(module_id: str = "m02"):
        return course.setup(module_id, verbose=False)

    yield connect
    mlflow.set_tracking_uri(None)
