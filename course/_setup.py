"""course.setup(): the first cell of every notebook."""

from __future__ import annotations

import os

from . import _catalog, _display, _mlflow_ui
from ._errors import CourseError
from ._names import experiment_name, model_name
from ._quiet import apply_offline_env, quiet, silence_libraries, warnings_to_stdout
from .stack import Stack, artifacts_dir, connect

# MLflow's embedded store puts artifacts of new experiments in ./mlruns of the current folder;
# this variable (read when the store is created) moves them under the state dir instead.
_ARTIFACT_ROOT_ENV = "_MLFLOW_SERVER_ARTIFACT_ROOT"


def _ensure_experiment(name: str) -> str:
    """The experiment's id, created on first use."""
    import mlflow

    experiment = mlflow.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment else mlflow.create_experiment(name)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def setup(module_id: str, *, verbose: bool = True) -> Stack:
    module = _catalog.get(module_id)
    apply_offline_env()
    stack = connect()
    # DVC's own index of repositories: in this state dir, not in a shared /var/tmp/dvc.
    os.environ["DVC_SITE_CACHE_DIR"] = str(stack.home / "dvc-site-cache")
    if stack.mode == "embedded":
        os.environ[_ARTIFACT_ROOT_ENV] = artifacts_dir(stack.home).as_uri()
    else:
        os.environ.pop(_ARTIFACT_ROOT_ENV, None)
    with quiet():
        import mlflow

        _mlflow_ui.install()
        mlflow.set_tracking_uri(stack.tracking_uri)
        stack.module_id = module.id
        stack.experiment_name = experiment_name(module.id)
        stack.model_name = model_name()
        try:
            experiment_id = _ensure_experiment(stack.experiment_name)
        except Exception as exc:  # an unreachable server or a broken store: say which, in one line
            raise CourseError(
                f"cannot reach MLflow at {stack.tracking_uri}: {str(exc).splitlines()[0][:200]}; "
                "check `course stack status`"
            ) from None
    silence_libraries()  # after quiet(), which restores the warning filters it found
    warnings_to_stdout()
    _display.install()
    if verbose:
        runs = (
            f" ({_mlflow_ui.experiment_url(stack.ui_url, experiment_id)})" if stack.ui_url else ""
        )
        print(
            f"✓ {module.id} {module.title} · {stack.describe()} · "
            f"experiment {stack.experiment_name}{runs}"
        )
    return stack
