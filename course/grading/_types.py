"""The records the grading stages hand each other: all frozen, so a stage returns what it made
instead of filling in its argument, and every stage can be tested on values built by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .sandbox import Limits

__all__ = ["Call", "Clean", "Execution", "Item", "ItemScore", "Job", "Outcome", "Rebuilt",
           "Result", "Scored", "Verdict"]  # fmt: skip


@dataclass(frozen=True)
class Job:
    """One submission to grade, with everything the worker needs (it may run on another host)."""

    student_id: str
    module: str
    content: str  # the submission's text, as read (bounded) by the grader
    source: dict  # the instructor's notebook
    release: dict  # the released notebook (the stubs)
    limits: Limits = Limits()
    sandbox: bool = True
    trust_unverifiable: bool = False
    quiz_keys: dict | None = None  # the instructor's keys: quizzes are scored here
    want_answers: bool = False  # the instructor's own run: return the computed answers
    tmp: str | None = None  # where the scratch folder goes


@dataclass(frozen=True)
class Call:
    """A `course.check("id", name=expr)` or `course.quiz.check("id", expr)` in a test cell."""

    kind: str  # "check" | "quiz"
    id: str
    args: dict[str, str]  # argument name -> the expression the cell passes


@dataclass(frozen=True)
class Item:
    """A graded cell; `record_at` and `nonce` once a recording cell follows it."""

    grade_id: str
    points: float
    auto: bool  # a test cell (not a manually graded answer)
    calls: tuple[Call, ...] = ()
    hidden: bool = False  # it has hidden tests
    record_at: int | None = None
    nonce: str | None = None

    @property
    def exprs(self) -> list[tuple[str, str]]:
        return [(n, e) for c in self.calls for n, e in c.args.items()]


@dataclass(frozen=True)
class Rebuilt:
    nb: dict
    items: tuple[Item, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Execution:
    nb: Any  # the executed NotebookNode
    replies: dict[int, str]  # cell index -> execute reply status
    stopped: str  # why the run stopped early, or ""
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a test cell's own run says (before any clean check)."""

    passed: bool
    why: str = ""


class Verdict(Enum):
    """The clean process's word on an item the kernel passed."""

    PASS = "pass"
    FAIL = "fail"  # the check or the hidden tests fail outside the kernel
    WRONG = "wrong"  # a graded quiz answer that is not the instructor's key (no review)
    MISSING = "missing"  # nothing to check: no record, no key
    UNVERIFIABLE = "unverifiable"  # a value that cannot cross to the clean process


@dataclass(frozen=True)
class Clean:
    verdict: Verdict
    reason: str = ""
    real: bool = False  # an unverifiable value is a real function or library object
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemScore:
    score: float
    max: float
    why: str = ""
    clean: str = ""  # the clean verdict's value, or "" when there was none


@dataclass(frozen=True)
class Scored:
    items: dict[str, ItemScore]
    review: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def score(self) -> float:
        return sum(s.score for s in self.items.values())

    @property
    def max_score(self) -> float:
        return sum(s.max for s in self.items.values())


@dataclass(frozen=True)
class Result:
    """One row of the class's grades, and its files; `status` is "graded" or "error"."""

    student_id: str
    status: str = "error"
    error: str = ""
    items: dict[str, ItemScore] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    review: tuple[str, ...] = ()
    score: float | None = None
    executed: str | None = None  # the autograded notebook formgrader shows
    feedback: str | None = None  # the learner's feedback page (HTML)
    log: str = ""  # the kernel's stdout and stderr, tail
    answers: dict[str, Any] | None = None
    sandboxed: bool = False
    seconds: float = 0.0
    exec_seconds: float = 0.0  # notebook execution, clean checks excluded
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
