"""`course grade MODULE SUBMISSIONS --out OUT`: every submission isolated, in parallel.

Each submission is graded by `worker.grade_submission` in a Dask worker (a local cluster of one
process per core, or `--scheduler tcp://HOST:PORT`), its kernel in the OS sandbox. This process
alone writes: OUT/grades.csv (one row per input file, columns in docs/instructors.md),
OUT/feedback/<student>.html, OUT/logs/<student>.log, OUT/summary.md and OUT/scores.png, and
nbgrader's course folder OUT/nbgrader (gradebook.db, submitted/ and autograded/ notebooks) for
formgrader, with OUT/nbgrader-export.csv. Running it again re-grades from scratch.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _catalog
from .._errors import CourseError
from . import _nbgrader, _quizkeys
from ._files import Refused, read_bounded, safe_text, write_text
from ._types import Job, Result
from .sandbox import Limits
from .submissions import Submission, discover

BASE_COLUMNS = [
    "student_id",
    "module",
    "score",
    "max_score",
    "status",
    "error",
    "file",
    "review",
    "notes",
    "seconds",
    "exec_seconds",
    "sandboxed",
]
QUIZ_KEYS = ("source", "digest")  # where quiz grades come from (docs/instructors.md)
_MAX_NOTEBOOK = 64 * 1024**2  # a submission larger than this is an error row, not read


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
    review: str = ""
    notes: str = ""
    seconds: float = 0.0
    exec_seconds: float = 0.0
    sandboxed: str = ""  # "yes" | "no" | "" (not run)


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
        return safe_text("\n".join(lines))


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


def _client(scheduler: str | None, workers: int):
    """A Dask client: the given scheduler, else a local cluster of `workers` processes."""
    import logging

    from dask.distributed import Client, LocalCluster

    for name in ("distributed", "bokeh", "tornado"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as exc:
            raise CourseError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # a free port: a second grader must not collide
        silence_logs=logging.ERROR, worker_class="distributed.Nanny",
    )  # fmt: skip
    return Client(cluster), cluster


def _save(course_dir: Path, out: Path, slug: str, sub: Submission, res: Result,
          content: str) -> None:  # fmt: skip
    """Files and gradebook rows of one result, written by this (the only) process."""
    sid = sub.student_id
    (out / "logs").mkdir(parents=True, exist_ok=True)
    write_text(
        out / "logs" / f"{sid}.log",
        "\n".join([f"status: {res.status} {res.error}", *res.notes, *res.review,
                   "--- kernel output ---", res.log]),
    )  # fmt: skip
    if res.status != "graded":
        return
    (out / "feedback").mkdir(exist_ok=True)
    write_text(out / "feedback" / f"{sid}.html", res.feedback or "")
    for kind, text in (("submitted", content), ("autograded", res.executed or "")):
        nb_path = course_dir / kind / sid / slug / f"{slug}.ipynb"
        nb_path.parent.mkdir(parents=True, exist_ok=True)
        write_text(nb_path, text)
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        gb.update_or_create_student(sid)
        try:
            gb.remove_submission(slug, sid)
        except MissingEntry:
            pass
        gb.add_submission(slug, sid)
        for gid, item in res.items.items():
            grade = gb.find_grade(gid, slug, slug, sid)
            grade.auto_score = item.score
            grade.needs_manual_grade = bool(res.review)
        gb.db.commit()


def grade(
    module: str,
    submissions: str | Path,
    out: str | Path = "grading-out",
    *,
    cell_timeout: float | None = None,
    notebook_timeout: float | None = None,
    memory: str | int | None = None,
    students: list[str] | None = None,
    progress: bool = True,
    workers: int | None = None,
    scheduler: str | None = None,
    sandbox: bool = True,
    trust_unverifiable: bool = False,
    disk: str | int | None = None,
    quiz_keys: str = "digest",
) -> GradeResult:
    """Autograde every submission of one module; never stops at a bad one.

    `quiz_keys="source"` scores quiz items against the instructor's keys in solutions/ (the
    learner's check only records answers); `"digest"` against the package's digests."""
    if quiz_keys not in QUIZ_KEYS:
        raise CourseError(f"--quiz-keys is one of {', '.join(QUIZ_KEYS)}, not {quiz_keys!r}")
    mod = _catalog.get(module)
    repo = _nbgrader.repo()
    source = repo / "solutions" / mod.slug / f"{mod.slug}.ipynb"
    if not source.exists():
        raise CourseError(f"{mod.id} has no notebook yet ({source.relative_to(repo)} is missing)")
    out = Path(out).absolute()
    subs, skipped = discover(Path(submissions), mod.slug, unpack=out / "unpacked")
    if not subs and not students:
        raise CourseError(f"no notebooks found in {submissions} (nothing to grade)")
    if students:
        wanted = set(students)
        unknown = wanted - {s.student_id for s in subs}
        if unknown:
            raise CourseError(f"no submission for student(s) {', '.join(sorted(unknown))}")
        subs = [s for s in subs if s.student_id in wanted]
    if sandbox:
        from .sandbox import probe

        reason = probe()
        if reason:
            raise CourseError(
                f"cannot sandbox student code here: {reason}; install bubblewrap "
                "(make system-deps), or pass --no-sandbox to grade unsandboxed"
            )
    else:
        from .sandbox import warn_unsandboxed

        warn_unsandboxed("--no-sandbox was given")
    course_dir = out / "nbgrader"
    if not students:  # a full run starts over; --student keeps the others' results
        for d in ("nbgrader", "feedback", "logs"):
            shutil.rmtree(out / d, ignore_errors=True)
    (course_dir / "source" / mod.slug).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, course_dir / "source" / mod.slug / source.name)
    grade_ids, points = _grade_cells(source)
    max_score = sum(points.values())
    if not (course_dir / "gradebook.db").exists() or not students:
        api = _nbgrader.api(course_dir)
        _nbgrader.generate(api, mod.slug)

    limits: dict[str, Any] = {}
    if cell_timeout:
        limits["cell_timeout"] = float(cell_timeout)
    if notebook_timeout:
        limits["notebook_timeout"] = float(notebook_timeout)
    if memory:
        limits["memory"] = parse_size(memory)
    if disk:
        limits["disk"] = parse_size(disk)
    release = repo / "modules" / mod.slug / f"{mod.slug}.ipynb"
    src_nb = json.loads(source.read_text(encoding="utf-8"))
    rel_nb = json.loads(release.read_text(encoding="utf-8")) if release.exists() else src_nb
    keys = None
    if quiz_keys == "source" and subs:
        keys = _source_keys(mod.id, src_nb, rel_nb, limits, sandbox, progress)
    jobs, contents = [], {}
    for sub in subs:
        content = _read_submission(sub.path)
        contents[sub.student_id] = content
        jobs.append(Job(sub.student_id, mod.id, content, src_nb, rel_nb, Limits(**limits), sandbox,
                        trust_unverifiable, keys))  # fmt: skip

    results = _run_batch(jobs, subs, mod.id, workers, scheduler, progress, Limits(**limits),
                         lambda sub, res: _save(course_dir, out, mod.slug, sub, res,
                                                contents[sub.student_id]))  # fmt: skip
    rows: list[Row] = []
    for sub in subs:
        res = results[sub.student_id]
        row = Row(sub.student_id, mod.id, None, max_score, res.status, res.error, sub.label)
        if res.status == "graded":
            row.score = float(res.score or 0.0)
            row.items = {g: float(v.score) for g, v in res.items.items()}
        row.review = "; ".join(res.review)
        row.notes = "; ".join([*sub.notes, *res.notes])
        row.seconds, row.exec_seconds = res.seconds, res.exec_seconds
        if res.exec_seconds or res.status == "graded":
            row.sandboxed = "yes" if res.sandboxed else "no"
        rows.append(row)
    if students:
        kept = _read_csv(out / "grades.csv", exclude=set(students))
    else:
        rows += [
            Row("", mod.id, None, max_score, "skipped", f"could not attribute: {u.reason}", u.label)
            for u in skipped
        ]
        kept = []
    all_rows = kept + rows
    _write_csv(out / "grades.csv", all_rows, grade_ids)
    from .report import export_gradebook, summarize

    summarize(out, mod.id, all_rows, grade_ids, points)
    _write_timings(out / "timings.json", {sid: res.timings for sid, res in results.items()})
    export_gradebook(course_dir, out / "nbgrader-export.csv")
    return GradeResult(mod.id, out, grade_ids, rows)


def _source_keys(module: str, src_nb: dict, rel_nb: dict, limits: dict, sandbox: bool,
                 progress: bool) -> dict:  # fmt: skip
    """The instructor's quiz keys: literals read from the solution cells; computed ones (an
    expression) from one sandboxed run of the instructor's notebook, in this process."""
    try:
        found = _quizkeys.extract(src_nb)
    except ValueError as exc:
        raise CourseError(f"quiz keys: {exc} (or grade with --quiz-keys digest)") from None
    keys = _quizkeys.literal_keys(found)
    todo = _quizkeys.computed(found)
    if not todo:
        return keys
    from .worker import grade_submission

    if progress:
        print(f"{module}: computing quiz key(s) {', '.join(todo)} with one run of the "
              "instructor's notebook", flush=True)  # fmt: skip
    res = grade_submission(Job("instructor", module, json.dumps(src_nb), src_nb, rel_nb,
                               Limits(**limits), sandbox, quiz_keys=keys, want_answers=True))  # fmt: skip
    answers = res.answers or {}
    missing = [q for q in todo if answers.get(q) is None]
    if missing:
        why = res.error or "its answer cell did not run to a plain value"
        raise CourseError(
            f"the instructor's notebook gave no key for {', '.join(missing)} ({why}); "
            "fix solutions/ or grade with --quiz-keys digest"
        )
    return {**keys, **{q: answers[q] for q in todo}}


def _read_submission(path: Path) -> str:
    """The submission's text; never follows a link, never reads past the size cap."""
    try:
        data = read_bounded(path, _MAX_NOTEBOOK + 1)
    except (Refused, OSError) as exc:
        return f"<unreadable: {exc}>"
    if len(data) > _MAX_NOTEBOOK:
        return f"<unreadable: larger than {_MAX_NOTEBOOK} bytes>"
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"<unreadable: {type(exc).__name__}>"


def _run_batch(jobs: list[Job], subs: list[Submission], module: str, workers: int | None,
               scheduler: str | None, progress: bool, limits: Limits,
               save: Callable[[Submission, Result], None]) -> dict[str, Result]:  # fmt: skip
    """Every job graded on Dask; a result per student, an error one for any lost or late."""
    from .worker import grade_submission

    workers = workers or os.cpu_count() or 1
    client, cluster = _client(scheduler, min(workers, len(jobs)))
    results: dict[str, Result] = {}
    # A hard limit for the batch: every submission's own limits, run `workers` at a time.
    per_job = limits.notebook_timeout + limits.post_timeout + 300
    deadline = time.monotonic() + per_job * math.ceil(len(jobs) / max(1, workers))
    bar = None
    try:
        from dask.distributed import wait

        futures = client.map(
            grade_submission,
            jobs,
            pure=False,
            key=[f"grade-{j.student_id}-{i}" for i, j in enumerate(jobs)],
        )
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(jobs), desc=f"grading {module}", unit="nb", disable=None)
        pending = dict(zip(futures, subs, strict=True))
        while pending:
            left = deadline - time.monotonic()
            done, _ = wait(list(pending), timeout=max(1.0, left), return_when="FIRST_COMPLETED")
            if not done and left <= 0:
                for fut, sub in pending.items():
                    fut.cancel()
                    results[sub.student_id] = Result(
                        sub.student_id, error="grading did not finish within the batch's time limit"
                    )
                    save(sub, results[sub.student_id])
                break
            for fut in done:
                sub = pending.pop(fut)
                try:
                    res = fut.result()
                except Exception as exc:  # a worker lost, a scheduler gone: still a row
                    res = Result(
                        sub.student_id,
                        error=f"worker failed: {type(exc).__name__}: {_last_line(str(exc))}",
                    )
                results[sub.student_id] = res
                save(sub, res)
                if bar:
                    bar.update(1)
    finally:
        if bar:
            bar.close()
        client.close()
        if cluster is not None:
            cluster.close()
    return results


def _write_timings(path: Path, timings: dict[str, dict[str, float]]) -> None:
    """Seconds per grading stage per student: where a slow batch spends its time."""
    rounded = {sid: {k: round(v, 2) for k, v in t.items()} for sid, t in timings.items()}
    write_text(path, json.dumps(rounded, indent=1, sort_keys=True))


def parse_size(value: str | int) -> int:
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?)i?B?\s*", str(value), re.I)
    if not m:
        raise CourseError(f"cannot read the size {value!r} (use e.g. 4G or 512M)")
    return int(float(m.group(1)) * 1024 ** "BKMGT".index((m.group(2) or "B").upper()))


def _read_csv(path: Path, exclude: set[str]) -> list[Row]:
    """Rows of an earlier run, except the students being re-graded."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        rows = []
        for r in csv.DictReader(f):
            if r["student_id"] in exclude:
                continue
            items = {k: float(v) for k, v in r.items() if k not in BASE_COLUMNS and v}
            score = float(r["score"]) if r["score"] else None
            rows.append(
                Row(r["student_id"], r["module"], score, float(r["max_score"]), r["status"],
                    r["error"], r["file"], items, r.get("review", ""), r.get("notes", ""),
                    float(r.get("seconds") or 0), float(r.get("exec_seconds") or 0),
                    r.get("sandboxed", ""))
            )  # fmt: skip
        return rows


def _write_csv(path: Path, rows: list[Row], grade_ids: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8", errors="replace") as f:
        writer = csv.writer(f)
        writer.writerow(BASE_COLUMNS + grade_ids)
        for r in rows:
            score = "" if r.score is None else f"{r.score:g}"
            items = [f"{r.items[g]:g}" if g in r.items else "" for g in grade_ids]
            writer.writerow(
                [
                    r.student_id,
                    r.module,
                    score,
                    f"{r.max_score:g}",
                    r.status,
                    r.error,
                    r.file,
                    r.review,
                    r.notes,
                    f"{r.seconds:.1f}",
                    f"{r.exec_seconds:.1f}",
                    r.sandboxed,
                ]
                + items
            )
