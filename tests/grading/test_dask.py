"""`course grade --scheduler`: a real `dask scheduler` and two `dask worker`s on 127.0.0.1."""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.notebook


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_grading_through_a_dask_cluster(tmp_path: Path) -> None:
    port = _port()
    addr = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--dashboard-address", ":0"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]  # fmt: skip
    try:
        time.sleep(3)
        for _ in range(2):
            procs.append(subprocess.Popen([str(BIN / "dask"), "worker", addr, "--nthreads", "1",
                                           "--no-dashboard"], env=env, cwd=REPO,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        subs = tmp_path / "subs"
        subs.mkdir()
        slug = "00_welcome"
        shutil.copyfile(REPO / "solutions" / slug / f"{slug}.ipynb", subs / "sol.ipynb")
        shutil.copyfile(REPO / "modules" / slug / f"{slug}.ipynb", subs / "blank.ipynb")
        (subs / "broken.ipynb").write_text("{")
        out = tmp_path / "out"
        proc = subprocess.run(
            [sys.executable, "-m", "course", "grade", "m00", str(subs), "--out", str(out),
             "--no-progress", "--scheduler", addr],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        with (out / "grades.csv").open() as f:
            rows = {r["student_id"]: r for r in csv.DictReader(f)}
        assert float(rows["sol"]["score"]) == float(rows["sol"]["max_score"]) > 0
        assert float(rows["blank"]["score"]) == 0
        assert rows["broken"]["status"] == "error"
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
