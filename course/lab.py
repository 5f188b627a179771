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

from . import _paths, stack
from ._errors import CourseError
from ._quiet import OFFLINE_ENV

# JupyterLab otherwise fetches news and checks PyPI for updates.
OFFLINE_LAB_FLAGS = (
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
)


def sync_workspace(repo: Path, workspace: Path) -> list[Path]:
    """Copy notebooks from modules/ that the workspace does not have yet; return them."""
    added = []
    for src in sorted((repo / "modules").glob("*/*.ipynb")):
        dest = workspace / src.relative_to(repo / "modules")
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            added.append(dest)
    return added


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
    workspace: Path, port: int, browser: bool = True, extra: list[str] | None = None
) -> list[str]:
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--ip=127.0.0.1", f"--port={port}", f"--ServerApp.root_dir={workspace}",
        *OFFLINE_LAB_FLAGS,
    ]  # fmt: skip
    if not browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd + list(extra or [])


def run(
    port: int = 8888,
    no_stack: bool = False,
    browser: bool = True,
    workspace: Path | None = None,
    extra: list[str] | None = None,
) -> int:
    repo = _paths.repo_root()
    if repo is None:
        raise CourseError("run `make lab` from a clone of the course repository")
    workspace = (workspace or repo / "workspace").absolute()
    added = sync_workspace(repo, workspace)
    if added:
        print(f"workspace: added {len(added)} notebook(s) to {workspace}")
    home = _paths.home()
    _write_nbgrader_config(workspace, home)
    started_stack = False
    if not no_stack:
        before = stack.server_state(home)
        print(stack.up())
        started_stack = before != "running"
    env = dict(os.environ)
    env.update({k: v for k, v in OFFLINE_ENV.items() if k not in env})
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    proc = subprocess.Popen(
        lab_command(workspace, port, browser, extra), cwd=workspace, env=env, start_new_session=True
    )
    print(f"JupyterLab starting on http://127.0.0.1:{port} (Ctrl-C stops it and the stack)")

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
        if started_stack:
            print(stack.down())
