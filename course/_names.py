"""The names the course gives a learner's MLflow objects. They live apart from `course._setup`
(the notebook's first cell) so that the checks can name an experiment without importing it."""

from __future__ import annotations

import os
import re

from ._errors import CourseError

STUDENT_ENV = "COURSE_STUDENT_ID"


def student() -> str:
    """COURSE_STUDENT_ID, checked: it becomes part of MLflow names on a shared server."""
    student = os.environ.get(STUDENT_ENV, "").strip()
    if student and not re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", student):
        raise CourseError(f"{STUDENT_ENV}={student!r}: use letters, digits, '.', '_', '-' or '@'")
    return student


def experiment_name(module_id: str) -> str:
    """The module's MLflow experiment, namespaced by COURSE_STUDENT_ID on a shared server."""
    who = student()
    return f"{who + '/' if who else ''}shopflow-{module_id}"


def model_name() -> str:
    """The registered model the course promotes and serves, namespaced like the experiments
    (registered model names cannot hold '/')."""
    who = student()
    return f"{who + '.' if who else ''}shopflow-conversion"
