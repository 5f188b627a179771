"""Classroom mode: one MLflow server on PostgreSQL, two learners at once, each in their own
namespace (COURSE_STUDENT_ID), each with full marks, neither seeing the other's work.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from course import stack

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
LEARNERS = ("ada", "bob")
MODULES = ("02_experiment_tracking", "03_model_registry")

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(
        not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None,
        reason="PostgreSQL 15 server binaries are not installed (make system-deps installs them)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*cmd: str, **kw) -> subprocess.CompletedProcess:
    """PostgreSQL refuses to run as root: run its tools as the postgres user."""
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *cmd], check=True, capture_output=True, text=True, **kw
    )


@pytest.fixture(scope="module")
def postgres():
    # Not under pytest's tmp dir: that is root-only, and PostgreSQL runs as its own user.
    root = Path(tempfile.mkdtemp(prefix="course-pg-"))
    root.chmod(0o755)
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    shutil.chown(root, "postgres")
    shutil.chown(sock, "postgres")
    port = _free_port()
    _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust")
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1"
    _as_postgres(
        str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l", str(root / "log"), "start"
    )
    try:
        _as_postgres(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "mlflow"
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/mlflow"
    finally:
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def class_server(postgres, tmp_path_factory):
    home = tmp_path_factory.mktemp("instructor")
    port = _free_port()
    started = time.monotonic()
    message = stack.up(port=port, home=home, db=postgres, timeout=180)
    assert "healthy" in message
    yield f"http://127.0.0.1:{port}", time.monotonic() - started
    stack.down(home=home)


_RUN = """
import sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": "."}}).execute()
print("\\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "stream"))
"""


def _learner(url: str, student: str, tmp: Path) -> str:
    """One learner works through the modules in order against the class server."""
    home = tmp / student
    home.mkdir()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": url,
        "COURSE_STUDENT_ID": student,
        "COURSE_HOME": str(home),
    }
    out = []
    for slug in MODULES:
        proc = subprocess.run(
            [sys.executable, "-c", _RUN, str(REPO / "solutions" / slug / f"{slug}.ipynb")],
            cwd=home, env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert proc.returncode == 0, f"{student} {slug}: {proc.stderr[-1500:]}"
        out.append(proc.stdout)
    return "\n".join(out)


def test_two_learners_share_one_server_without_seeing_each_other(class_server, tmp_path) -> None:
    url, _ = class_server
    with ThreadPoolExecutor(max_workers=2) as pool:
        outputs = dict(
            zip(LEARNERS, pool.map(lambda s: _learner(url, s, tmp_path), LEARNERS), strict=True)
        )
    for student, out in outputs.items():
        for module in ("m02", "m03"):
            passed = [
                ln for ln in out.splitlines() if ln.startswith(f"{module}: ") and "passed" in ln
            ]
            assert passed, f"{student} {module}: no progress line"
            done, total = passed[-1].split(": ", 1)[1].split(" passed")[0].split(" of ")
            assert done == total, f"{student} {module}: {passed[-1]}"

    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(url)
    try:
        client = MlflowClient()
        for student in LEARNERS:
            other = next(s for s in LEARNERS if s != student)
            exp = client.get_experiment_by_name(f"{student}/shopflow-m02")
            assert exp is not None
            runs = client.search_runs([exp.experiment_id])
            assert runs and all(r.info.experiment_id == exp.experiment_id for r in runs)
            model = client.get_registered_model(f"{student}.shopflow-conversion")
            champion = client.get_model_version(model.name, model.aliases["champion"])
            owner_exp = client.get_experiment(client.get_run(champion.run_id).info.experiment_id)
            assert owner_exp.name == f"{student}/shopflow-m03", "a model came from another learner"
            assert not owner_exp.name.startswith(other)
        names = {m.name for m in client.search_registered_models()}
        assert {"ada.shopflow-conversion", "bob.shopflow-conversion"} <= names
        assert "shopflow-conversion" not in names, "a learner wrote outside their namespace"
    finally:
        mlflow.set_tracking_uri(None)


def test_bad_database_url_is_one_line(tmp_path) -> None:
    with pytest.raises(stack.CourseError, match="give a database URL"):
        stack.up(port=_free_port(), home=tmp_path, db="postgres:/nope")
    with pytest.raises(stack.CourseError, match="cannot connect to postgresql://"):
        stack.up(port=_free_port(), home=tmp_path, db=f"postgresql://x@127.0.0.1:{_free_port()}/db")


def test_status_json_free_of_secrets(class_server) -> None:
    """The class server answers the MLflow API like a local one (what learners' clients use)."""
    url, seconds = class_server
    import urllib.request

    with urllib.request.urlopen(f"{url}/api/2.0/mlflow/experiments/search?max_results=5") as r:
        body = json.loads(r.read())
    assert "experiments" in body
    print(f"class server healthy in {seconds:.1f} s")
