"""Reading MLflow state for checks: runs, their experiment, metrics, logged models."""

from __future__ import annotations

from typing import Any

from .._errors import CheckError
from ._expect import attempted, expect


def client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


def get_run(run_id: Any, name: str = "run_id") -> Any:
    """The run behind ``run_id``; one-line errors for None, a wrong type or an unknown id."""
    attempted(run_id, name)
    if hasattr(run_id, "info") and hasattr(run_id.info, "run_id"):
        raise CheckError(
            f"`{name}` should be the id string: use run.info.run_id, not the Run object"
        )
    if not isinstance(run_id, str):
        raise CheckError(f"`{name}` should be a run id string, not a {type(run_id).__name__}")
    from mlflow.exceptions import MlflowException

    try:
        return client().get_run(run_id)
    except MlflowException:
        raise CheckError(
            f"no run {run_id!r} in this notebook's tracking store; did you copy an id from "
            "another machine or reset the stack?"
        ) from None


def in_module_experiment(run: Any, module_id: str) -> None:
    from .._setup import experiment_name

    name = experiment_name(module_id)
    exp = client().get_experiment(run.info.experiment_id)
    expect(
        exp.name == name,
        f"the run is in experiment {exp.name!r}, not in this module's {name!r}; "
        "keep the experiment course.setup() chose",
    )


def finished(run: Any) -> None:
    expect(
        run.info.status == "FINISHED",
        f"the run's status is {run.info.status}: end it (use `with mlflow.start_run():`)",
    )


def metric(run: Any, key: str) -> float:
    value = run.data.metrics.get(key)
    if value is None:
        have = ", ".join(sorted(run.data.metrics)) or "none"
        raise CheckError(f"the run has no metric {key!r} (it has: {have})")
    return float(value)


def params(run: Any, *keys: str) -> dict[str, str]:
    missing = [k for k in keys if k not in run.data.params]
    have = ", ".join(sorted(run.data.params)) or "none"
    expect(not missing, f"the run lacks param(s) {', '.join(missing)} (it has: {have})")
    return {k: run.data.params[k] for k in keys}


def artifact_paths(run_id: str) -> list[str]:
    return [f.path for f in client().list_artifacts(run_id)]
