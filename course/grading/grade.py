"""`course grade MODULE SUBMISSIONS --out OUT`: nbgrader autograde with a fresh stack each.

Writes OUT/grades.csv (one row per submission, plus error rows for files it could not use),
OUT/feedback/<student>.html (hidden tests removed, failures one line each) and keeps nbgrader's
course folder in OUT/nbgrader for formgrader. Running it again re-grades from scratch.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .. import _catalog
from .._errors import CourseError
from .._quiet import OFFLINE_ENV
from ..serving import stop_all
from . import _nbgrader
from .submissions import Submission, discover

BASE_COLUMNS = ["student_id", "module", "score", "max_score", "status", "error", "file"]


@dataclass
class Row:
    student_id: str
    module: str
    score: float | None
    max_score: float
    status: str  # "graded" | "error" | "skipped"
    error: str = ""
    file: str = ""
    items: dict[str, float] = field(default_factory=dict)


@dataclass
class GradeResult:
    module: str
    out: Path
    grade_ids: list[str]
    rows: list[Row]

    @property
    def csv_path(self) -> Path:
        return self.out / "grades.csv"

    def summary(self) -> str:
        graded = [r for r in self.rows if r.status == "graded"]
        errors = [r for r in self.rows if r.status != "graded"]
        mean = sum(r.score or 0 for r in graded) / len(graded) if graded else 0.0
        top = self.rows[0].max_score if self.rows else 0
        lines = [
            f"{self.module}: graded {len(graded)} submission(s), {len(errors)} error row(s); "
            f"mean score {mean:.1f} / {top:g}",
            f"grades:   {self.csv_path}",
            f"feedback: {self.out / 'feedback'}",
        ]
        lines += [f"  ! {r.student_id or r.file}: {r.error}" for r in errors]
        return "\n".join(lines)


def _grade_cells(source: Path) -> tuple[list[str], dict[str, float]]:
    nb = json.loads(source.read_text(encoding="utf-8"))
    ids, points = [], {}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            ids.append(meta["grade_id"])
            points[meta["grade_id"]] = float(meta["points"])
    return ids, points


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "unknown error"


@contextlib.contextmanager
def _stderr_to(log: Path):
    """Kernels inherit file descriptor 2: send their chatter to the student's log file."""
    import sys

    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with log.open("ab") as f:
        os.dup2(f.fileno(), 2)
        try:
            with contextlib.redirect_stderr(io.StringIO()) as captured:
                yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            f.write(captured.getvalue().encode())


@contextlib.contextmanager
def _student_env(home: Path):
    """The kernel inherits this process's environment: give it a fresh, offline state dir."""
    saved = dict(os.environ)
    os.environ.update(OFFLINE_ENV)
    os.environ["COURSE_HOME"] = str(home)
    for var in ("MLFLOW_TRACKING_URI", "COURSE_STUDENT_ID"):
        os.environ.pop(var, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _grade_one(api, course_dir: Path, out: Path, slug: str, sub: Submission) -> tuple[str, str]:
    """Autograde one submission; returns (status, error)."""
    try:
        nb = json.loads(sub.path.read_text(encoding="utf-8"))
        if not isinstance(nb, dict) or "cells" not in nb:
            raise ValueError("no cells")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return "error", f"not a valid notebook ({type(exc).__name__}: {_last_line(str(exc))})"
    target = course_dir / "submitted" / sub.student_id / slug / f"{slug}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sub.path, target)
    home = out / "homes" / sub.student_id
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    log = out / "logs" / f"{sub.student_id}.log"
    log.unlink(missing_ok=True)
    try:
        with _student_env(home), _stderr_to(log):
            result = api.autograde(slug, sub.student_id, force=True, create=True)
    finally:
        stop_all(home)  # servers the notebook left running, even if its kernel was killed
    if not result.get("success"):
        with log.open("a") as f:
            f.write(result.get("log") or "")
        return "error", f"autograde failed: {_last_line(result.get('error'))} (log: {log})"
    with _stderr_to(log):
        result = api.generate_feedback(slug, sub.student_id, force=True)
    html = course_dir / "feedback" / sub.student_id / slug / f"{slug}.html"
    if result.get("success") and html.exists():
        (out / "feedback").mkdir(exist_ok=True)
        shutil.copyfile(html, out / "feedback" / f"{sub.student_id}.html")
    return "graded", ""


def _scores(course_dir: Path, slug: str, student: str) -> tuple[float, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(slug, slug, student)
        items = {g.name: float(g.score) for g in nb.grades}
        return float(nb.score), items


def grade(
    module: str,
    submissions: str | Path,
    out: str | Path = "grading-out",
    *,
    cell_timeout: float | None = None,
    students: list[str] | None = None,
    progress: bool = True,
) -> GradeResult:
    """Autograde every submission of one module; never stops at a bad one."""
    mod = _catalog.get(module)
    repo = _nbgrader.repo()
    source = repo / "solutions" / mod.slug / f"{mod.slug}.ipynb"
    if not source.exists():
        raise CourseError(f"{mod.id} has no notebook yet ({source.relative_to(repo)} is missing)")
    subs, skipped = discover(Path(submissions), mod.slug)
    if students:
        wanted = set(students)
        unknown = wanted - {s.student_id for s in subs}
        if unknown:
            raise CourseError(f"no submission for student(s) {', '.join(sorted(unknown))}")
        subs = [s for s in subs if s.student_id in wanted]
    out = Path(out).absolute()
    course_dir = out / "nbgrader"
    if not students:  # a full run starts over; --student keeps the others' results
        shutil.rmtree(course_dir, ignore_errors=True)
    (course_dir / "source" / mod.slug).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, course_dir / "source" / mod.slug / source.name)
    grade_ids, points = _grade_cells(source)
    max_score = sum(points.values())

    api = _nbgrader.api(course_dir)
    if cell_timeout:
        api.config.ExecutePreprocessor.timeout = int(cell_timeout)
    _nbgrader.generate(api, mod.slug)

    rows: list[Row] = []
    bar = None
    if progress and subs:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(subs), desc=f"grading {mod.id}", unit="nb", disable=None)
    for sub in subs:
        status, error = _grade_one(api, course_dir, out, mod.slug, sub)
        row = Row(sub.student_id, mod.id, None, max_score, status, error, str(sub.path))
        if status == "graded":
            row.score, row.items = _scores(course_dir, mod.slug, sub.student_id)
        rows.append(row)
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    if students:
        kept = _read_csv(out / "grades.csv", exclude=set(students))
    else:
        rows += [
            Row(
                "",
                mod.id,
                None,
                max_score,
                "skipped",
                f"could not attribute: {u.reason}",
                str(u.path),
            )
            for u in skipped
        ]
        kept = []
    _write_csv(out / "grades.csv", kept + rows, grade_ids)
    return GradeResult(mod.id, out, grade_ids, rows)


def _read_csv(path: Path, exclude: set[str]) -> list[Row]:
    """Rows of an earlier run, except the students being re-graded."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        rows = []
        for r in csv.DictReader(f):
            if r["student_id"] in exclude:
                continue
            items = {k: float(v) for k, v in r.items() if k not in BASE_COLUMNS and v}
            score = float(r["score"]) if r["score"] else None
            rows.append(
                Row(r["student_id"], r["module"], score, float(r["max_score"]), r["status"],
                    r["error"], r["file"], items)
            )  # fmt: skip
        return rows


def _write_csv(path: Path, rows: list[Row], grade_ids: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(BASE_COLUMNS + grade_ids)
        for r in rows:
            score = "" if r.score is None else f"{r.score:g}"
            items = [f"{r.items[g]:g}" if g in r.items else "" for g in grade_ids]
            writer.writerow(
                [r.student_id, r.module, score, f"{r.max_score:g}", r.status, r.error, r.file]
                + items
            )
