"""Assertions the check tests share: how a pass, a wrong answer and a stub must look."""

from __future__ import annotations

import mlflow
import pytest

import course


def assert_wrong(exercise_id: str, match: str, **answers) -> None:
    """A wrong answer is reported as incorrect, not as an untouched stub."""
    with pytest.raises(course.CheckError, match=match) as excinfo:
        course.check(exercise_id, **answers)
    assert not isinstance(excinfo.value, course.NotAttempted)


def assert_one_tick(capsys: pytest.CaptureFixture[str], prefix: str) -> None:
    """nbgrader scores a cell that writes to stderr as 0: a pass is one stdout line only."""
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"✓ {prefix}"), out
    assert err == ""


def scratch_experiment() -> str:
    """Another experiment than the module's (setup keeps its artifacts in the state dir)."""
    return mlflow.create_experiment("scratch")
