"""`course.runs`: the MLflow UI's runs table, inside the notebook (Colab has no localhost UI)."""

from __future__ import annotations

from typing import Any


def runs(module_id: str | None = None, max_results: int = 50) -> Any:
    """This module's runs, newest first: name, status, params and metrics as columns."""
    import mlflow

    from ._names import experiment_name

    name = experiment_name(module_id) if module_id else None
    experiment = mlflow.get_experiment_by_name(name) if name else None
    if name and experiment is None:
        import pandas as pd

        return pd.DataFrame()
    frame = mlflow.search_runs(
        experiment_ids=[experiment.experiment_id] if experiment else None,
        max_results=max_results,
        order_by=["attributes.start_time DESC"],
    )
    keep = ["tags.mlflow.runName", "status", "start_time"]
    keep += sorted(c for c in frame.columns if c.startswith(("params.", "metrics.")))
    frame = frame[[c for c in keep if c in frame.columns]]
    frame = frame.rename(columns={"tags.mlflow.runName": "run"})
    return frame.rename(columns=lambda c: c.split(".", 1)[1] if "." in c else c)
