"""The exceptions a learner or instructor sees: one line each, never a traceback to read."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path
from types import TracebackType


def issues_url() -> str:
    """Where a learner reports a bug in the course itself: the package's "Issues" URL
    (pyproject's [project.urls]), read from the installed metadata so a wheel on Colab has it."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        for entry in metadata("mlops-course").get_all("Project-URL") or []:
            label, _, url = entry.partition(",")
            if label.strip().lower() == "issues":
                return url.strip()
    except PackageNotFoundError:
        pass
    return "the course's issue tracker"


class CourseError(Exception):
    """An error with a one-line, actionable message (bad input, busy port, broken state)."""


class CheckError(AssertionError):
    """An exercise check failed; the message says what to fix."""


class NotAttempted(CheckError):
    """The exercise still holds its stub."""


class InternalCheckError(CourseError):
    """A check's own code broke: the course's bug, not the learner's answer.

    Not a CheckError, so that nothing reads it as "incorrect"; still an exception, so that an
    nbgrader grade cell scores 0 instead of passing a check that never ran.
    """


def _library_dirs() -> tuple[Path, ...]:
    names = ("stdlib", "platstdlib", "purelib", "platlib")
    dirs = {Path(sysconfig.get_paths()[n]).resolve() for n in names}
    dirs |= {Path(p).resolve() for p in sys.path if p and "-packages" in p}
    return tuple(sorted(dirs))


def _is_under(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _frames(exc: BaseException) -> list[str]:
    """File names of every frame the exception (and what caused it) passed through."""
    files: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        err = todo.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        tb: TracebackType | None = err.__traceback__
        while tb is not None:
            files.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        todo += [err.__cause__, err.__context__]
    return files


def raised_by_course(exc: BaseException) -> bool:
    """True when the course's own code raised ``exc`` with no learner code on the way.

    Checks call the learner's functions and objects directly, so the traceback decides: a frame
    outside the course package and outside the installed libraries is the learner's (a notebook
    cell, a test file, ``exec``), and then the error is theirs. An error raised inside a library
    the check called is theirs too (an unfitted model, a bad run id). Only an error whose
    innermost frame is in the course package, reached without the learner's code, is a bug.
    """
    course_dir = Path(__file__).resolve().parent
    libraries = _library_dirs()
    files = _frames(exc)
    for name in files:
        if name.startswith("<frozen"):
            continue
        path = Path(name).resolve() if not name.startswith("<") else None
        if path is None or not (_is_under(path, (course_dir,)) or _is_under(path, libraries)):
            return False  # the learner's code ran between the check and the error
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and _is_under(
        Path(tb.tb_frame.f_code.co_filename).resolve(), (course_dir,)
    )


def internal_error(item_id: str, exc: BaseException) -> InternalCheckError:
    """The one line a learner sees when a check itself fails."""
    first = str(exc).splitlines()[0][:200] if str(exc).strip() else ""
    detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return InternalCheckError(
        f"{item_id}: the check itself failed ({detail}); this is a bug in the course, not in "
        f"your answer, and nothing was recorded against you: please report it at {issues_url()}"
    )
