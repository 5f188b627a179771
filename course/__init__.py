"""MLOps in Practice: the package behind the course notebooks.

A notebook starts with ``stack = course.setup("m02")`` and checks each exercise with
``course.check("m02.ex1", run_id=run_id)``. ``import course`` stays light (no pandas, MLflow,
Feast or Evidently) so that the command line and the first cell answer at once; heavy imports
happen inside the calls that need them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._errors import CheckError, CourseError, NotAttempted
from ._plugins import skip_feast_header_provider as _skip_feast_header_provider

if TYPE_CHECKING:
    from .stack import Stack

__all__ = [
    "setup",
    "check",
    "hint",
    "progress",
    "quiet",
    "data",
    "handoff",
    "quiz",
    "stack",
    "serve",
    "runs",
    "turn_in",
    "Stack",
    "CheckError",
    "CourseError",
    "NotAttempted",
]
__version__ = "0.1.0"
_skip_feast_header_provider()


def setup(module_id: str, *, verbose: bool = True) -> Stack:
    """Connect this notebook to the local MLOps stack; the first cell of every module."""
    from ._setup import setup as _setup

    return _setup(module_id, verbose=verbose)


def check(exercise_id: str, **answers: Any) -> None:
    """Check one exercise: prints one line when correct, raises CheckError with what to fix."""
    from .checks import check as _check

    _check(exercise_id, **answers)


def hint(exercise_id: str, level: int = 1) -> None:
    """Print a hint; higher levels say more."""
    from .checks import hint as _hint

    _hint(exercise_id, level)


def progress(module_id: str) -> Any:
    """A table of which exercises and quiz questions of a module pass (as recorded locally)."""
    from ._progress import table

    return table(module_id)


def quiet() -> Any:
    """A context manager that keeps library warnings and log lines off stderr."""
    from ._quiet import quiet as _quiet

    return _quiet()


def serve(model_uri: str, port: int | None = None) -> Any:
    """Serve a registered model over REST on 127.0.0.1; returns a Server to call and stop."""
    from .serving import serve as _serve

    return _serve(model_uri, port=port)


def runs(module_id: str | None = None) -> Any:
    """A module's MLflow runs as a table: the UI's view, where no UI can be opened (Colab)."""
    from ._runs import runs as _runs

    return _runs(module_id)


def turn_in(module_id: str, student_id: str | None = None, notebook: Any = None) -> Any:
    """Package this notebook (outputs removed) as <student>_<module>.ipynb for upload."""
    from ._turn_in import turn_in as _turn_in

    return _turn_in(module_id, student_id, notebook)


def __getattr__(name: str) -> Any:  # lazy submodules keep `import course` fast
    if name in ("data", "handoff", "quiz", "stack", "checks"):
        return import_module(f".{name}", __name__)
    if name == "Stack":
        return import_module(".stack", __name__).Stack
    raise AttributeError(f"module 'course' has no attribute {name!r}")
