"""Exercise checks: ``check(exercise_id, **answers)`` and ``hint(exercise_id, level)``.

Each course module has one file here, ``mNN_<slug>.py``, whose functions inspect real state
(MLflow runs and models, files, ShopFlow ground truth) given as explicit arguments.
"""

from __future__ import annotations

from typing import Any

from .. import _progress as progress_store
from .._errors import CheckError, CourseError, NotAttempted, internal_error, raised_by_course
from .._quiet import quiet
from ._registry import Exercise, Question, as_kwargs, items, lookup

__all__ = ["check", "hint", "items", "CheckError", "NotAttempted"]


def check(exercise_id: str, **answers: Any) -> None:
    """Run a check; print one line on success, raise CheckError (or NotAttempted) otherwise.

    An exception from the check's own code raises InternalCheckError and records nothing: the
    learner's progress must not show the course's bug as their failure.
    """
    item = lookup(exercise_id)
    if isinstance(item, Question):
        from ..quiz import check as quiz_check

        if set(answers) != {"answer"}:
            raise CourseError(f"quiz questions take one answer: check({exercise_id!r}, answer=q)")
        quiz_check(exercise_id, answers["answer"])
        return
    try:
        as_kwargs(item.run, answers)
    except CourseError as exc:
        raise CheckError(f"{exercise_id}: {exc}") from None
    try:
        with quiet():
            message = item.run(**answers)
    except NotImplementedError:
        progress_store.record(exercise_id, "not attempted")
        raise NotAttempted(
            f"{exercise_id}: your code still raises NotImplementedError; "
            "replace the stub and run the cell"
        ) from None
    except NotAttempted as exc:
        progress_store.record(exercise_id, "not attempted")
        raise NotAttempted(f"{exercise_id}: {exc}") from None
    except CheckError as exc:
        progress_store.record(exercise_id, "incorrect")
        raise CheckError(f"{exercise_id}: {exc}") from None
    except Exception as exc:
        if raised_by_course(exc):  # the check's own bug: not the learner's failure
            raise internal_error(exercise_id, exc) from None
        # the learner's function or objects raised while being checked: say so in one line
        progress_store.record(exercise_id, "incorrect")
        first = str(exc).splitlines()[0][:300] if str(exc) else ""
        raise CheckError(
            f"{exercise_id}: checking your answer raised {type(exc).__name__}: {first}"
        ) from None
    progress_store.record(exercise_id, "correct")
    print(f"✓ {exercise_id} correct: {message}")


def hint(exercise_id: str, level: int = 1) -> None:
    """Print hint ``level`` (1 = a nudge, the last = close to the answer)."""
    item = lookup(exercise_id)
    hints = item.hints if isinstance(item, Exercise) else ((item.hint,) if item.hint else ())
    if not hints:
        print(f"No hint for {exercise_id}: re-read the question above it.")
        return
    level = max(1, min(int(level), len(hints)))
    more = f" (more: hint({exercise_id!r}, level={level + 1}))" if level < len(hints) else ""
    progress_store.record_hint(exercise_id, level)
    print(f"Hint {level}/{len(hints)} for {exercise_id}: {hints[level - 1]}{more}")
