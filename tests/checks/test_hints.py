"""Every exercise of every ready module has three hints: a nudge, the API, close to the answer."""

from __future__ import annotations

import pytest

from course import _catalog
from course.checks._registry import Exercise, items


@pytest.mark.parametrize("module", [m.id for m in _catalog.MODULES if m.ready])
def test_every_exercise_has_three_hints(course_home, module: str) -> None:
    exercises = [it for it in items(module) if isinstance(it, Exercise)]
    assert len(exercises) >= (2 if module == "m00" else 5)
    assert all(len(ex.hints) == 3 for ex in exercises)
