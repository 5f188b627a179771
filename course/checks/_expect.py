"""Small helpers the check modules share: say what is wrong in one line."""

from __future__ import annotations

from typing import Any

from .._errors import CheckError, NotAttempted


def attempted(value: Any, name: str) -> Any:
    """The stub leaves answers at None (or ...): report "not attempted", not a type error."""
    if value is None or value is Ellipsis:
        raise NotAttempted(f"`{name}` is still None: write the code above and run that cell first")
    return value


def expect(condition: Any, message: str) -> None:
    if not condition:
        raise CheckError(message)


def a_function(fn: Any, name: str) -> Any:
    """Exercises that ask for a function get it called by the check; say so if it is not one."""
    attempted(fn, name)
    expect(callable(fn), f"`{name}` should be a function, not a {type(fn).__name__}")
    return fn


def of_type(value: Any, types: type | tuple[type, ...], name: str, example: str) -> Any:
    """Type check with a one-line message; numpy scalars count as numbers (numbers.Real)."""
    attempted(value, name)
    if isinstance(value, bool) or not isinstance(value, types):
        raise CheckError(f"`{name}` should be {example}, not a {type(value).__name__}")
    return value


def close(value: float, target: float, tol: float) -> bool:
    return abs(float(value) - float(target)) <= tol
