"""The JupyterLab settings `course lab` controls: a quiet, offline lab, and nbgrader's instructor
tools only for instructors.

Everything lives in one settings folder under the state dir (JupyterLab's ``app_settings_dir``)
plus command-line flags, so a learner's own ``~/.jupyter`` stays untouched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# JupyterLab otherwise fetches news and checks PyPI for updates.
OFFLINE_FLAGS = (
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
)
# Local kernels talk over Unix sockets (no "running over TCP without encryption" warning).
QUIET_FLAGS = (
    "--KernelManager.transport=ipc",
    "--ServerApp.port_retries=0",  # a busy port is an error, not a lab on some other port
)
# Jupyter Server's websocket ping timeout defaults to 3 intervals, which tornado refuses with a
# warning per connection; equal to the interval it is what tornado uses anyway. A number, so it
# goes in a config file (on the command line it would arrive as a string), in a config folder
# added to JUPYTER_CONFIG_PATH: the learner's own ~/.jupyter still loads, and wins.
SERVER_CONFIG = {"ServerApp": {"tornado_settings": {"ws_ping_timeout": 30000}}}
# nbgrader's instructor panels: creating assignments, the formgrader and the course list.
INSTRUCTOR_PLUGINS = (
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
)
INSTRUCTOR_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)
# Settings defaults: "Never" fetch news, so JupyterLab does not ask about it in a popup.
OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def write_settings(settings_dir: Path, instructor: bool) -> None:
    """(Re)write the settings folder for this launch's mode."""
    settings_dir.mkdir(parents=True, exist_ok=True)
    (settings_dir / "overrides.json").write_text(json.dumps(OVERRIDES, indent=2) + "\n")
    page_config = {"disabledExtensions": [] if instructor else list(INSTRUCTOR_PLUGINS)}
    (settings_dir / "page_config.json").write_text(json.dumps(page_config, indent=2) + "\n")
    config_dir(settings_dir).mkdir(exist_ok=True)
    server_config = config_dir(settings_dir) / "jupyter_server_config.json"
    server_config.write_text(json.dumps(SERVER_CONFIG, indent=2) + "\n")


def config_dir(settings_dir: Path) -> Path:
    """The Jupyter config folder `course lab` puts on JUPYTER_CONFIG_PATH."""
    return settings_dir / "config"


def environment(settings_dir: Path, env: dict[str, str]) -> dict[str, str]:
    """``env`` with the course's config folder on JUPYTER_CONFIG_PATH (after the user's own)."""
    paths = [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p]
    return {**env, "JUPYTER_CONFIG_PATH": os.pathsep.join([*paths, str(config_dir(settings_dir))])}


def flags(settings_dir: Path, instructor: bool) -> list[str]:
    """The `jupyter lab` flags for a learner's (default) or an instructor's lab."""
    out = [*OFFLINE_FLAGS, *QUIET_FLAGS, f"--LabApp.app_settings_dir={settings_dir}"]
    if not instructor:
        out += [
            f"--ServerApp.jpserver_extensions={name}=False" for name in INSTRUCTOR_SERVER_EXTENSIONS
        ]
    return out
