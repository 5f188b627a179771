"""Grading one submission: a short pipeline over the stages, each in a module of its own.

1. `_rebuild`: the instructor's notebook with the student's answer cells (pure).
2. `_instrument`: markers, reset and recording cells around every test cell (pure).
3. `_execute`: the notebook in the sandboxed kernel (`_kernel`, `_client`), limits kept here.
4. `_recheck` + `_session`: right after each item's recording cell, while the kernel still holds
   its values, a clean process re-runs the unpatched checks and hidden tests on them; the
   planning and the verdicts are pure, the process is `_session`'s.
5. `_score`: points per item from the run and the clean verdicts (pure).
6. `_feedback`: the learner's page and formgrader's notebook.

`grade_submission(job)` is a plain, picklable function of a `Job` (it runs in a Dask worker,
local or remote) and never raises: whatever the submission does, it returns a `Result`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import _cgroup, _feedback, _files, _recheck, _score, _session
from ._cells import source
from ._execute import execute, one_line
from ._instrument import Instrumented, instrument, new_token
from ._kernel import kernel_env
from ._rebuild import rebuild
from ._types import Clean, Execution, Item, Job, Outcome, Rebuilt, Result, Verdict
from .sandbox import SandboxUnavailable, own, probe

__all__ = ["Job", "Result", "grade_submission"]

QUIZ_MODE_ENV = "COURSE_QUIZ_MODE"  # course.quiz.MODE_ENV; set when the job has quiz keys


def grade_submission(job: Job) -> Result:
    """Grade one submission; never raises. See the module docstring."""
    t0 = time.monotonic()
    clock = _Clock()
    try:
        with tempfile.TemporaryDirectory(
            prefix="cg-", dir=job.tmp, ignore_cleanup_errors=True
        ) as tmp:
            # tmp: this process's alone (0700), holds the kernel log; tmp/box: the sandbox's.
            result = _grade(job, Path(tmp), clock)
            clock.start("cleanup")
    except Exception as exc:  # a bug or a hostile corner we did not foresee: still a row
        result = Result(job.student_id, error=f"grader error: {type(exc).__name__}: "
                                              f"{one_line(str(exc))}")  # fmt: skip
    clock.stop()
    return _safe(replace(result, seconds=time.monotonic() - t0, timings=clock.seconds))


def _grade(job: Job, tmp: Path, clock: _Clock) -> Result:
    clock.start("rebuild")
    try:
        rebuilt = rebuild(job.source, job.release, json.loads(job.content))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        return Result(job.student_id, error=f"not a valid notebook ({type(exc).__name__}: "
                                            f"{one_line(str(exc))})")  # fmt: skip
    reason = probe() if job.sandbox else ""
    if reason:  # never fall back to running student code unsandboxed on this worker
        return Result(job.student_id, error=f"sandbox unavailable on this worker: {reason}",
                      notes=rebuilt.notes)  # fmt: skip
    clock.start("sandbox setup")
    with _scratch(tmp / "box", job) as (scratch, group, notes):
        base = Result(job.student_id, notes=(*rebuilt.notes, *notes), sandboxed=job.sandbox)
        ins = instrument(rebuilt.nb, rebuilt.items, new_token())
        if job.sandbox:
            own(scratch)
            os.chmod(scratch, 0o755)
        try:
            ran, checker = _run(job, ins, scratch, tmp / "kernel.log", group, clock)
        except SandboxUnavailable as exc:
            return replace(base, error=f"sandbox unavailable: {exc}")
    with contextlib.suppress(OSError):
        base = replace(base, log=_files.tail_bounded(tmp / "kernel.log", 65536).decode("utf-8", "replace"))  # fmt: skip
    # What plain nbgrader does too: start a kernel and run the cells (the grader's included).
    base = replace(base, exec_seconds=ran.timings["kernel start"] + ran.timings["cells"])
    return _post(job, rebuilt, ins, ran, checker, base, clock)


@contextlib.contextmanager
def _scratch(scratch: Path, job: Job) -> Iterator[tuple[Path, Any, tuple[str, ...]]]:
    """The sandbox's folder (a tmpfs of a fixed size and a cgroup, as root), removed after."""
    scratch.mkdir()
    mounted, group, notes = False, None, ()
    try:
        if job.sandbox and _cgroup.available():
            mounted = _cgroup.mount_scratch(scratch, job.limits.disk)
            group = _cgroup.Cgroup(job.limits.memory, job.limits.processes)
        elif job.sandbox:
            notes = ("no cgroup here: memory limited per process only",)
        for sub in ("home", "run", "work", "userhome", "shared"):
            (scratch / sub).mkdir()
        yield scratch, group, notes
    finally:
        if group is not None:
            group.remove()
        if mounted:
            _cgroup.unmount_scratch(scratch)


def _run(job: Job, ins: Instrumented, scratch: Path, log: Path, group: Any,
         clock: _Clock) -> tuple[Execution, _Checker]:  # fmt: skip
    """Execute with the clean check after each recording cell; the clean process never
    outlives the kernel it checked."""
    # Graded quizzes: the learner's check records the answer and says nothing about it.
    mode = {QUIZ_MODE_ENV: "graded"} if job.quiz_keys is not None else {}
    # The clean check's temporary files (a fixture it hands to a function) live where the
    # kernel sees them too: each sandbox has a /tmp of its own.
    env = {**kernel_env(scratch), **mode, "TMPDIR": str(scratch / "shared")}
    wrap = group.wrap if group else None
    session = _session.Session(
        lambda netns: _session.start(job.module, scratch, job.limits, job.sandbox, env, wrap,
                                     netns),
        scratch,
    )  # fmt: skip
    checker = _Checker(job, ins, session)
    clock.start("execution")
    try:
        ran = execute(ins.nb, scratch, job.limits, job.sandbox, log, group, ins.token, mode,
                      checker.after)  # fmt: skip
    finally:
        session.close()
        if not job.sandbox:
            from ..serving import stop_all

            with contextlib.suppress(Exception):
                stop_all(scratch / "home")
    parts = dict(ran.timings)
    parts["clean checks"] = parts.get("clean checks", 0.0) - session.waited
    clock.split("execution", {**parts, "waiting for the clean process": session.waited})
    clock.seconds.update({f"clean check of {g}": s for g, s in checker.seconds.items()})
    return ran, checker


@dataclass
class _Checker:
    """The `after` hook of execute(): right after an item's recording cell, while the kernel
    still holds its values, the clean process checks them. Collects the jobs and results."""

    job: Job
    ins: Instrumented
    session: _session.Session
    jobs: list[dict] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)
    known: dict[str, Clean] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    seconds: dict[str, float] = field(default_factory=dict)  # grade id -> its clean check

    def __post_init__(self) -> None:
        self.instructor = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): source(c)
                           for c in self.job.source["cells"]}  # fmt: skip
        self.preamble = _recheck.preamble(self.job.source)
        self.records = self.ins.records

    def after(self, i: int, nb: Any, replies: dict[int, str], serve: Any) -> str:
        if self.session.proc is None:  # once the kernel runs: its imports overlap the notebook
            self.session.begin(serve.netns())
        if i not in self.records:
            return ""
        at, item = self.records[i]
        cells = {at: _coalesced(nb.cells[at]), i: _coalesced(nb.cells[i])}
        passed = _score.outcome(cells[at], self.ins.token, replies.get(at, ""), item.hidden).passed
        jobs, known = self._plan([item], cells, {item.grade_id: passed}, self.preamble)
        stopped = ""

        def serve_once(path: str) -> None:
            nonlocal stopped
            stopped = serve(path)

        limit = max(60.0, self.job.limits.cell_timeout)
        t = time.monotonic()
        self.results += self.session.verify(jobs, serve_once, limit)
        if jobs:
            self.seconds[item.grade_id] = time.monotonic() - t
        self.jobs += jobs
        self.known.update(known)
        self.done.add(item.grade_id)
        return stopped

    def _plan(self, items: list[Item], cells: Any, passed: dict[str, bool],
              pre: list[str]) -> tuple[list[dict], dict[str, Clean]]:  # fmt: skip
        return _recheck.jobs_for(items, cells, passed, self.instructor, pre, self.job.quiz_keys,
                                 self.answers)  # fmt: skip

    def verdicts(self, items: tuple[Item, ...], cells: Any,
                 outcomes: dict[str, Outcome]) -> dict[str, Clean]:  # fmt: skip
        """Every item's clean verdict; a pass the inline check never saw is not taken on trust."""
        rest = [it for it in items if it.grade_id not in self.done]
        passed = {g: o.passed for g, o in outcomes.items()}
        unchecked, known = self._plan(rest, cells, passed, [])
        known = {**self.known, **known}
        for j in unchecked:
            known[j["item"]] = Clean(Verdict.MISSING, "not re-checked outside the kernel")
        return _recheck.verdicts(self.jobs, self.results, known)


def _coalesced(cell: Any) -> Any:
    from ._client import coalesce

    cell = copy.deepcopy(cell)
    coalesce(cell)
    return cell


def _post(job: Job, rebuilt: Rebuilt, ins: Instrumented, ran: Execution, checker: _Checker,
          base: Result, clock: _Clock) -> Result:  # fmt: skip
    """Score and feedback, under their own hard limit: a row in time, whatever the run holds."""
    out: dict[str, Any] = {}

    def work() -> None:
        try:
            out["result"] = _score_and_feedback(job, rebuilt, ins, ran, checker, base, clock)
        except Exception as exc:
            out["error"] = f"grader error: {type(exc).__name__}: {one_line(str(exc))}"

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(job.limits.post_timeout)
    if "result" in out:
        return out["result"]
    return replace(base, error=out.get("error")
                   or f"grading after execution ran over its {job.limits.post_timeout:g} s limit")  # fmt: skip


def _score_and_feedback(job: Job, rebuilt: Rebuilt, ins: Instrumented, ran: Execution,
                        checker: _Checker, base: Result, clock: _Clock) -> Result:  # fmt: skip
    clock.start("score")
    cells = ran.nb.cells
    outcomes = {it.grade_id: _score.outcome(cells[i], ins.token, ran.replies.get(i, ""), it.hidden)
                for i, it in ins.by_cell.items()}  # fmt: skip
    clean = checker.verdicts(rebuilt.items, cells, outcomes)
    scored = _score.score(rebuilt.items, outcomes, clean, job.trust_unverifiable)
    clock.start("feedback")
    fb = _feedback.feedback_notebook(ran.nb, ins.token, ins.by_cell, scored, job.student_id,
                                     job.module, ran.stopped, job.source)  # fmt: skip
    return replace(base, status="graded", error=ran.stopped, items=scored.items,
                   notes=(*base.notes, *scored.notes), review=scored.review, score=scored.score,
                   executed=_feedback.formgrader_notebook(ran.nb, ins.token),
                   feedback=_feedback.html(fb),
                   answers=dict(checker.answers) if job.want_answers else None)  # fmt: skip


def _safe(result: Result) -> Result:
    """Every string that leaves the worker made safe to write (it may come from the student)."""
    clean = _files.clean
    items = {clean(g): replace(s, why=clean(s.why)) for g, s in result.items.items()}
    return replace(result, error=clean(result.error), notes=clean(result.notes),
                   review=clean(result.review), log=clean(result.log),
                   executed=clean(result.executed), feedback=clean(result.feedback),
                   items=items, answers=clean(result.answers))  # fmt: skip


class _Clock:
    """Seconds per stage of one submission, for `make bench`'s "where the time goes"."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stage, self._since = "", time.monotonic()

    def start(self, stage: str) -> None:
        self.stop()
        self._stage, self._since = stage, time.monotonic()

    def stop(self) -> None:
        if self._stage:
            self.seconds[self._stage] = (
                self.seconds.get(self._stage, 0.0) + time.monotonic() - self._since
            )
        self._stage = ""

    def split(self, stage: str, parts: dict[str, float]) -> None:
        """Replace `stage`'s running time by its parts (the rest stays under `stage`)."""
        self.stop()
        total = self.seconds.pop(stage, 0.0)
        self.seconds.update({k: v for k, v in parts.items() if v})
        self.seconds[f"{stage}, other"] = max(0.0, total - sum(parts.values()))
