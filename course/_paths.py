"""Where things live: the per-user state dir and the repository checkout."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "COURSE_HOME"


def home() -> Path:
    """The state dir: ``$COURSE_HOME``, else ``~/.mlops-course`` (grading sets a fresh one)."""
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".mlops-course").expanduser().absolute()


def repo_root(start: Path | None = None) -> Path | None:
    """The course checkout holding solutions/ (cwd first, then the editable install's source)."""
    candidates = [start or Path.cwd(), Path(__file__).resolve().parent.parent]
    for base in candidates:
        for d in (base, *base.parents):
            if (d / "solutions").is_dir() and (d / "course" / "__init__.py").is_file():
                return d
    return None
