"""A private nbgrader course directory, configured from autograder/nbgrader_config.py."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from .._errors import CourseError
from .._paths import repo_root


def repo() -> Path:
    root = repo_root()
    if root is None:
        raise CourseError("run this from a clone of the course repository (solutions/ not found)")
    return root


def config(course_dir: Path) -> Any:
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    cfg_file = repo() / "autograder" / "nbgrader_config.py"
    cfg = PyFileConfigLoader(cfg_file.name, path=str(cfg_file.parent)).load_config()
    overrides = Config()
    overrides.CourseDirectory.root = str(course_dir)
    overrides.CourseDirectory.db_url = f"sqlite:///{course_dir / 'gradebook.db'}"
    overrides.Exchange.root = str(course_dir / "exchange")
    overrides.CourseDirectory.course_id = "mlops-course"
    cfg.merge(overrides)
    return cfg


def _venv_on_path() -> None:
    """nbgrader runs `alembic` and kernels by name: find them next to this Python."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def api(course_dir: Path) -> Any:
    from nbgrader.apps import NbGraderAPI

    _venv_on_path()
    with contextlib.redirect_stderr(io.StringIO()):
        app = NbGraderAPI(config=config(course_dir))
    app.log.setLevel(logging.ERROR)
    return app


def write_notebook(nb: Any, path: Path) -> None:
    """The one on-disk form of a notebook: sorted keys, indent 1, UTF-8, final newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def generate(a: Any, slug: str) -> None:
    """generate_assignment, with nbgrader's own error text as a CourseError."""
    with contextlib.redirect_stderr(io.StringIO()) as err:
        result = a.generate_assignment(slug, force=True)
    if not result.get("success"):
        detail = (result.get("error") or err.getvalue() or "unknown error").strip().splitlines()
        raise CourseError(f"nbgrader could not generate {slug}: {detail[-1] if detail else ''}")
