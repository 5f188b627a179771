"""Quiz questions: answers are stored only as salted hashes, numbers accept a tolerance.

Authors make a digest with ``python -m course.quiz m02.q1 b`` (add ``--tol 0.01`` for numbers).

Two modes. Self-study (the default): `check` compares with the digest and says right or wrong.
Graded (``COURSE_QUIZ_MODE=graded``, set by `course grade` in its sandbox and by an instructor
for a class): `check` only records the answer, because a digest of a letter or a rounded number
is recovered by trying every candidate; `course grade` scores the answer against the keys in the
instructor's own notebook (`matches`).
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
from typing import Any

from . import _progress
from ._errors import CheckError, CourseError, NotAttempted, internal_error, raised_by_course

__all__ = ["check", "digest", "graded_mode", "matches"]

_SALT = "shopflow-quiz-v1"
MODE_ENV = "COURSE_QUIZ_MODE"  # "graded": record answers, never say right or wrong


def graded_mode() -> bool:
    """True when quiz answers count for credit: the notebook must not confirm a guess."""
    return os.environ.get(MODE_ENV, "").strip().lower() == "graded"


def _hash(question_id: str, normalised: str) -> str:
    return hashlib.sha256(f"{_SALT}:{question_id}:{normalised}".encode()).hexdigest()[:20]


def _norm_text(value: Any) -> str:
    return " ".join(str(value).strip().lower().split())


def _buckets(value: float, tol: float) -> list[str]:
    """Grid cells within one step of the value's own: every answer within ``tol`` is accepted,
    none farther than ``2 * tol`` (hashes cannot compare distances, only grid cells)."""
    k = round(value / tol)
    return [str(k + d) for d in (0, -1, 1)]


def digest(question_id: str, answer: Any, tol: float | None = None) -> str:
    """The stored form of a correct answer (for course authors)."""
    if tol is not None:
        return _hash(question_id, _buckets(float(answer), tol)[0])
    if isinstance(answer, (list, tuple)):
        return _hash(question_id, "|".join(_norm_text(a) for a in answer))
    return _hash(question_id, _norm_text(answer))


def _typed(q: Any, answer: Any) -> Any:
    """Refuse a wrong answer type with a message that says which type is wanted."""
    if answer is None or answer is Ellipsis or (isinstance(answer, str) and not answer.strip()):
        raise NotAttempted("no answer yet: assign your answer to the variable and run the cell")
    if q.kind == "choice":
        text = _norm_text(answer)
        if text not in q.choices:
            raise CheckError(
                f"answer with one of {', '.join(repr(c) for c in q.choices)}, not {answer!r}"
            )
        return text
    if q.kind == "number":
        if isinstance(answer, bool) or not isinstance(answer, (int, float)):
            try:
                answer = float(str(answer).strip().rstrip("%"))
            except ValueError:
                raise CheckError(f"answer with a number, not {answer!r}") from None
        if not math.isfinite(float(answer)):
            raise CheckError(f"answer with a finite number, not {answer!r}")
        return float(answer)
    if q.kind == "list":
        if isinstance(answer, str) or not isinstance(answer, (list, tuple)):
            raise CheckError(f"answer with a list, e.g. {list(q.choices[:2])}, not {answer!r}")
        unknown = [a for a in answer if _norm_text(a) not in q.choices]
        if unknown:
            raise CheckError(f"{unknown[0]!r} is not one of the options {list(q.choices)}")
        return [_norm_text(a) for a in answer]
    return _norm_text(answer)


def _question(question_id: str) -> Any:
    from .checks._registry import Question, lookup

    q = lookup(question_id)
    if not isinstance(q, Question):
        raise CourseError(f"{question_id} is an exercise, not a quiz question: use course.check")
    return q


def matches(question_id: str, answer: Any, key: Any) -> bool:
    """Whether `answer` is right against a `key` held by the instructor (not the digest), with
    the same normalisation and the same tolerance grid as `check`: both modes agree.

    Raises NotAttempted / CheckError for an answer of the wrong form, CourseError for a bad key.
    """
    q = _question(question_id)
    try:
        want = _typed(q, key)
    except CheckError as exc:
        raise CourseError(
            f"the instructor's key for {question_id} is not a valid answer: {exc}"
        ) from None
    value = _typed(q, answer)
    if q.kind == "number":
        tol = q.tolerance or 1e-9
        return str(round(want / tol)) in _buckets(value, tol)
    return value == want


def _record_only(q: Any, answer: Any) -> None:
    """Graded mode: the answer's form is checked (that says nothing about the key), not its truth."""
    try:
        _typed(q, answer)
    except NotAttempted as exc:
        _progress.record(q.id, "not attempted")
        raise NotAttempted(f"{q.id}: {exc}") from None
    except CheckError as exc:
        raise CheckError(f"{q.id}: {exc}") from None
    _progress.record(q.id, "recorded")
    print(f"✓ {q.id} answer recorded (graded quiz: your instructor's grading scores it)")


def check(question_id: str, answer: Any) -> None:
    """Check a quiz answer; prints one line if right, raises CheckError if not.

    In graded mode (see `graded_mode`) it only records a well-formed answer and raises nothing."""
    q = _question(question_id)
    if graded_mode():
        _record_only(q, answer)
        return
    try:
        value = _typed(q, answer)
        if q.kind == "number":
            ok = any(_hash(q.id, b) == q.digest for b in _buckets(value, q.tolerance or 1e-9))
        elif q.kind == "list":
            ok = _hash(q.id, "|".join(value)) == q.digest
        else:
            ok = _hash(q.id, value) == q.digest
        if not ok:
            tip = f" Hint: {q.hint}" if q.hint else ""
            raise CheckError(f"not quite; think again and re-run.{tip}")
    except NotAttempted as exc:
        _progress.record(question_id, "not attempted")
        raise NotAttempted(f"{question_id}: {exc}") from None
    except CheckError as exc:
        _progress.record(question_id, "incorrect")
        raise CheckError(f"{question_id}: {exc}") from None
    except Exception as exc:
        if raised_by_course(exc):  # a broken Question, not a wrong answer
            raise internal_error(question_id, exc) from None
        raise
    _progress.record(question_id, "correct")
    print(f"✓ {question_id} correct")


if __name__ == "__main__":  # python -m course.quiz m02.q1 b [--tol 0.01]
    args = sys.argv[1:]
    tol = None
    if "--tol" in args:
        i = args.index("--tol")
        tol = float(args[i + 1])
        del args[i : i + 2]
    qid, *rest = args
    value: Any = rest[0] if len(rest) == 1 else rest
    print(digest(qid, float(value) if tol else value, tol))
