"""Instructor side: release student notebooks and autograde submissions with nbgrader."""

from __future__ import annotations

__all__ = ["release", "grade"]


def release(*args, **kwargs):  # type: ignore[no-untyped-def]
    from .release import release as _release

    return _release(*args, **kwargs)


def grade(*args, **kwargs):  # type: ignore[no-untyped-def]
    from .grade import grade as _grade

    return _grade(*args, **kwargs)
