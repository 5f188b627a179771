"""A bug in a check is the course's error: reported as such, never recorded against the learner.

The exercises here are fakes registered for the test. Tracebacks decide whose error it is, so
the fake check is compiled under a file name in the course package (where checks live) and the
learner's code under a notebook cell's file name (as ipykernel names cells).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import course
from course import _progress
from course._errors import CheckError, InternalCheckError, issues_url
from course.checks import _registry
from course.checks._expect import attempted, expect
from course.checks._registry import Question

FAKE = "m00.ex99"
REPO = Path(__file__).resolve().parents[2]


CHECKS = Path(course.__file__).resolve().parent / "checks" / "m00_fake.py"
CELL = "/tmp/ipykernel_4242/2519.py"


def _define(source: str, filename: str) -> Callable[..., Any]:
    scope: dict[str, Any] = {"json": json, "expect": expect, "attempted": attempted}
    exec(compile(source, filename, "exec"), scope)
    return next(v for k, v in scope.items() if k.startswith("f_"))


def check_code(source: str) -> Callable[..., str]:
    """A check function, as if written in course/checks/m00_*.py; it must be named f_..."""
    return _define(source, str(CHECKS))


def learner(source: str) -> Callable[..., Any]:
    """A function the learner defined in a notebook cell; it must be named f_..."""
    return _define(source, CELL)


@pytest.fixture
def fake(course_home: Path) -> Iterator[Callable[[Callable[..., str]], None]]:
    """Register a check under m00.ex99 for one test, and remove it afterwards."""
    _registry.items("m00")  # load the real m00 checks first, so the fake is not overwritten

    def register(run: Callable[..., str]) -> None:
        _registry.exercise(FAKE, "A fake exercise", hints=("none",))(run)

    yield register
    _registry._ITEMS.pop(FAKE, None)
    _registry._ITEMS.pop("m00.q99", None)


def status() -> str | None:
    return _progress.load().get(FAKE, {}).get("status")


BUGGY = check_code("def f_check(answer):\n    return {'expected': 1}['expectd']  # a typo\n")
FINE = check_code("def f_check(answer):\n    return 'fine'\n")
CALLS = check_code("def f_check(fn):\n    return str(fn(2))\n")


def test_a_bug_in_the_check_is_reported_as_the_courses(fake: Any) -> None:
    fake(BUGGY)
    with pytest.raises(InternalCheckError) as excinfo:
        course.check(FAKE, answer=1)
    message = str(excinfo.value)
    assert not isinstance(excinfo.value, AssertionError)  # never read as "incorrect"
    assert "\n" not in message
    assert "the check itself failed (KeyError: 'expectd')" in message
    assert "not in your answer" in message and issues_url() in message
    assert status() is None  # nothing recorded: progress still says "not run"
    row = next(r for r in _progress.rows("m00") if r["item"] == FAKE)
    assert row["status"] == "not run"


def test_a_bug_keeps_the_previous_status(fake: Any) -> None:
    fake(FINE)
    course.check(FAKE, answer=1)
    assert status() == "correct"
    fake(BUGGY)
    with pytest.raises(InternalCheckError):
        course.check(FAKE, answer=1)
    assert status() == "correct"
    assert _progress.load()[FAKE]["attempts"] == 1


def test_a_bug_after_the_learners_function_returned_is_still_the_courses(fake: Any) -> None:
    # The learner's function is done when the check divides by zero: the division is the check's.
    fake(check_code("def f_check(fn):\n    return str(fn(3) / 0)\n"))
    with pytest.raises(InternalCheckError, match="ZeroDivisionError"):
        course.check(FAKE, fn=learner("def f_double(x):\n    return 2 * x\n"))
    assert status() is None


def test_the_learners_function_raising_is_their_error(fake: Any) -> None:
    fake(CALLS)
    broken = learner("def f_double(x):\n    return x['value'] * 2\n")
    with pytest.raises(CheckError, match="checking your answer raised TypeError") as excinfo:
        course.check(FAKE, fn=broken)
    assert not isinstance(excinfo.value, InternalCheckError)
    assert status() == "incorrect"


def test_a_library_raising_inside_the_learners_function_is_their_error(fake: Any) -> None:
    fake(check_code("def f_check(fn):\n    return str(fn('{not json'))\n"))
    parse = learner("def f_parse(text):\n    return json.loads(text)\n")
    with pytest.raises(CheckError, match="raised JSONDecodeError"):
        course.check(FAKE, fn=parse)
    assert status() == "incorrect"


def test_a_learners_object_raising_is_their_error(fake: Any) -> None:
    # Checks call methods of what they are given (model.predict, ...): those are the learner's.
    fake(check_code("def f_check(model):\n    return str(model.f_predict([1]))\n"))
    source = "class Model:\n    def f_predict(self, rows):\n        return rows[3]\n"
    scope: dict[str, Any] = {}
    exec(compile(source, CELL, "exec"), scope)
    with pytest.raises(CheckError, match="raised IndexError"):
        course.check(FAKE, model=scope["Model"]())
    assert status() == "incorrect"


def test_a_library_refusing_the_learners_value_is_their_error(fake: Any) -> None:
    # The check hands the learner's value to a library: an error there is about the value.
    fake(check_code("def f_check(text):\n    return str(len(json.loads(text)))\n"))
    with pytest.raises(CheckError, match="raised JSONDecodeError"):
        course.check(FAKE, text="{'single': 'quotes'}")
    assert status() == "incorrect"


def test_check_errors_and_stubs_are_unchanged(fake: Any) -> None:
    fake(
        check_code(
            "def f_check(answer):\n"
            "    attempted(answer, 'answer')\n"
            "    expect(answer == 2, 'answer should be 2')\n"
            "    return 'two'\n"
        )
    )
    with pytest.raises(course.NotAttempted):
        course.check(FAKE, answer=None)
    assert status() == "not attempted"
    with pytest.raises(CheckError, match="answer should be 2"):
        course.check(FAKE, answer=3)
    assert status() == "incorrect"
    course.check(FAKE, answer=2)
    assert status() == "correct"


def test_a_broken_quiz_question_is_the_courses_error(fake: Any) -> None:
    broken = Question("m00.q99", "choice", "0" * 20, "a broken question", choices=None)  # type: ignore[arg-type]
    _registry.question(broken)
    with pytest.raises(InternalCheckError, match="m00.q99: the check itself failed"):
        course.quiz.check("m00.q99", "a")
    assert "m00.q99" not in _progress.load()


def test_the_issue_tracker_is_the_projects() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    repository = config["tool"]["course"]["colab"]["repository"]
    assert config["project"]["urls"]["Issues"] == f"https://{repository}/issues"
    assert issues_url() == config["project"]["urls"]["Issues"]


def test_a_notebook_shows_one_labelled_line() -> None:
    from course import _display

    shown = []

    class Shell:
        def _showtraceback(self, etype, value, lines):
            shown.append(lines)

    for exc, label in (
        (InternalCheckError("m00.ex1: the check itself failed"), "Course bug:"),
        (CheckError("m00.ex1: wrong"), "Incorrect:"),
    ):
        _display._short(Shell(), type(exc), exc, None)
        assert len(shown[-1]) == 1 and label in shown[-1][0]
