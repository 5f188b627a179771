"""Reading learners' answers as numbers and booleans. One rule for every check: a bool is not a
number, numpy scalars (and 0-d arrays) are, and numpy's bools count as True or False."""

from __future__ import annotations

import math
import numbers
from typing import Any

from .._errors import CheckError


def show(value: Any) -> str:
    """A wrong answer in a few words for a message: its type and the start of its repr."""
    text = repr(value).splitlines()[0] if repr(value) else ""
    return f"a {type(value).__name__} ({text[:60]})"


def is_bool(value: Any) -> bool:
    import numpy as np

    return isinstance(value, (bool, np.bool_))


def number(value: Any, what: str, *, verb: str = "be", finite: bool = False) -> float:
    """``value`` as a float if it is a real number; otherwise "<what> should <verb> a number"."""
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()  # a 0-d numpy array, as some statsmodels functions return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise CheckError(f"{what} should {verb} a number, not {show(value)}")
    if finite and not math.isfinite(float(value)):
        raise CheckError(f"{what} is {value}: expected a finite number")
    return float(value)


def as_float(value: Any, message: str) -> float:
    """float(value), for values that may be text (MLflow params and tags are strings);
    ``message`` when it does not read as a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CheckError(message) from None
