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
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import _cgroup, _feedback, _files, _score, _session
from ._clock import Clock
from ._execute import execute, one_line
from ._inline import Checker
from ._instrument import Instrumented, instrument, new_token
from ._kernel import kernel_env
from ._rebuild import rebuild
from ._types import Execution, Job, Rebuilt, Result
from .sandbox import SandboxUnavailable, own, probe

__all__ = ["Job", "Result", "grade_submission"]

QUIZ_MODE_ENV = "COURSE_QUIZ_MODE"  # course.quiz.MODE_ENV; set when the job has quiz keys


def grade_submission(job: Job) -> Result:
    """Grade one submission; never raises. See the module docstring."""
    t0 = time.monotonic()
    clock = Clock()
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


def _grade(job: Job, tmp: Path, clock: Clock) -> Result:
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
         clock: Clock) -> tuple[Execution, Checker]:  # fmt: skip
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
    checker = Checker(job, ins, session)
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


def _post(job: Job, rebuilt: Rebuilt, ins: Instrumented, ran: Execution, checker: Checker,
          base: Result, clock: Clock) -> Result:  # fmt: skip
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
                        checker: Checker, base: Result, clock: Clock) -> Result:  # fmt: skip
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
