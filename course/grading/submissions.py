"""Finding submissions: one notebook per student, as a file or in a student's folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .._errors import CourseError


@dataclass(frozen=True)
class Submission:
    student_id: str
    path: Path


@dataclass(frozen=True)
class Unattributed:
    path: Path
    reason: str


def student_id(name: str) -> str:
    """A file or folder name as an nbgrader-safe student id."""
    sid = re.sub(r"[^A-Za-z0-9_.@-]+", "_", name.strip()).strip("._")
    return sid or "unnamed"


def _notebooks(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file()
    )


def discover(folder: Path, slug: str) -> tuple[list[Submission], list[Unattributed]]:
    """`alice.ipynb` -> alice; `bob/anything.ipynb` -> bob. Everything else is reported."""
    if not folder.is_dir():
        raise CourseError(f"submissions folder {folder} does not exist or is not a folder")
    found: dict[str, Submission] = {}
    skipped: list[Unattributed] = []

    def add(sid: str, path: Path) -> None:
        if sid in found:
            skipped.append(Unattributed(path, f"a second notebook for student {sid!r}"))
        else:
            found[sid] = Submission(sid, path)

    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name == "__MACOSX":
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            add(student_id(entry.stem), entry)
        elif entry.is_dir():
            nbs = _notebooks(entry)
            if not nbs:
                skipped.append(Unattributed(entry, "a folder without a notebook"))
                continue
            named = [p for p in nbs if p.stem == slug]
            pick = named[0] if named else nbs[0]
            add(student_id(entry.name), pick)
            for other in nbs:
                if other != pick:
                    skipped.append(Unattributed(other, f"an extra notebook in {entry.name}/"))
        else:
            skipped.append(Unattributed(entry, "not a notebook (.ipynb)"))
    return sorted(found.values(), key=lambda s: s.student_id), skipped
