"""Reading MLflow state for checks (runs, their experiment, metrics, the registry), and the
scratch experiments, runs and models checks create and always delete again."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

from .._errors import CheckError, NotAttempted
from .._names import experiment_name
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


def module_experiment(module_id: str) -> Any:
    """The module's experiment in this notebook's store, or None before its first run."""
    return client().get_experiment_by_name(experiment_name(module_id))


def in_module_experiment(run: Any, module_id: str) -> None:
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


# --- the model registry --------------------------------------------------------------------


def model_name(name: Any, first: str = "") -> str:
    """The name of a registered model that exists. ``first`` names the exercise that creates
    it: its absence then means the learner has not got this far ("not attempted")."""
    attempted(name, "model_name")
    if not isinstance(name, str) or not name:
        raise CheckError(f"`model_name` should be the registered model's name, not {name!r}")
    if not model_exists(name):
        message = f"no registered model {name!r} in this notebook's registry yet"
        if first:
            raise NotAttempted(f"{message}: {first} registers it")
        raise CheckError(f"{message}: register a version first")
    return name


def model_exists(name: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        client().get_registered_model(name)
    except MlflowException:
        return False
    return True


def model_version(name: str, version: Any, arg: str = "version") -> Any:
    """The registry's ModelVersion for a ModelVersion object, an int or a digit string."""
    attempted(version, arg)
    number = getattr(version, "version", version)
    if getattr(version, "name", name) != name:
        raise CheckError(f"`{arg}` is a version of {version.name!r}, not of {name!r}")
    if isinstance(number, bool) or not str(number).isdigit():
        raise CheckError(
            f"`{arg}` should be what mlflow.register_model returns (a ModelVersion) or a version "
            f"number, not {type(version).__name__} {version!r}"
        )
    from mlflow.exceptions import MlflowException

    try:
        return client().get_model_version(name, str(number))
    except MlflowException:
        raise CheckError(f"{name!r} has no version {number}; was it deleted?") from None


def alias_version(name: str, alias: str, needed_by: str = "") -> Any:
    """The version an alias points at, or a one-line error that says which exercise sets it."""
    aliases = client().get_registered_model(name).aliases
    if alias not in aliases:
        have = ", ".join(f"@{a} -> v{v}" for a, v in sorted(aliases.items())) or "none"
        raise CheckError(f"{name!r} has no alias {alias!r} (aliases: {have}){needed_by}")
    return client().get_model_version(name, str(aliases[alias]))


def versions(name: str) -> list[Any]:
    found = client().search_model_versions(f"name = '{name}'")
    return sorted(found, key=lambda mv: int(mv.version))


# --- scratch objects: what a check creates to call a learner's function on, deleted after --------


def scratch_name() -> str:
    """A fresh name for a scratch experiment or registered model."""
    return f"course-check-{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def scratch_model(
    sources: list[str], aliases: dict[str, int], run_id: str | None = None
) -> Iterator[str]:
    """A throw-away registered model to call a learner's function on; always deleted after, so
    the learner's registry shows only their own models."""
    name = scratch_name()
    client().create_registered_model(name)
    try:
        for source in sources:
            # A tracking server wants the logged model's id next to a models:/m-... source.
            model_id = source.rsplit("/", 1)[-1] if source.startswith("models:/m-") else None
            client().create_model_version(name, source=source, run_id=run_id, model_id=model_id)
        for alias, version in aliases.items():
            client().set_registered_model_alias(name, alias, str(version))
        yield name
    finally:
        client().delete_registered_model(name)


@contextlib.contextmanager
def dropped_model() -> Iterator[str]:
    """A scratch name for a registered model the learner's code creates; deleted after, if it
    was created."""
    from mlflow.exceptions import MlflowException

    name = scratch_name()
    try:
        yield name
    finally:
        with contextlib.suppress(MlflowException):
            client().delete_registered_model(name)


@contextlib.contextmanager
def scratch_run() -> Iterator[Any]:
    """A run in the active experiment, deleted afterwards with what it logged."""
    import mlflow

    run = mlflow.start_run(run_name="course-check", tags={"pipeline": "course-check"})
    try:
        yield run
    finally:
        mlflow.end_run()
        client().delete_run(run.info.run_id)


@contextlib.contextmanager
def scratch_experiment(active_for: str = "") -> Iterator[Any]:
    """A throw-away experiment, deleted after. With ``active_for`` (a module id) it is the active
    experiment meanwhile; runs left open are failed, then the module's experiment is active again."""
    import mlflow

    experiment_id = client().create_experiment(scratch_name())
    if active_for:
        mlflow.set_experiment(experiment_id=experiment_id)
    try:
        yield client().get_experiment(experiment_id)
    finally:
        if active_for:
            while mlflow.active_run() is not None:
                mlflow.end_run("FAILED")
            mlflow.set_experiment(experiment_name(active_for))
        client().delete_experiment(experiment_id)


def delete_logged_model(model_id: str) -> None:
    """Remove a logged model a scratch run left behind (a no-op where MLflow cannot)."""
    from mlflow.exceptions import MlflowException

    with contextlib.suppress(MlflowException, AttributeError):
        client().delete_logged_model(model_id)
