"""`course lab` (what `make lab` runs): the stack, then JupyterLab on the learner's workspace.

The workspace is a git-ignored copy of modules/: made on first run, topped up with new modules
later, never overwritten, so a learner's answers survive `git pull` and a re-release.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from . import _lab_settings, _paths, stack
from ._errors import CourseError
from ._quiet import OFFLINE_ENV
from .stack import _port_free

DEFAULT_PORT = 8888


def sync_workspace(repo: Path, workspace: Path) -> list[Path]:
    """Copy notebooks from modules/ that the workspace does not have yet; return them.

    The course's own notebooks are trusted, so Jupyter does not warn "Notebook ... is not
    trusted" when a learner opens one; notebooks the learner changed are left as they are.
    """
    added = []
    for src in sorted((repo / "modules").glob("*/*.ipynb")):
        dest = workspace / src.relative_to(repo / "modules")
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            added.append(dest)
        if dest.read_bytes() == src.read_bytes():
            _trust(dest)
    return added


def _trust(notebook: Path) -> None:
    """Record the notebook's signature in Jupyter's trust database (what `jupyter trust` does)."""
    import nbformat
    from nbformat.sign import NotebookNotary

    notary = NotebookNotary()
    nb = nbformat.read(notebook, as_version=4)
    if not notary.check_signature(nb):
        notary.sign(nb)


def _write_nbgrader_config(workspace: Path, home: Path) -> None:
    """The assignment list needs an existing exchange folder; keep it under the state dir."""
    exchange = home / "exchange"
    exchange.mkdir(parents=True, exist_ok=True)
    (workspace / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        'c.CourseDirectory.course_id = "mlops-course"\n'
    )


def lab_command(
    workspace: Path,
    port: int,
    settings_dir: Path,
    browser: bool = True,
    instructor: bool = False,
    extra: list[str] | None = None,
) -> list[str]:
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--ip=127.0.0.1", f"--port={port}", f"--ServerApp.root_dir={workspace}",
        *_lab_settings.flags(settings_dir, instructor),
    ]  # fmt: skip
    if not browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd + list(extra or [])


def _suggest(port: int, avoid: int | None = None) -> int:
    """A free port just above ``port`` to offer in the error message."""
    for candidate in range(port + 1, min(port + 200, 65535)):
        if candidate != avoid and _port_free(candidate):
            return candidate
    return port + 1


def busy_port_error(port: int, make_var: str, option: str, avoid: int | None = None) -> str:
    """One line that names the port and the make variable (and the option) that choose another."""
    other = _suggest(port, avoid)
    return (
        f"port {port} on 127.0.0.1 is in use: choose another with `make lab {make_var}={other}` "
        f"(or `course lab {option} {other}`)"
    )


def _mlflow_port(requested: int | None) -> int | None:
    """The port `course stack up` will use; None when the environment holds no valid number
    (then `stack.up` reports that itself)."""
    if requested is not None:
        return requested
    raw = os.environ.get(stack.PORT_ENV, str(stack.DEFAULT_PORT)).strip()
    return int(raw) if raw.isascii() and raw.isdigit() else None


def check_ports(lab_port: int, mlflow_port: int | None, start_mlflow: bool) -> None:
    """Refuse busy ports before anything starts, naming the make variable that picks another."""
    if not _port_free(lab_port):
        raise CourseError(busy_port_error(lab_port, "LAB_PORT", "--port", avoid=mlflow_port))
    if start_mlflow and mlflow_port is not None:
        if mlflow_port == lab_port:
            raise CourseError(
                f"JupyterLab and MLflow cannot share port {lab_port}: choose another with "
                f"`make lab MLFLOW_PORT={_suggest(lab_port)}`"
            )
        if not _port_free(mlflow_port):
            raise CourseError(
                busy_port_error(mlflow_port, "MLFLOW_PORT", "--mlflow-port", avoid=lab_port)
            )


def banner(lab_port: int, stack_state: str) -> str:
    """What Ctrl-C stops: only promise to stop the MLflow server when this lab started it."""
    url = f"http://127.0.0.1:{lab_port}"
    if stack_state == "started":
        return f"JupyterLab starting on {url} (Ctrl-C stops it and the MLflow server)"
    if stack_state == "reused":
        return (
            f"JupyterLab starting on {url} (Ctrl-C stops JupyterLab; the MLflow server was "
            "already running and keeps running: `course stack down` stops it)"
        )
    return f"JupyterLab starting on {url} (Ctrl-C stops it)"


def run(
    port: int = DEFAULT_PORT,
    no_stack: bool = False,
    browser: bool = True,
    workspace: Path | None = None,
    extra: list[str] | None = None,
    mlflow_port: int | None = None,
    instructor: bool = False,
) -> int:
    repo = _paths.repo_root()
    if repo is None:
        raise CourseError("run `make lab` from a clone of the course repository")
    home = _paths.home()
    before = "stopped" if no_stack else stack.server_state(home)
    start_mlflow = before in ("stopped", "stale")
    mlflow_port = _mlflow_port(mlflow_port)
    check_ports(port, mlflow_port, start_mlflow and not no_stack)
    workspace = (workspace or repo / "workspace").absolute()
    added = sync_workspace(repo, workspace)
    if added:
        print(f"workspace: added {len(added)} notebook(s) to {workspace}")
    _write_nbgrader_config(workspace, home)
    settings_dir = home / "jupyterlab-settings"
    _lab_settings.write_settings(settings_dir, instructor)
    stack_state = "none"
    if not no_stack:
        print(stack.up(port=mlflow_port))
        stack_state = "started" if start_mlflow else "reused"
    env = dict(os.environ)
    env.update({k: v for k, v in OFFLINE_ENV.items() if k not in env})
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env = _lab_settings.environment(settings_dir, env)
    proc = subprocess.Popen(
        lab_command(workspace, port, settings_dir, browser, instructor, extra),
        cwd=workspace,
        env=env,
        start_new_session=True,
    )
    if instructor:
        print("instructor mode: nbgrader's Create Assignment, Formgrader and Courses are on")
    print(banner(port, stack_state))

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # `kill` and closing the terminal stop cleanly too
    signal.signal(signal.SIGHUP, interrupt)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        print("\nstopping JupyterLab ...")
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 0
    finally:
        if stack_state == "started":
            print(stack.down())
