"""The exceptions a learner or instructor sees: one line each, never a traceback to read."""

from __future__ import annotations


class CourseError(Exception):
    """An error with a one-line, actionable message (bad input, busy port, broken state)."""


class CheckError(AssertionError):
    """An exercise check failed; the message says what to fix."""


class NotAttempted(CheckError):
    """The exercise still holds its stub."""
