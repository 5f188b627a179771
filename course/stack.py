"""The local MLOps stack: embedded by default, a real `mlflow server` with `course stack up`.

Both modes share one store (a sqlite file and an artifact folder under the state dir), so runs
logged in embedded mode show up in the UI once the server is up, and a restart keeps everything.
Everything binds to 127.0.0.1. Errors are CourseError with one line that says what to do.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import _paths, _prometheus
from ._errors import CourseError
from ._quiet import OFFLINE_ENV

__all__ = ["Stack", "connect", "up", "down", "status", "reset", "DEFAULT_PORT"]

DEFAULT_PORT = 5000
PORT_ENV = "COURSE_MLFLOW_PORT"
# Passed to log_model: the exact versions installed here, so MLflow records them without
# spending 8-14 s inferring requirements.
_MODEL_PACKAGES = ("scikit-learn", "pandas", "numpy")


def pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in _MODEL_PACKAGES]


@dataclass
class Stack:
    """What a notebook is connected to; ``course.setup`` returns one."""

    mode: str  # "embedded" | "server" | "env"
    home: Path
    tracking_uri: str
    ui_url: str | None = None
    module_id: str | None = None
    experiment_name: str | None = None
    model_name: str = "shopflow-conversion"  # the registered model; namespaced per student
    pip_requirements: list[str] = field(default_factory=pip_requirements)

    def path(self, *parts: str) -> Path:
        """A path in this module's work folder under the state dir (created on demand)."""
        base = self.home / "work" / (self.module_id or "scratch")
        base.mkdir(parents=True, exist_ok=True)
        return base.joinpath(*parts)

    @property
    def prometheus_url(self) -> str | None:
        """The URL of the Prometheus `course stack up` runs for this state dir, else None."""
        pid, port = _prometheus.running(self.home)
        return f"http://127.0.0.1:{port}" if pid is not None else None

    def load_rules(self, path: Path | str) -> None:
        """Give Prometheus (when `course stack up` runs it) these alert rules; prints how it
        took them: each alert's state and health."""
        print(_prometheus.load_rules(self.home, path))

    def describe(self) -> str:
        where = self.ui_url or self.tracking_uri
        return f"{self.mode} MLflow at {where} · state in {self.home}"


# --- files of the stack ---------------------------------------------------------------------


def _mlflow_dir(home: Path) -> Path:
    return home / "mlflow"


def db_path(home: Path | None = None) -> Path:
    return _mlflow_dir(home or _paths.home()) / "mlflow.db"


def artifacts_dir(home: Path | None = None) -> Path:
    return _mlflow_dir(home or _paths.home()) / "artifacts"


def _pid_file(home: Path) -> Path:
    return home / "run" / "mlflow.pid"


def _log_file(home: Path) -> Path:
    return home / "logs" / "mlflow.log"


def _port(port: int | None) -> int:
    if port is None:
        raw = os.environ.get(PORT_ENV, str(DEFAULT_PORT)).strip()
        if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 65536:
            raise CourseError(f"{PORT_ENV}={raw!r} is not a port number; set it to e.g. 5001")
        return int(raw)
    if not 0 < port < 65536:
        raise CourseError(f"--port {port} is not a port number; use one from 1 to 65535, e.g. 5001")
    return port


def _ensure_writable(home: Path) -> None:
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise CourseError(
            f"state dir {home} is not writable ({exc.strerror}); "
            f"set {_paths.HOME_ENV} to a folder you can write"
        ) from None


def check_db(path: Path) -> None:
    """Refuse a corrupted sqlite file before MLflow trips over it with a long traceback."""
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with path.open("rb") as f:
            header = f.read(16)
    except OSError as exc:
        raise CourseError(
            f"MLflow database {path} cannot be read ({exc.strerror}); move it away or wipe all "
            "state with `course stack reset --yes`"
        ) from None
    problem = None
    if header != b"SQLite format 3\x00":
        problem = "not a sqlite database"
    else:
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
                result = con.execute("PRAGMA quick_check").fetchone()[0]
            if result != "ok":
                problem = f"integrity check says {result!r}"
        except sqlite3.DatabaseError as exc:
            problem = str(exc)
    if problem:
        raise CourseError(
            f"MLflow database {path} is corrupted ({problem}); move it away or wipe all state "
            "with `course stack reset --yes`"
        )


# --- processes ------------------------------------------------------------------------------


def _read_pid(home: Path) -> tuple[int | None, int | None]:
    """(pid, port) from the pid file; (None, None) when there is none or it is unreadable."""
    try:
        pid_s, port_s = _pid_file(home).read_text().split()[:2]
        return int(pid_s), int(port_s)
    except (OSError, ValueError):
        return None, None


def _is_our_server(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): trust the pid file
    return b"mlflow" in cmdline and b"server" in cmdline


def _healthy(port: int, timeout: float = 0.5) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _running(home: Path) -> tuple[int | None, int | None, str]:
    """(pid, port, state) with state "running", "starting", "stale" or "stopped"."""
    pid, port = _read_pid(home)
    if pid is None:
        return None, None, ("stale" if _pid_file(home).exists() else "stopped")
    if not _is_our_server(pid):
        return pid, port, "stale"
    return pid, port, ("running" if _healthy(port) else "starting")


def server_state(home: Path | None = None) -> str:
    """The server's state: running, starting, stale (pid file of a dead process) or stopped."""
    return _running(home or _paths.home())[2]


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({k: v for k, v in OFFLINE_ENV.items() if k not in os.environ})
    env.pop("MLFLOW_TRACKING_URI", None)
    # The GenAI job runner starts 8 extra processes the course never uses.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    return env


def up(
    port: int | None = None,
    timeout: float = 90.0,
    home: Path | None = None,
    db: str | None = None,
    prometheus_port: int | None = None,
) -> str:
    """Start `mlflow server` on 127.0.0.1 and wait until /health answers, then Prometheus
    where it is installed (a Prometheus that cannot start is a note, not a failure). Idempotent.

    ``db`` is a database URL for a classroom's shared server (``postgresql://...``); by default
    the tracking store is the sqlite file in the state dir.
    """
    home = home or _paths.home()
    mlflow_note = _up_mlflow(port, timeout, home, db)
    try:
        prometheus_note = _prometheus.up(home, prometheus_port)
    except CourseError as exc:
        prometheus_note = f"Prometheus not started: {exc}"
    return f"{mlflow_note}; {prometheus_note}"


def _up_mlflow(port: int | None, timeout: float, home: Path, db: str | None) -> str:
    port = _port(port)
    _ensure_writable(home)
    notes = []
    pid, running_port, state = _running(home)
    if state in ("running", "starting"):
        if state == "starting":
            _wait_healthy(pid, running_port, timeout, home)
        return f"MLflow server already running at http://127.0.0.1:{running_port} (pid {pid})"
    if state == "stale":
        _pid_file(home).unlink(missing_ok=True)
        notes.append(_stale_note(pid))
    if not _port_free(port):
        raise CourseError(
            f"port {port} on 127.0.0.1 is in use by another program; stop it or choose another "
            f"port: `course stack up --port {port + 1}`"
        )
    if db is None:
        sqlite = db_path(home)
        check_db(sqlite)
        sqlite.parent.mkdir(parents=True, exist_ok=True)
        store = f"sqlite:///{sqlite}"
    else:
        store = _check_db_url(db)
    artifacts_dir(home).mkdir(parents=True, exist_ok=True)
    log = _log_file(home)
    log.parent.mkdir(parents=True, exist_ok=True)
    _pid_file(home).parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", store,
        "--artifacts-destination", str(artifacts_dir(home)),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_server_env(),
            start_new_session=True,  # its own process group: `down` stops it and its workers
        )
    _pid_file(home).write_text(f"{proc.pid} {port}\n")
    _wait_healthy(proc.pid, port, timeout, home, proc)
    notes.append(f"MLflow server healthy at http://127.0.0.1:{port} (pid {proc.pid})")
    return "; ".join(notes)


def _check_db_url(url: str) -> str:
    """A classroom database must answer before the server is started on it."""
    if not url.startswith(("postgresql://", "postgresql+psycopg2://", "mysql://", "sqlite:///")):
        raise CourseError(
            f"--db {url!r}: give a database URL like postgresql://user@host:5432/mlflow"
        )
    if url.startswith("postgresql"):
        try:
            import psycopg2

            psycopg2.connect(
                url.replace("postgresql+psycopg2://", "postgresql://"), connect_timeout=5
            ).close()
        except ImportError:
            raise CourseError("--db postgresql://...: install psycopg2-binary first") from None
        except Exception as exc:  # psycopg2.OperationalError and friends: say it in one line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CourseError(f"cannot connect to {url}: {first}") from None
        # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; the course ships psycopg2.
        return url.replace("postgresql://", "postgresql+psycopg2://", 1)
    return url


def _wait_healthy(
    pid: int, port: int, timeout: float, home: Path, proc: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _healthy(port):
            return
        exited = proc.poll() is not None if proc else not _is_our_server(pid)
        if exited:
            _pid_file(home).unlink(missing_ok=True)
            raise CourseError(
                f"mlflow server exited while starting: {_last_line(_log_file(home))} "
                f"(full log: {_log_file(home)})"
            )
        time.sleep(0.2)
    _stop(pid)
    _pid_file(home).unlink(missing_ok=True)
    raise CourseError(
        f"mlflow server did not answer on port {port} within {timeout:.0f} s; see {_log_file(home)}"
    )


def _last_line(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no log"
    errors = [ln for ln in lines if "Error" in ln or "error" in ln]
    return (errors or lines or ["empty log"])[-1].strip()[:300]


def _gone(pid: int) -> bool:
    """True once the process has exited (reaped, or a zombie waiting for its parent)."""
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (OSError, IndexError):
        return False


def _stop(pid: int, grace: float = 10.0) -> None:
    """SIGTERM the server's process group, SIGKILL it after ``grace`` s; return once it is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if _gone(pid):
                return
            time.sleep(0.1)


def _stale_note(pid: int | None) -> str:
    if pid is None:
        return "removed an unreadable pid file"
    return f"removed a stale pid file (process {pid} is gone)"


def down(home: Path | None = None) -> str:
    """Stop the servers that `up` started (and only those). Idempotent."""
    home = home or _paths.home()
    stopped = _prometheus.down(home)
    note = _down_mlflow(home)
    return f"{note}; {stopped}" if stopped else note


def _down_mlflow(home: Path) -> str:
    pid, port, state = _running(home)
    if state == "stopped":
        return "MLflow server is not running"
    if state == "stale":
        _pid_file(home).unlink(missing_ok=True)
        return f"MLflow server was not running; {_stale_note(pid)}"
    _stop(pid)
    _pid_file(home).unlink(missing_ok=True)
    return f"stopped MLflow server (pid {pid}, port {port})"


def status(home: Path | None = None) -> list[tuple[str, str, str]]:
    """(component, state, where) rows for `course stack status`."""
    home = home or _paths.home()
    pid, port, state = _running(home)
    if state == "running":
        server = ("mlflow server", "running", f"http://127.0.0.1:{port} (pid {pid})")
    elif state == "starting":
        server = ("mlflow server", "starting", f"http://127.0.0.1:{port} (pid {pid})")
    elif state == "stale":
        server = ("mlflow server", "stale pid file", "run `course stack up` or `course stack down`")
    else:
        server = ("mlflow server", "stopped", "start it with `course stack up`")
    db = db_path(home)
    try:
        check_db(db)
        db_state = "ready" if db.exists() else "empty (created on first use)"
    except CourseError:
        db_state = "CORRUPTED"
    feast = home / "feast"
    reports = home / "reports"
    return [
        server,
        _prometheus.status_row(home),
        ("tracking store", db_state, str(db)),
        (
            "artifacts",
            "ready" if artifacts_dir(home).exists() else "empty",
            str(artifacts_dir(home)),
        ),
        ("feature store", "ready" if feast.exists() else "empty", str(feast)),
        ("monitoring reports", "ready" if reports.exists() else "empty", str(reports)),
    ]


def reset(yes: bool = False, home: Path | None = None) -> str:
    """Delete all state (runs, models, features, progress). Asks for ``yes=True``."""
    home = home or _paths.home()
    if not yes:
        raise CourseError(f"reset deletes everything under {home}; run it again with --yes")
    stopped = down(home) if server_state(home) != "stopped" else _prometheus.down(home)
    if home.exists():
        shutil.rmtree(home)
    return f"wiped {home}" + (f" ({stopped})" if stopped else "")


def connect(home: Path | None = None) -> Stack:
    """Pick the stack: MLFLOW_TRACKING_URI > a running `course stack up` > embedded sqlite."""
    home = home or _paths.home()
    env_uri = os.environ.get("MLFLOW_TRACKING_URI")
    if env_uri:
        ui = env_uri if env_uri.startswith("http") else None
        return Stack("env", home, env_uri, ui_url=ui)
    pid, port, state = _running(home)
    if state == "running":
        url = f"http://127.0.0.1:{port}"
        return Stack("server", home, url, ui_url=url)
    _ensure_writable(home)
    db = db_path(home)
    check_db(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    artifacts_dir(home).mkdir(parents=True, exist_ok=True)
    seed_db(home)
    return Stack("embedded", home, f"sqlite:///{db}")


def _template() -> Path:
    from importlib.metadata import version

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlops-course"
    return cache / f"mlflow-{version('mlflow')}-empty.db"


def _build_template(template: Path) -> None:
    import tempfile

    from ._quiet import quiet

    template.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=template.parent) as tmp, quiet():
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        store = SqlAlchemyStore(f"sqlite:///{tmp}/empty.db", f"{tmp}/artifacts")
        store.engine.dispose()
        os.replace(f"{tmp}/empty.db", template)  # atomic: a racing process sees all or nothing


def seed_db(home: Path) -> None:
    """Start a new state dir from an empty, migrated MLflow database.

    MLflow builds its schema on first use (about 2 s); a per-version template in the user's cache
    makes every later fresh state dir (a new learner, every graded submission) start at once.
    Any problem with the cache only means MLflow builds the schema itself.
    """
    db = db_path(home)
    if db.exists():
        return
    try:
        template = _template()
        if not template.exists():
            _build_template(template)
        shutil.copyfile(template, db)
        with sqlite3.connect(db) as con:  # the Default experiment's artifacts: this state dir
            location = (artifacts_dir(home) / "0").as_uri()
            con.execute(
                "UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0", (location,)
            )
    except Exception:  # noqa: BLE001  (a cache is an optimisation, never a failure)
        db.unlink(missing_ok=True)
