"""What a learner sees when the stack cannot do its job: one `error: ...` line on stderr, exit
code 1 and no traceback. Every case is fast: none of them gets as far as starting a server.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _proc import (
    course,
    course_env,
    free_port,
    ok,
    one_line_error,
)

# course.setup() in a fresh python; a CourseError is reported on stdout as "<class>|<message>".
SETUP_SCRIPT = """
import course

try:
    course.setup("m02")
except Exception as exc:
    print(f"{type(exc).__module__}.{type(exc).__qualname__}|{exc}")
    raise SystemExit(3)
print("connected")
"""

GARBAGE = bytes(range(256)) * 16
BROKEN_SQLITE = b"SQLite format 3\x00" + GARBAGE


# --- helpers ----------------------------------------------------------------------------------


def setup_error(env: dict[str, str]) -> tuple[str, str]:
    """(exception class, message) of course.setup("m02") in a fresh python; it must fail."""
    result = subprocess.run(
        [sys.executable, "-c", SETUP_SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert result.returncode == 3, f"exit {result.returncode}\n{output}"
    assert "Traceback" not in output, output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, "the error message is not one line:\n" + result.stdout
    kind, _, message = lines[0].partition("|")
    return kind, message


def server_row(status_stdout: str) -> str:
    return next(line for line in status_stdout.splitlines() if line.startswith("mlflow server"))


def pid_file(home: Path) -> Path:
    return home / "run" / "mlflow.pid"


def nothing_started(home: Path) -> bool:
    """No server was launched: no pid file and no server log."""
    return not pid_file(home).exists() and not (home / "logs" / "mlflow.log").exists()


def exited_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "course-home"


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port on 127.0.0.1 held by another program (this test) for the test's duration."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


# --- a busy port ------------------------------------------------------------------------------


def test_up_refuses_a_port_in_use(home: Path, listening_port: int) -> None:
    line = one_line_error(course(course_env(home), "stack", "up", "--port", str(listening_port)))
    assert f"port {listening_port}" in line and "in use" in line
    assert f"--port {listening_port + 1}" in line  # says what to do
    assert nothing_started(home)


def test_up_refuses_a_port_in_use_from_the_environment(home: Path, listening_port: int) -> None:
    env = course_env(home, COURSE_MLFLOW_PORT=str(listening_port))
    line = one_line_error(course(env, "stack", "up"))
    assert f"port {listening_port}" in line and "in use" in line
    assert nothing_started(home)


# --- invalid ports ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "0", "65536", "-1", "5000x", "50 01"])
def test_up_refuses_an_invalid_port_env_value(home: Path, value: str) -> None:
    line = one_line_error(course(course_env(home, COURSE_MLFLOW_PORT=value), "stack", "up"))
    assert "COURSE_MLFLOW_PORT" in line and repr(value) in line
    assert nothing_started(home)


def test_up_refuses_a_unicode_digit_port_env_value(home: Path) -> None:
    line = one_line_error(course(course_env(home, COURSE_MLFLOW_PORT="²"), "stack", "up"))
    assert "COURSE_MLFLOW_PORT" in line
    assert nothing_started(home)


@pytest.mark.parametrize("value", ["70000", "-1", "0"])
def test_up_refuses_an_invalid_port_option(home: Path, value: str) -> None:
    result = course(course_env(home), "stack", "up", f"--port={value}", "--timeout", "3")
    one_line_error(result)
    assert nothing_started(home)


# --- a stale pid file -------------------------------------------------------------------------


def test_status_reports_a_stale_pid_file(home: Path) -> None:
    pid, port = exited_pid(), free_port()
    pid_file(home).parent.mkdir(parents=True)
    pid_file(home).write_text(f"{pid} {port}\n")
    row = server_row(ok(course(course_env(home), "stack", "status")))
    assert "stale pid file" in row
    assert "course stack down" in row  # says what to do


def test_down_removes_a_stale_pid_file(home: Path) -> None:
    pid, port = exited_pid(), free_port()
    pid_file(home).parent.mkdir(parents=True)
    pid_file(home).write_text(f"{pid} {port}\n")
    out = ok(course(course_env(home), "stack", "down"))
    assert "stale pid file" in out and f"process {pid} is gone" in out
    assert not pid_file(home).exists()
    assert "not running" in ok(course(course_env(home), "stack", "down"))
    assert "stopped" in server_row(ok(course(course_env(home), "stack", "status")))


def test_down_leaves_an_unrelated_live_process_alone(home: Path) -> None:
    """A pid file pointing at a reused pid must not get that process killed."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        pid_file(home).parent.mkdir(parents=True)
        pid_file(home).write_text(f"{other.pid} {free_port()}\n")
        out = ok(course(course_env(home), "stack", "down"))
        assert "stale pid file" in out
        assert not pid_file(home).exists()
        assert other.poll() is None, "`course stack down` killed a process that is not MLflow"
    finally:
        other.kill()
        other.wait()


def test_down_removes_an_unreadable_pid_file(home: Path) -> None:
    pid_file(home).parent.mkdir(parents=True)
    pid_file(home).write_text("not a pid\n")
    assert "stale pid file" in server_row(ok(course(course_env(home), "stack", "status")))
    out = ok(course(course_env(home), "stack", "down"))
    assert "unreadable pid file" in out and "None" not in out
    assert not pid_file(home).exists()


# --- an unwritable state dir ------------------------------------------------------------------


@pytest.fixture
def home_below_a_file(tmp_path: Path) -> Path:
    """A COURSE_HOME that cannot be created, even by root: its parent is a regular file."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder\n")
    return blocker / "home"


def test_up_refuses_an_unwritable_state_dir(home_below_a_file: Path) -> None:
    line = one_line_error(course(course_env(home_below_a_file), "stack", "up"))
    assert str(home_below_a_file) in line and "not writable" in line
    assert "COURSE_HOME" in line  # says what to do
    assert home_below_a_file.parent.is_file()


def test_setup_refuses_an_unwritable_state_dir(home_below_a_file: Path) -> None:
    kind, message = setup_error(course_env(home_below_a_file))
    assert kind == "course._errors.CourseError"
    assert str(home_below_a_file) in message and "not writable" in message


def test_status_and_down_still_answer_for_an_unwritable_state_dir(
    home_below_a_file: Path,
) -> None:
    env = course_env(home_below_a_file)
    assert "stopped" in server_row(ok(course(env, "stack", "status")))
    assert "not running" in ok(course(env, "stack", "down"))


# --- a corrupted database ---------------------------------------------------------------------


@pytest.fixture(params=[GARBAGE, BROKEN_SQLITE], ids=["garbage", "sqlite-header-then-garbage"])
def corrupted_home(home: Path, request: pytest.FixtureRequest) -> Path:
    db = home / "mlflow" / "mlflow.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(request.param)
    return home


def test_up_refuses_a_corrupted_database(corrupted_home: Path) -> None:
    db = corrupted_home / "mlflow" / "mlflow.db"
    before = db.read_bytes()
    line = one_line_error(
        course(course_env(corrupted_home), "stack", "up", "--port", str(free_port()))
    )
    assert str(db) in line and "corrupted" in line
    assert "course stack reset --yes" in line  # says what to do
    assert nothing_started(corrupted_home)
    assert db.read_bytes() == before


def test_setup_refuses_a_corrupted_database(corrupted_home: Path) -> None:
    db = corrupted_home / "mlflow" / "mlflow.db"
    before = db.read_bytes()
    kind, message = setup_error(course_env(corrupted_home))
    assert kind == "course._errors.CourseError"
    assert str(db) in message and "corrupted" in message
    assert db.read_bytes() == before


def test_status_flags_a_corrupted_database(corrupted_home: Path) -> None:
    out = ok(course(course_env(corrupted_home), "stack", "status"))
    row = next(line for line in out.splitlines() if line.startswith("tracking store"))
    assert "CORRUPTED" in row


def test_up_refuses_a_database_path_that_is_a_folder(home: Path) -> None:
    (home / "mlflow" / "mlflow.db").mkdir(parents=True)
    one_line_error(course(course_env(home), "stack", "up", "--port", str(free_port())))
    assert nothing_started(home)


# --- reset ------------------------------------------------------------------------------------


def test_reset_without_yes_refuses_and_deletes_nothing(home: Path) -> None:
    files = {
        home / "mlflow" / "mlflow.db": b"runs",
        home / "mlflow" / "artifacts" / "1" / "model.skops": b"model",
        home / "progress.json": b"{}",
    }
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    line = one_line_error(course(course_env(home), "stack", "reset"))
    assert str(home) in line and "--yes" in line
    assert {path: path.read_bytes() for path in files} == files


def test_reset_yes_wipes_the_state_dir(home: Path) -> None:
    (home / "mlflow" / "artifacts").mkdir(parents=True)
    (home / "mlflow" / "mlflow.db").write_bytes(b"runs")
    out = ok(course(course_env(home), "stack", "reset", "--yes"))
    assert f"wiped {home}" in out
    assert not home.exists()
    assert home.parent.is_dir()
