"""The registry of exercises and quiz questions, filled by the checks/mNN_*.py modules."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._catalog import get as get_module
from .._errors import CourseError


@dataclass(frozen=True)
class Exercise:
    id: str  # "m02.ex1"
    title: str
    run: Callable[..., str]  # returns the success line; raises CheckError / NotAttempted
    hints: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    id: str  # "m02.q1"
    kind: str  # "choice" | "number" | "list" | "text"
    digest: str  # salted hash of the normalised answer (see course.quiz)
    prompt: str  # a short reminder of what is asked, shown in progress tables
    choices: tuple[str, ...] = ()
    tolerance: float | None = None  # numbers: accepted distance from the answer
    hint: str = ""


Item = Exercise | Question
_ITEMS: dict[str, Item] = {}


def exercise(exercise_id: str, title: str, hints: tuple[str, ...]) -> Callable:
    """Register a check function under an exercise id."""

    def register(fn: Callable[..., str]) -> Callable[..., str]:
        _ITEMS[exercise_id] = Exercise(exercise_id, title, fn, hints)
        return fn

    return register


def question(q: Question) -> None:
    _ITEMS[q.id] = q


def _load(module_id: str) -> None:
    from .. import checks

    prefix = f"{module_id}_"
    for info in pkgutil.iter_modules(checks.__path__):
        if info.name.startswith(prefix):
            importlib.import_module(f"{checks.__name__}.{info.name}")


def items(module_id: str) -> list[Item]:
    """The module's exercises then questions, in order."""
    module = get_module(module_id)
    _load(module.id)
    found = [it for key, it in _ITEMS.items() if key.split(".")[0] == module.id]
    return sorted(found, key=lambda it: (isinstance(it, Question), _number(it.id)))


def _number(item_id: str) -> int:
    tail = item_id.split(".")[1]
    return int("".join(ch for ch in tail if ch.isdigit()) or 0)


def lookup(item_id: str) -> Item:
    if not isinstance(item_id, str) or "." not in item_id:
        raise CourseError(f"{item_id!r} is not an exercise id; ids look like 'm02.ex1' or 'm02.q1'")
    module_id = item_id.split(".")[0]
    module = get_module(module_id)
    _load(module.id)
    if item_id not in _ITEMS:
        known = ", ".join(it.id for it in items(module.id)) or "none yet"
        raise CourseError(f"unknown exercise {item_id!r}; {module.id} has: {known}")
    return _ITEMS[item_id]


def as_kwargs(fn: Callable, answers: dict[str, Any]) -> None:
    """Name a missing or unexpected argument in one line instead of a TypeError traceback."""
    import inspect

    params = inspect.signature(fn).parameters
    expected = [n for n in params if not n.startswith("_")]
    unknown = sorted(set(answers) - set(params))
    missing = [n for n, p in params.items() if p.default is p.empty and n not in answers]
    if unknown or missing:
        wanted = ", ".join(f"{n}=..." for n in expected)
        raise CourseError(
            f"this check takes {wanted}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
