"""m02 checks, called as the experiment-tracking notebook calls them.

Checks that read MLflow get a real embedded store (`embedded`). Each store costs about a second
of sqlite migrations, so the plausible mistakes of an exercise share one store, and checks that
never reach MLflow (stubs, quiz, hints) get only a fresh state dir (`course_home`).
"""

from __future__ import annotations

import dvc.repo
import mlflow
import pandas as pd
import pytest
import yaml
from _assert import assert_one_tick, assert_wrong, scratch_experiment
from mlflow.models import infer_signature
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import course
from course import data, handoff

SWEEP_C = (0.001, 0.01, 0.1, 1.0)


def fit_logreg(train, features: list[str], c: float = 1.0):
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
    return model.fit(train[features], train[data.TARGET])


# --- m02.ex1 a first run -----------------------------------------------------------------


def log_baseline(
    run_name: str = "baseline",
    features: list[str] | None = None,
    scored: str = "valid",
    scorer: str = "roc_auc",
    artifact: bool = True,
    experiment_id: str | None = None,
    data_version: str | None = "",
) -> str:
    """The notebook's solution to m02.ex1; the keywords reproduce a learner's slips."""
    features = list(data.NUMERIC_FEATURES) if features is None else features
    train, valid = data.split()
    if data_version == "":
        data_version = handoff.data_version(course.setup("m02", verbose=False))
    rows = {"train": train, "valid": valid}[scored]
    with mlflow.start_run(run_name=run_name, experiment_id=experiment_id) as run:
        model = fit_logreg(train, features)
        if scorer == "accuracy":
            score = accuracy_score(rows[data.TARGET], model.predict(rows[features]))
        else:
            score = roc_auc_score(rows[data.TARGET], model.predict_proba(rows[features])[:, 1])
        mlflow.log_params({"model": "logreg", "C": 1.0})
        if data_version is not None:
            mlflow.log_param("data_version", data_version)
        mlflow.log_metric("val_roc_auc", score)
        if artifact:
            mlflow.log_dict({"features": features}, "features.json")
    return run.info.run_id


def test_ex1_solution_passes_with_one_line(embedded, capsys):
    embedded("m02")
    run_id = log_baseline()
    capsys.readouterr()
    course.check("m02.ex1", run_id=run_id)
    assert_one_tick(capsys, "m02.ex1 correct: run 'baseline'")


def test_ex1_wrong_runs_fail(embedded):
    embedded("m02")
    label = [*data.NUMERIC_FEATURES, data.TARGET]
    slips = [
        ({"run_name": "first"}, "the run is named 'first', not 'baseline'"),
        ({"scored": "train"}, "does not match a logistic regression .* the validation rows"),
        ({"scorer": "accuracy"}, r"val_roc_auc = 0\.8\d+ does not match a logistic regression"),
        ({"artifact": False}, "the run has no artifact 'features.json'"),
        ({"features": label}, "the label is among the features: that is leakage"),
        (
            {"experiment_id": scratch_experiment()},
            "in experiment 'scratch', not in this module's 'shopflow-m02'",
        ),
    ]
    for slip, match in slips:
        assert_wrong("m02.ex1", match, run_id=log_baseline(**slip))


def test_ex1_data_version_must_name_the_training_split_in_dvc(embedded, capsys):
    """Module 1's repository has a second version (a week appended); module 1 skipped, the
    hand-off versions the training split itself, and says so."""
    stack = embedded("m02")
    train, valid = data.split()
    md5 = handoff.data_version(stack)
    assert "dvc add of the training split" in capsys.readouterr().out
    assert handoff.data_version(stack) == md5 and "dvc add" not in capsys.readouterr().out
    root = stack.home / "work" / "m01" / "data"
    assert yaml.safe_load((root / "train.parquet.dvc").read_text())["outs"][0]["md5"] == md5
    longer = pd.concat([train, valid[valid["week"] == valid["week"].min()]])
    longer.to_parquet(root / "train.parquet", index=False)
    with dvc.repo.Repo(root) as repo:
        (stage,) = repo.add(str(root / "train.parquet"))
    v2 = stage.outs[0].hash_info.value
    slips = [
        (None, "param data_version is missing: log DATA_VERSION"),
        (course.handoff.fingerprint(train), "is the data fingerprint .16 digits."),
        ("train.parquet.dvc", "is not a DVC md5"),
        ("0" * 32, "is no version in the course's DVC cache"),
        (v2, f"names {len(longer):,} rows of data, not the {len(train):,}-row training split"),
    ]
    for value, match in slips:
        assert_wrong("m02.ex1", match, run_id=log_baseline(data_version=value))
    assert handoff.data_version(stack) == md5  # v2 checked out: the training split comes back
    course.check("m02.ex1", run_id=log_baseline())


def test_ex1_unfinished_run_or_bad_id_fails(embedded):
    embedded("m02")
    run = mlflow.start_run(run_name="baseline")
    try:
        assert_wrong("m02.ex1", "the run's status is RUNNING", run_id=run.info.run_id)
    finally:
        mlflow.end_run()
    finished = mlflow.get_run(run.info.run_id)
    assert_wrong("m02.ex1", r"use run\.info\.run_id, not the Run object", run_id=finished)
    assert_wrong("m02.ex1", "no run 'f+' in this notebook's tracking store", run_id="f" * 32)
    assert_wrong("m02.ex1", "`run_id` should be a run id string, not a int", run_id=42)


def test_check_without_the_answer_names_the_argument(course_home):
    assert_wrong("m02.ex1", r"this check takes run_id=\.\.\.; missing: run_id")


# --- m02.ex2 a logged model --------------------------------------------------------------


def log_model_run(
    stack,
    scored: str = "valid",
    label_in_signature: bool = False,
    signature: bool = True,
    example: bool = True,
    signed: str = "proba",
    serves: str = "predict_proba",
):
    """The notebook's solution to m02.ex2 (a ModelInfo); the keywords reproduce slips:
    `signed` is the output the signature is inferred from (proba, p1, labels), `serves` the
    method the loaded pyfunc answers with."""
    features = list(data.NUMERIC_FEATURES)
    train, valid = data.split()
    rows = {"train": train, "valid": valid}[scored]
    columns = [*features, data.TARGET] if label_in_signature else features
    with mlflow.start_run(run_name="logreg-model"):
        model = fit_logreg(train, features)
        outputs = {
            "proba": model.predict_proba(valid[features]),
            "p1": model.predict_proba(valid[features])[:, 1],
            "labels": model.predict(valid[features]),
        }
        auc = roc_auc_score(rows[data.TARGET], model.predict_proba(rows[features])[:, 1])
        mlflow.log_metric("val_roc_auc", auc)
        model_info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(valid[columns], outputs[signed]) if signature else None,
            input_example=valid[features].head(3) if example else None,
            pyfunc_predict_fn=serves,
            pip_requirements=stack.pip_requirements,
        )
    return model_info


def test_ex2_solution_passes_with_one_line(embedded, capsys):
    stack = embedded("m02")
    model_info = log_model_run(stack)
    capsys.readouterr()
    course.check("m02.ex2", model_info=model_info)
    assert_one_tick(capsys, "m02.ex2 correct: models:/")


def test_ex2_wrong_models_fail(embedded):
    stack = embedded("m02")
    slips = [
        ({"label_in_signature": True}, "the signature's inputs include the label"),
        ({"example": False}, "the model has no input example"),
        ({"signature": False, "example": False}, "the model has no signature"),
        ({"scored": "train"}, r"is not what the logged model scores on the validation rows"),
    ]
    for slip, match in slips:
        assert_wrong("m02.ex2", match, model_info=log_model_run(stack, **slip))


def test_ex2_signature_must_say_what_the_model_serves(embedded):
    """The review's defect: a signature inferred from probabilities on a model that serves
    labels, and the reverse; then a consistent model that serves labels."""
    stack = embedded("m02")
    slips = [
        (
            {"signed": "p1", "serves": "predict"},
            r"the signature says the model returns a float64 array of shape \(-1,\), but loaded "
            r"back, its predict returns an int64 array of shape \(-1,\): log it with "
            r"pyfunc_predict_fn='predict_proba'",
        ),
        (
            {"signed": "labels", "serves": "predict_proba"},
            r"returns an int64 array of shape \(-1,\), but loaded back, its predict returns a "
            r"float64 array of shape \(-1, 2\): infer the signature from the very output",
        ),
        (
            {"signed": "p1", "serves": "predict_proba"},
            r"shape \(-1,\), but loaded back, its predict returns a float64 array of shape "
            r"\(-1, 2\)",
        ),
        (
            {"signed": "labels", "serves": "predict"},
            "the model serves 0/1 labels: a service cannot rank customers",
        ),
    ]
    for slip, match in slips:
        assert_wrong("m02.ex2", match, model_info=log_model_run(stack, **slip))


def test_ex2_unfinished_run_or_run_id_fails(embedded):
    stack = embedded("m02")
    train, _ = data.split()
    run = mlflow.start_run(run_name="logreg-model")
    try:
        model = fit_logreg(train, list(data.NUMERIC_FEATURES))
        info = mlflow.sklearn.log_model(
            model, name="model", pip_requirements=stack.pip_requirements
        )
        assert_wrong("m02.ex2", "the run's status is RUNNING", model_info=info)
    finally:
        mlflow.end_run()
    assert_wrong(
        "m02.ex2",
        "should be what mlflow.sklearn.log_model returns, not a str",
        model_info=run.info.run_id,
    )


# --- m02.ex3 a sweep of nested runs ------------------------------------------------------


def log_sweep(cs=SWEEP_C, nested: bool = True, best=max) -> str:
    """The notebook's solution to m02.ex3 (the parent's id); the keywords reproduce slips."""
    features = list(data.NUMERIC_FEATURES)
    train, valid = data.split()

    def trial(c: float) -> float:
        with mlflow.start_run(run_name=f"C={c}", nested=True):
            model = fit_logreg(train, features, c)
            auc = roc_auc_score(valid[data.TARGET], model.predict_proba(valid[features])[:, 1])
            mlflow.log_param("C", c)
            mlflow.log_metric("val_roc_auc", auc)
        return auc

    if nested:
        with mlflow.start_run(run_name="sweep") as parent:
            aucs = [trial(c) for c in cs]
            mlflow.log_metric("best_val_roc_auc", best(aucs))
    else:  # the trials run first, on their own; the parent only records the best
        aucs = [trial(c) for c in cs]
        with mlflow.start_run(run_name="sweep") as parent:
            mlflow.log_metric("best_val_roc_auc", best(aucs))
    return parent.info.run_id


def test_ex3_solution_passes(embedded):
    embedded("m02")
    course.check("m02.ex3", sweep_run_id=log_sweep())


def test_ex3_wrong_sweeps_fail(embedded):
    embedded("m02")
    worst = log_sweep(best=min)
    assert_wrong("m02.ex3", "best_val_roc_auc = .* is not the largest", sweep_run_id=worst)
    children = mlflow.search_runs(filter_string=f"tags.mlflow.parentRunId = '{worst}'")
    assert len(children) == len(SWEEP_C)
    child_id = children.iloc[0]["run_id"]
    assert_wrong("m02.ex3", "is a child run; give the id of the parent", sweep_run_id=child_id)
    flat = log_sweep(nested=False)
    assert_wrong("m02.ex3", "the parent has 0 nested runs", sweep_run_id=flat)
    short = log_sweep(cs=SWEEP_C[1:])
    assert_wrong("m02.ex3", "the parent has 3 nested runs", sweep_run_id=short)
    shifted = log_sweep(cs=(*SWEEP_C[1:], 10.0))
    assert_wrong("m02.ex3", r"no nested run for C = \[0\.001\]", sweep_run_id=shifted)


# --- m02.ex4 search runs -----------------------------------------------------------------


def best_run_solution(experiment_name: str, metric: str) -> str:
    """The notebook's solution to m02.ex4."""
    runs = mlflow.search_runs(
        experiment_names=[experiment_name],
        filter_string="attributes.status = 'FINISHED'",
        order_by=[f"metrics.{metric} DESC"],
    )
    runs = runs.dropna(subset=[f"metrics.{metric}"])
    return runs.iloc[0]["run_id"]


def best_run_ascending(experiment_name: str, metric: str) -> str:
    runs = mlflow.search_runs(
        experiment_names=[experiment_name],
        filter_string="attributes.status = 'FINISHED'",
        order_by=[f"metrics.{metric} ASC"],
    )
    return runs.dropna(subset=[f"metrics.{metric}"]).iloc[0]["run_id"]


def best_run_any_status(experiment_name: str, metric: str) -> str:
    runs = mlflow.search_runs(
        experiment_names=[experiment_name], order_by=[f"metrics.{metric} DESC"]
    )
    return runs.dropna(subset=[f"metrics.{metric}"]).iloc[0]["run_id"]


def best_run_row(experiment_name: str, metric: str):
    runs = mlflow.search_runs(
        experiment_names=[experiment_name],
        filter_string="attributes.status = 'FINISHED'",
        order_by=[f"metrics.{metric} DESC"],
    )
    return runs.dropna(subset=[f"metrics.{metric}"]).iloc[0]


def best_run_object(experiment_name: str, metric: str):
    return mlflow.get_run(best_run_solution(experiment_name, metric))


def best_run_stub(experiment_name: str, metric: str) -> str:
    raise NotImplementedError()


def log_scored_run(auc: float, status: str = "FINISHED") -> None:
    mlflow.start_run(run_name=f"scored-{auc}")
    mlflow.log_metric("val_roc_auc", auc)
    mlflow.end_run(status=status)


def test_ex4_solution_passes_on_fixture_and_own_runs(embedded):
    """The check also runs best_run on the learner's own experiment, where a FAILED run leads."""
    embedded("m02")
    log_scored_run(0.71)
    log_scored_run(0.73)
    log_scored_run(0.95, status="FAILED")
    course.check("m02.ex4", best_run=best_run_solution)


def test_ex4_wrong_functions_fail(embedded):
    embedded("m02")
    slips = [
        (best_run_ascending, "picked a lower score: order by the metric descending"),
        (best_run_any_status, "picked a FAILED run: keep finished runs only"),
        (best_run_row, "returned a row or a frame; return the run id string"),
        (best_run_object, "best_run returned a Run; return the run id string"),
        ("0" * 32, "`best_run` should be a function, not a str"),
    ]
    for best_run, match in slips:
        assert_wrong("m02.ex4", match, best_run=best_run)


def test_ex4_stub_is_not_attempted(embedded):
    """The stub raises only once called, after the check has built its fixture in MLflow."""
    embedded("m02")
    with pytest.raises(course.NotAttempted, match="still raises NotImplementedError"):
        course.check("m02.ex4", best_run=best_run_stub)


def _visible_experiments() -> list[str]:
    """The experiment names the MLflow UI lists (it shows active experiments only)."""
    from mlflow.entities import ViewType

    return [e.name for e in mlflow.search_experiments(view_type=ViewType.ACTIVE_ONLY)]


def test_ex4_leaves_no_fixture_experiment_behind(embedded):
    """Pass, fail or not attempted: the check's fixture experiment is gone from the UI after it,
    and the next check finds (and hides) it again."""
    embedded("m02")
    course.check("m02.ex4", best_run=best_run_solution)
    assert [n for n in _visible_experiments() if "fixture" in n] == []
    assert_wrong("m02.ex4", "picked a lower score", best_run=best_run_ascending)
    with pytest.raises(course.NotAttempted):
        course.check("m02.ex4", best_run=best_run_stub)
    course.check("m02.ex4", best_run=best_run_solution)
    assert [n for n in _visible_experiments() if "fixture" in n] == []
    assert "shopflow-m02" in _visible_experiments()  # the learner's own experiment stays


# --- m02.ex5 autologging -----------------------------------------------------------------


def autolog_forest(autolog: bool = True, estimator=RandomForestClassifier, trees: int = 50) -> str:
    """The notebook's solution to m02.ex5; the keywords reproduce a learner's slips."""
    features = list(data.NUMERIC_FEATURES)
    train, _ = data.split()
    if autolog:
        mlflow.sklearn.autolog(log_models=False)
    try:
        with mlflow.start_run(run_name="autolog-forest") as run:
            forest = estimator(n_estimators=trees, max_depth=6, random_state=0)
            forest.fit(train[features], train[data.TARGET])
            if not autolog:
                mlflow.log_params({"n_estimators": trees, "max_depth": 6})
    finally:
        mlflow.sklearn.autolog(disable=True)
    return run.info.run_id


def test_ex5_solution_passes(embedded):
    embedded("m02")
    course.check("m02.ex5", autolog_run_id=autolog_forest())


def test_ex5_wrong_runs_fail(embedded):
    embedded("m02")
    slips = [
        ({"autolog": False}, "this run was not autologged"),
        ({"estimator": ExtraTreesClassifier}, "estimator is ExtraTreesClassifier, not a random"),
        ({"trees": 20}, "not 50 trees of depth 6"),
    ]
    for slip, match in slips:
        assert_wrong("m02.ex5", match, autolog_run_id=autolog_forest(**slip))


# --- stubs, hints, unknown ids, progress -------------------------------------------------


@pytest.mark.parametrize(
    ("exercise_id", "argument"),
    [
        ("m02.ex1", "run_id"),
        ("m02.ex2", "model_info"),
        ("m02.ex3", "sweep_run_id"),
        ("m02.ex5", "autolog_run_id"),
    ],
)
def test_stub_is_not_attempted(course_home, exercise_id, argument):
    with pytest.raises(course.NotAttempted, match=f"`{argument}` is still None"):
        course.check(exercise_id, **{argument: None})


def test_hint_prints_one_line_and_points_to_the_next(course_home, capsys):
    course.hint("m02.ex1")
    out = capsys.readouterr().out
    assert out.startswith("Hint 1/3 for m02.ex1: ") and out.count("\n") == 1
    assert "level=2" in out
    course.hint("m02.ex1", level=9)
    last = capsys.readouterr().out
    assert last.startswith("Hint 3/3 for m02.ex1: Compute the AUC") and "more:" not in last


def test_unknown_exercise_is_a_course_error(course_home):
    with pytest.raises(course.CourseError, match="unknown exercise 'm02.ex99'; m02 has: m02.ex1"):
        course.check("m02.ex99")


def test_progress_reports_a_passed_exercise(embedded):
    """Progress reads what the checks recorded in the state dir, passes and failures alike."""
    embedded("m02")
    course.check("m02.ex4", best_run=best_run_solution)
    with pytest.raises(course.CheckError):
        course.quiz.check("m02.q1", "a")
    table = course.progress("m02")
    items = [f"m02.ex{i}" for i in range(1, 6)] + [f"m02.q{i}" for i in range(1, 5)]
    assert list(table.index) == items
    assert table.loc["m02.ex4", "status"] == "✓ correct"
    assert table.loc["m02.q1", "status"] == "✗ incorrect"
    assert table.loc["m02.ex1", "status"] == "not run"


# --- quiz --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("m02.q1", "b"),
        pytest.param("m02.q1", " B ", id="m02.q1-normalised"),
        ("m02.q2", "c"),
        ("m02.q3", "b"),
        ("m02.q4", "a"),
    ],
)
def test_quiz_right_answer_passes(course_home, capsys, question, answer):
    course.quiz.check(question, answer)
    assert capsys.readouterr().out == f"✓ {question} correct\n"


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("m02.q1", "a"),
        ("m02.q1", "c"),
        ("m02.q2", "a"),
        ("m02.q2", "b"),
        ("m02.q3", "c"),
        ("m02.q4", "b"),
    ],
)
def test_quiz_wrong_answer_fails(course_home, question, answer):
    with pytest.raises(course.CheckError, match="not quite") as excinfo:
        course.quiz.check(question, answer)
    assert not isinstance(excinfo.value, course.NotAttempted)


@pytest.mark.parametrize(
    ("question", "answer", "match"),
    [
        ("m02.q1", "e", "answer with one of 'a', 'b', 'c', 'd', not 'e'"),
        ("m02.q2", 5, "answer with one of 'a', 'b', 'c', 'd', not 5"),
        ("m02.q3", "d", "answer with one of 'a', 'b', 'c', not 'd'"),
        ("m02.q4", ["b"], r"answer with one of 'a', 'b', 'c', not \['b'\]"),
    ],
)
def test_quiz_wrong_type_names_expected_type(course_home, question, answer, match):
    with pytest.raises(course.CheckError, match=match) as excinfo:
        course.quiz.check(question, answer)
    assert not isinstance(excinfo.value, course.NotAttempted)


@pytest.mark.parametrize("question", ["m02.q1", "m02.q2", "m02.q3", "m02.q4"])
def test_quiz_none_is_not_attempted(course_home, question):
    with pytest.raises(course.NotAttempted, match="no answer yet"):
        course.quiz.check(question, None)
