"""Checks for m02 Experiment tracking with MLflow."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .. import data
from .._errors import CheckError
from .._names import experiment_name
from . import _data_version, _mlflow, _values
from ._expect import attempted, close, expect
from ._registry import Question, exercise, question

METRIC = "val_roc_auc"
SWEEP_C = (0.001, 0.01, 0.1, 1.0)


def _reference_auc(features: list[str], c: float) -> float:
    """ROC AUC of a scaled logistic regression on the course split: the ground truth for ex1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train, valid = data.split()
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
    reference.fit(train[features], train[data.TARGET])
    return float(roc_auc_score(valid[data.TARGET], reference.predict_proba(valid[features])[:, 1]))


def _float_param(run: Any, key: str) -> float:
    raw = _mlflow.params(run, key)[key]
    return _values.as_float(raw, f"param {key!r} = {raw!r} is not a number")


@exercise(
    "m02.ex1",
    "A run with params, a metric and an artifact",
    hints=(
        "Everything logged inside `with mlflow.start_run(run_name='baseline') as run:` belongs "
        "to that run.",
        "Params: `mlflow.log_params({'model': 'logreg', 'C': 1.0, 'data_version': "
        "DATA_VERSION})`. Metric: "
        "`mlflow.log_metric('val_roc_auc', auc)` with the AUC on the validation rows. "
        "Artifact: `mlflow.log_dict({'features': FEATURES}, 'features.json')`.",
        "Compute the AUC with `roc_auc_score(valid[data.TARGET], model.predict_proba(valid[FEATURES])[:, 1])`.",
    ),
)
def first_run(run_id: Any) -> str:
    run = _mlflow.get_run(run_id)
    _mlflow.in_module_experiment(run, "m02")
    _mlflow.finished(run)
    expect(
        run.info.run_name == "baseline", f"the run is named {run.info.run_name!r}, not 'baseline'"
    )
    c = _float_param(run, "C")
    _mlflow.params(run, "model")
    _data_version.training(run.data.params.get("data_version"), "param data_version")
    auc = _mlflow.metric(run, METRIC)
    expect(0.5 < auc <= 1, f"{METRIC} = {auc:.3f} is not a ROC AUC of a useful model (0.5 to 1)")
    expect(
        "features.json" in _mlflow.artifact_paths(run_id), "the run has no artifact 'features.json'"
    )
    from mlflow.artifacts import load_dict

    logged = load_dict(f"runs:/{run_id}/features.json")
    features = logged.get("features") if isinstance(logged, dict) else None
    expect(
        isinstance(features, list) and features,
        "features.json should hold {'features': [...column names...]}",
    )
    expect(data.TARGET not in features, "the label is among the features: that is leakage")
    unknown = [f for f in features if f not in data.NUMERIC_FEATURES]
    expect(not unknown, f"features.json lists columns that are not numeric features: {unknown}")
    reference = _reference_auc(features, c)
    expect(
        close(auc, reference, 0.01),
        f"{METRIC} = {auc:.4f} does not match a logistic regression (C={c}) on those features "
        "scored on the validation rows; did you score the training rows, or log accuracy?",
    )
    return f"run 'baseline' logged C={c}, the data version, {METRIC}={auc:.3f} and features.json"


def _labels(predictions: Any) -> bool:
    """0/1 answers in an integer array: what a classifier's `predict` serves."""
    import numpy as np

    values = np.asarray(predictions)
    return values.dtype.kind in "iub" and set(np.unique(values)) <= {0, 1}


def _describe(schema: Any) -> str:
    if schema.is_tensor_spec():
        spec = schema.inputs[0]
        article = "an" if str(spec.type)[0] in "aeiou" else "a"
        return f"{article} {spec.type} array of shape {tuple(spec.shape)}"
    return "columns " + ", ".join(f"{c.name}: {c.type}" for c in schema.inputs)


def output_mismatch(signature: Any, rows: Any, predictions: Any) -> str | None:
    """Why the signature's output is not what the model serves for ``rows``; None when it is.

    A signature is a promise to every caller: a server checks inputs against it, and clients
    read the output part to know what comes back.
    """
    from mlflow.models import infer_signature

    from .._quiet import quiet

    with quiet():
        served = infer_signature(rows, predictions).outputs
    promised = signature.outputs
    if promised is not None and served is not None and promised.to_dict() == served.to_dict():
        return None
    fix = (
        "log it with pyfunc_predict_fn='predict_proba' so that it serves probabilities"
        if _labels(predictions)
        else "infer the signature from the very output it serves, model.predict_proba(X)"
    )
    said = _describe(promised) if promised is not None else "nothing"
    return (
        f"the signature says the model returns {said}, but loaded back, its predict returns "
        f"{_describe(served)}: {fix}"
    )


@exercise(
    "m02.ex2",
    "Log a model with its signature and an input example",
    hints=(
        "`mlflow.sklearn.log_model(model, name='model', signature=..., input_example=..., "
        "pyfunc_predict_fn='predict_proba', pip_requirements=stack.pip_requirements)` returns a "
        "ModelInfo: assign it to model_info.",
        "`infer_signature(X_valid, model.predict_proba(X_valid))` describes the inputs (the "
        "feature columns only, not the label) and the output: the two columns the model serves.",
        "Log the model and `val_roc_auc` in the same run, and compute the AUC with the very model "
        "you log.",
    ),
)
def log_model(model_info: Any) -> str:
    attempted(model_info, "model_info")
    if not hasattr(model_info, "model_uri") or not hasattr(model_info, "run_id"):
        raise CheckError(
            f"`model_info` should be what mlflow.sklearn.log_model returns, not a {type(model_info).__name__}"
        )
    run = _mlflow.get_run(model_info.run_id, "model_info.run_id")
    _mlflow.in_module_experiment(run, "m02")
    _mlflow.finished(run)
    signature = model_info.signature
    expect(signature is not None, "the model has no signature: pass signature=infer_signature(...)")
    inputs = signature.inputs.input_names()
    expect(data.TARGET not in inputs, f"the signature's inputs include the label {data.TARGET!r}")
    unknown = [c for c in inputs if c not in data.FEATURES]
    expect(not unknown, f"the signature has inputs that are not ShopFlow features: {unknown}")
    expect(
        signature.outputs is not None, "the signature has no outputs: pass the model's predictions"
    )
    expect(
        model_info.saved_input_example_info is not None,
        "the model has no input example: pass input_example=X_valid.head(3)",
    )
    auc = _mlflow.metric(run, METRIC)
    import mlflow
    from sklearn.metrics import roc_auc_score

    from .._quiet import quiet

    _, valid = data.split()
    with quiet():
        served = mlflow.pyfunc.load_model(model_info.model_uri).predict(valid[inputs].head(20))
    mismatch = output_mismatch(signature, valid[inputs].head(20), served)
    expect(mismatch is None, mismatch or "")
    expect(
        not _labels(served),
        "loaded back, the model serves 0/1 labels: a service cannot rank customers or choose "
        "its own threshold with those; log it with pyfunc_predict_fn='predict_proba'",
    )
    model = mlflow.sklearn.load_model(model_info.model_uri)
    scores = model.predict_proba(valid[inputs])[:, 1]
    actual = float(roc_auc_score(valid[data.TARGET], scores))
    expect(
        close(auc, actual, 1e-6),
        f"the run's {METRIC} ({auc:.4f}) is not what the logged model scores on the validation "
        "rows; log the metric of this model, computed on valid",
    )
    return (
        f"{model_info.model_uri} serves the probabilities its signature promises and "
        f"reproduces {METRIC}={auc:.3f}"
    )


@exercise(
    "m02.ex3",
    "A sweep: one nested run per value of C",
    hints=(
        "Open the parent with `with mlflow.start_run(run_name='sweep') as parent:` and each trial "
        "inside it with `with mlflow.start_run(run_name=f'C={c}', nested=True):`.",
        "Each child logs param C and metric val_roc_auc; after the loop, the parent logs "
        "`best_val_roc_auc`, the largest of them.",
        "Collect the child AUCs in a list while looping, then `mlflow.log_metric('best_val_roc_auc', "
        "max(aucs))` still inside the parent's `with` block.",
    ),
)
def sweep(sweep_run_id: Any) -> str:
    parent = _mlflow.get_run(sweep_run_id, "sweep_run_id")
    _mlflow.in_module_experiment(parent, "m02")
    _mlflow.finished(parent)
    expect(
        "mlflow.parentRunId" not in parent.data.tags,
        "`sweep_run_id` is a child run; give the id of the parent run",
    )
    children = _mlflow.client().search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{sweep_run_id}'"
    )
    expect(
        len(children) >= len(SWEEP_C),
        f"the parent has {len(children)} nested runs, expected one per C in {list(SWEEP_C)}; "
        "start them with nested=True inside the parent's block",
    )
    aucs = {}
    for child in children:
        _mlflow.finished(child)
        aucs[_float_param(child, "C")] = _mlflow.metric(child, METRIC)
    missing = [c for c in SWEEP_C if not any(close(c, k, 1e-12) for k in aucs)]
    expect(not missing, f"no nested run for C = {missing}")
    best = _mlflow.metric(parent, "best_val_roc_auc")
    expect(
        close(best, max(aucs.values()), 1e-9),
        f"best_val_roc_auc = {best:.4f} is not the largest {METRIC} of the nested runs",
    )
    return f"{len(children)} nested runs; the best {METRIC} is {best:.4f}"


_FIXTURE = (  # (status, val_roc_auc or None): the right pick is the second run
    ("FINISHED", 0.70),
    ("FINISHED", 0.74),
    ("FAILED", 0.80),
    ("FINISHED", None),
    ("FINISHED", 0.72),
)


@contextlib.contextmanager
def _fixture_experiment() -> Iterator[tuple[str, str]]:
    """A small experiment with known runs (one failed, one without the metric): (name, best id).

    It exists only while the check runs: afterwards, pass or fail, it is deleted again, so the
    learner's MLflow UI never lists it (a deleted experiment is restored by the next check).
    """
    name = experiment_name("m02") + "-ex4-fixture"
    client = _mlflow.client()
    exp = client.get_experiment_by_name(name)
    if exp is not None and exp.lifecycle_stage == "deleted":
        client.restore_experiment(exp.experiment_id)
    if exp is None:
        client.create_experiment(name)
        exp = client.get_experiment_by_name(name)
    try:
        yield name, _fixture_runs(client, exp.experiment_id)
    finally:
        client.delete_experiment(exp.experiment_id)


def _fixture_runs(client: Any, experiment_id: str) -> str:
    """The fixture's runs, made once and reused; returns the id of the right pick."""
    runs = client.search_runs([experiment_id], filter_string="tags.fixture = 'v1'")
    if len(runs) != len(_FIXTURE):
        for old in runs:
            client.delete_run(old.info.run_id)
        for i, (status, auc) in enumerate(_FIXTURE):
            run = client.create_run(
                experiment_id, run_name=f"fixture-{i}", tags={"fixture": "v1", "i": str(i)}
            )
            if auc is not None:
                client.log_metric(run.info.run_id, METRIC, auc)
            client.set_terminated(run.info.run_id, status)
        runs = client.search_runs([experiment_id], filter_string="tags.fixture = 'v1'")
    return next(r.info.run_id for r in runs if r.data.tags.get("i") == "1")


def _best_score(experiment: str) -> float | None:
    """The highest metric among finished runs (ties are fine: any of them is a right pick)."""
    client = _mlflow.client()
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return None
    runs = client.search_runs([exp.experiment_id], filter_string="attributes.status = 'FINISHED'")
    scores = [r.data.metrics[METRIC] for r in runs if METRIC in r.data.metrics]
    return max(scores) if scores else None


@exercise(
    "m02.ex4",
    "Search runs and pick the best",
    hints=(
        "`mlflow.search_runs(experiment_names=[experiment_name], filter_string=..., order_by=[...])` "
        "returns a DataFrame with one row per run and a `run_id` column.",
        "Keep only finished runs (`attributes.status = 'FINISHED'`) that have the metric "
        f"(`metrics.{METRIC} > 0`), order by `metrics.{{metric}} DESC`, take the first row.",
        "Return the id string: `runs.iloc[0]['run_id']`, not the row.",
    ),
)
def best_run(best_run: Any) -> str:
    attempted(best_run, "best_run")
    expect(callable(best_run), f"`best_run` should be a function, not a {type(best_run).__name__}")
    with _fixture_experiment() as (name, expected):
        got = best_run(name, METRIC)
    if hasattr(got, "run_id") or hasattr(got, "iloc"):
        raise CheckError("best_run returned a row or a frame; return the run id string")
    expect(
        isinstance(got, str), f"best_run returned a {type(got).__name__}; return the run id string"
    )
    if got != expected:
        picked = _mlflow.get_run(got, "the returned id")
        status, value = picked.info.status, picked.data.metrics.get(METRIC)
        if status != "FINISHED":
            raise CheckError(f"best_run picked a {status} run: keep finished runs only")
        if value is not None and value < 0.74:
            raise CheckError("best_run picked a lower score: order by the metric descending")
        raise CheckError("best_run did not pick the finished run with the highest metric")
    own = experiment_name("m02")
    top = _best_score(own)
    if top is not None:
        picked = _mlflow.get_run(best_run(own, METRIC), "the id best_run returns")
        expect(
            picked.info.status == "FINISHED"
            and close(picked.data.metrics.get(METRIC, -1), top, 1e-12),
            "best_run picks the wrong run in your own m02 experiment",
        )
    return "best_run ignores failed and unscored runs and picks the highest score"


@exercise(
    "m02.ex5",
    "Autologging",
    hints=(
        "Call `mlflow.sklearn.autolog(log_models=False)` before fitting; MLflow then logs the "
        "estimator's params and training metrics for you.",
        "Fit `RandomForestClassifier(n_estimators=50, max_depth=6, random_state=0)` inside "
        "`with mlflow.start_run(run_name='autolog-forest') as run:`.",
        "Turn it off afterwards with `mlflow.sklearn.autolog(disable=True)` so later cells log "
        "only what you ask for.",
    ),
)
def autolog(autolog_run_id: Any) -> str:
    run = _mlflow.get_run(autolog_run_id, "autolog_run_id")
    _mlflow.in_module_experiment(run, "m02")
    _mlflow.finished(run)
    expect(
        run.info.run_name == "autolog-forest",
        f"the run is named {run.info.run_name!r}, not 'autolog-forest'",
    )
    estimator = run.data.tags.get("estimator_name")
    expect(
        estimator is not None and len(run.data.params) >= 10,
        "this run was not autologged (no estimator_name tag, few params): call "
        "mlflow.sklearn.autolog() before fit",
    )
    expect(
        estimator == "RandomForestClassifier",
        f"the autologged estimator is {estimator}, not a random forest",
    )
    p = _mlflow.params(run, "n_estimators", "max_depth")
    expect(
        p == {"n_estimators": "50", "max_depth": "6"},
        f"the forest's params are {p}, not 50 trees of depth 6",
    )
    _mlflow.metric(run, "training_roc_auc")
    return f"autolog recorded {len(run.data.params)} params and {len(run.data.metrics)} metrics"


question(
    Question(
        "m02.q1",
        "choice",
        "1888a9528b16c5813d90",
        "Reporting the best run of a sweep",
        ("a", "b", "c", "d"),
    )
)
question(
    Question(
        "m02.q2",
        "choice",
        "d2bb5890e6dcaae7add7",
        "Best run: what to do with a crashed run",
        ("a", "b", "c", "d"),
    )
)
question(
    Question(
        "m02.q3",
        "choice",
        "690621ec4b687668d6af",
        "Why pass pip_requirements to log_model",
        ("a", "b", "c"),
    )
)
question(
    Question(
        "m02.q4",
        "choice",
        "12c5d6cae627363903f8",
        "What log_model creates in MLflow 3",
        ("a", "b", "c"),
    )
)
