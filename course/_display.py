"""Failed checks show as one red line in a notebook, not as a traceback into the package."""

from __future__ import annotations

from typing import Any

from ._errors import CheckError, InternalCheckError

_LABELS = {"NotAttempted": "Not attempted", "InternalCheckError": "Course bug",
           "CheckError": "Incorrect"}  # fmt: skip


def label_of(ename: str) -> str:
    """The word a learner reads before a failed check's message (the grader's feedback too)."""
    return _LABELS.get(ename, ename)


def _short(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> None:
    label = _LABELS.get(etype.__name__, "Incorrect")
    # Shown as a real error output: nbgrader scores the cell 0, the learner reads one line.
    shell._showtraceback(etype, value, [f"\x1b[31m{label}:\x1b[0m {value}"])


def install() -> None:
    """Register the short display in the running IPython kernel (no-op outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((CheckError, InternalCheckError), _short)
