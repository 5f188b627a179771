"""Keeping library noise off stderr: nbgrader scores a graded cell that writes to stderr as 0."""

from __future__ import annotations

import contextlib
import getpass
import io
import logging
import os
import sys
import warnings
from collections.abc import Iterator

# Environment that keeps every tool offline and quiet; applied by setup() and by grading.
OFFLINE_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    # The MLflow server's AI gateway (LLM connections, playground): GenAI extras the course never
    # uses. (MLflow 3.17 has no setting for its UI assistant; the course's links open the
    # model-training view instead, see course/_mlflow_ui.py.)
    "MLFLOW_ENABLE_AI_GATEWAY": "false",
    "GIT_PYTHON_REFRESH": "quiet",
    "FEAST_USAGE": "False",
    # DVC: no usage analytics from the command line (the update check is off in each repo's
    # config, `core.check_update false`: the only place DVC reads it), no Studio notifications.
    "DVC_NO_ANALYTICS": "1",
    "DVC_STUDIO_OFFLINE": "true",
    "TQDM_DISABLE": "1",
    "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::FutureWarning",
}
NOISY_LOGGERS = ("mlflow", "alembic", "feast", "evidently", "urllib3", "git", "sqlalchemy", "dvc")
# Warnings from libraries, not from the learner's own code, are silenced in notebooks.
NOISY_MODULES = r"(mlflow|sklearn|feast|evidently|pydantic|sqlalchemy|alembic|pandas|numpy|starlette|google|pyarrow|skops|IPython|jupyter_client|ipykernel|typing_extensions)(\..*)?"


def apply_offline_env() -> None:
    """Set the offline/quiet variables unless the user set them already."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    _name_a_nameless_user()


def _name_a_nameless_user() -> None:
    """The grading sandbox runs as a uid with no passwd entry, so `getpass.getuser()` raises;
    DVC asks for the user name on every repository it opens. Name the uid (LOGNAME, the first
    variable getuser reads) where the system cannot."""
    try:
        getpass.getuser()
    except (KeyError, OSError):
        os.environ["LOGNAME"] = f"uid{os.getuid()}"


def silence_libraries() -> None:
    """Filter library warnings and lower library loggers for the whole session."""
    for category in (DeprecationWarning, FutureWarning, UserWarning, PendingDeprecationWarning):
        warnings.filterwarnings("ignore", category=category, module=NOISY_MODULES)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*[Ii]nteger column.*")
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def _show_on_stdout(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
    sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))


def warnings_to_stdout() -> None:
    """Warnings stay visible but go to stdout: nbgrader scores any stderr in a graded cell as a
    failure, and a correct answer must not lose its points to a deprecation notice."""
    warnings.showwarning = _show_on_stdout


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """No warnings, no log records below ERROR and nothing on stderr inside the block."""
    previous = logging.root.manager.disable
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(previous)
            sys.stderr.flush()
