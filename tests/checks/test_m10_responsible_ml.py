"""m10 checks, called as the responsible-ML notebook calls them, against a real registry.

The `lab` fixture registers a small forest as @champion the way the notebook's setup does; each
test then plays the right answer, plausible mistakes and the untouched stub against the check.
"""

from __future__ import annotations

import pickle
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import joblib
import mlflow
import numpy as np
import pandas as pd
import pytest
from _assert import assert_one_tick, assert_wrong
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    mean_prediction,
    selection_rate,
    true_positive_rate,
)
from mlflow import MlflowClient
from sklearn.ensemble import RandomForestClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import HalvingGridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import course
from course import data

MODEL = "shopflow-conversion"
FEATURES = list(data.NUMERIC_FEATURES)
TARGET = data.TARGET
TRAIN, VALID = data.split()
OWNER = "growth-ml@shopflow.example"
TREES = ["sklearn.tree._tree.Tree"]


class Lab:
    """The notebook's state after its setup cells: a forest registered as v1 @champion."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.client = MlflowClient()
        forest = RandomForestClassifier(
            n_estimators=30, max_depth=8, min_samples_leaf=20, random_state=0
        ).fit(TRAIN[FEATURES], TRAIN[TARGET])
        with mlflow.start_run(run_name="champion-forest") as run:
            mlflow.log_params({"model": "forest", "n_estimators": 30})
            auc = roc_auc_score(VALID[TARGET], forest.predict_proba(VALID[FEATURES])[:, 1])
            mlflow.log_metric("val_roc_auc", auc)
            info = mlflow.sklearn.log_model(
                forest,
                name="model",
                pip_requirements=stack.pip_requirements,
                skops_trusted_types=TREES,
            )
        self.client.create_registered_model(MODEL)
        self.version = self.client.create_model_version(
            MODEL, info.model_uri, run_id=run.info.run_id
        )
        self.client.set_registered_model_alias(MODEL, "champion", self.version.version)
        self.client.set_model_version_tag(MODEL, self.version.version, "owner", OWNER)
        self.champion = forest
        self.auc = auc


@pytest.fixture
def lab(embedded) -> Lab:
    return Lab(embedded("m10"))


def stub(*args, **kwargs):
    raise NotImplementedError()


# --- m10.ex1 importance --------------------------------------------------------------------


def importance(model, frame, n_repeats=5, random_state=0) -> pd.Series:
    """The notebook's solution."""
    result = permutation_importance(
        model, frame[FEATURES], frame[TARGET], scoring="roc_auc",
        n_repeats=n_repeats, random_state=random_state,
    )  # fmt: skip
    return pd.Series(result.importances_mean, index=FEATURES).sort_values(ascending=False)


def test_ex1_solution_passes_with_one_line(lab, capsys):
    capsys.readouterr()
    course.check("m10.ex1", importance=importance, model_name=MODEL)
    assert_one_tick(capsys, "m10.ex1")


def test_ex1_wrong_answers(lab):
    def accuracy(model, frame, n_repeats=5, random_state=0):
        result = permutation_importance(
            model, frame[FEATURES], frame[TARGET], n_repeats=n_repeats, random_state=random_state
        )
        return pd.Series(result.importances_mean, index=FEATURES).sort_values(ascending=False)

    def global_rows(model, frame, n_repeats=5, random_state=0):
        return importance(model, VALID.sample(1500, random_state=0), n_repeats, random_state)

    def unsorted(model, frame, n_repeats=5, random_state=0):
        return importance(model, frame, n_repeats, random_state).sort_index()

    def array(model, frame, n_repeats=5, random_state=0):
        return importance(model, frame, n_repeats, random_state).to_numpy()

    assert_wrong("m10.ex1", "mean drop in ROC AUC", importance=accuracy, model_name=MODEL)
    assert_wrong(
        "m10.ex1", "constant column cannot matter", importance=global_rows, model_name=MODEL
    )
    assert_wrong("m10.ex1", "sort the Series", importance=unsorted, model_name=MODEL)
    assert_wrong("m10.ex1", "should return a pd.Series", importance=array, model_name=MODEL)
    assert_wrong("m10.ex1", "should be a function", importance="importance", model_name=MODEL)


def test_ex1_stub(lab):
    for answer in (None, stub):
        with pytest.raises(course.NotAttempted):
            course.check("m10.ex1", importance=answer, model_name=MODEL)


# --- m10.ex2 slice metrics and m10.ex3 flags -----------------------------------------------


def slice_metrics(model, frame, by) -> pd.DataFrame:
    """The notebook's solution."""
    scored = frame.assign(_score=model.predict_proba(frame[FEATURES])[:, 1])
    rows = {}
    for value, part in scored.groupby(by):
        single = part[TARGET].nunique() < 2
        rows[value] = {
            "n": len(part),
            "positive_rate": part[TARGET].mean(),
            "roc_auc": np.nan if single else roc_auc_score(part[TARGET], part["_score"]),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def test_ex2_solution_passes_with_one_line(lab, capsys):
    capsys.readouterr()
    course.check("m10.ex2", slice_metrics=slice_metrics, model_name=MODEL)
    assert_one_tick(capsys, "m10.ex2")


def test_ex2_wrong_answers(lab):
    segmented = VALID.assign(customer_type=np.where(VALID["tenure_days"] < 60, "new", "returning"))

    def labels(model, frame, by):
        out = slice_metrics(model, frame, by)
        for value, part in frame.groupby(by):
            if part[TARGET].nunique() == 2:
                out.loc[value, "roc_auc"] = roc_auc_score(
                    part[TARGET], model.predict(part[FEATURES])
                )
        return out

    def global_rows(model, frame, by):
        return slice_metrics(model, segmented, by)

    def drops_single_class(model, frame, by):
        return slice_metrics(model, frame, by).dropna()

    def counts(model, frame, by):
        return slice_metrics(model, frame, by).assign(positive_rate=frame.groupby(by)[TARGET].sum())

    def crashes(model, frame, by):
        scored = frame.assign(_s=model.predict_proba(frame[FEATURES])[:, 1])
        for _, part in scored.groupby(by):
            if part[TARGET].nunique() < 2:
                raise ValueError("Only one class present in y_true.")
        return slice_metrics(model, frame, by)

    ex = "m10.ex2"
    assert_wrong(ex, "positive-class probability", slice_metrics=labels, model_name=MODEL)
    assert_wrong(ex, "count the rows of `frame`", slice_metrics=global_rows, model_name=MODEL)
    assert_wrong(
        ex, "not the values of 'country'", slice_metrics=drops_single_class, model_name=MODEL
    )
    assert_wrong(ex, "not the mean of", slice_metrics=counts, model_name=MODEL)
    assert_wrong(ex, "one class gets roc_auc np.nan", slice_metrics=crashes, model_name=MODEL)
    assert_wrong(ex, "lacks column", slice_metrics=lambda m, f, b: slice_metrics(m, f, b).drop(columns="n"), model_name=MODEL)  # fmt: skip
    assert_wrong(ex, "pd.DataFrame", slice_metrics=lambda m, f, b: {}, model_name=MODEL)


def test_ex2_stub(lab):
    for answer in (None, stub):
        with pytest.raises(course.NotAttempted):
            course.check("m10.ex2", slice_metrics=answer, model_name=MODEL)


def flag_slices(table, overall, max_gap=0.02, min_n=300) -> list:
    """The notebook's solution."""
    behind = table[(table["n"] >= min_n) & (table["roc_auc"] < overall - max_gap)]
    return list(behind.sort_values("roc_auc").index)


def test_ex3_solution_passes_with_one_line(course_home, capsys):
    course.check("m10.ex3", flag_slices=flag_slices)
    assert_one_tick(capsys, "m10.ex3")


def test_ex3_wrong_answers(course_home):
    def no_min_n(table, overall, max_gap=0.02, min_n=300):
        return flag_slices(table, overall, max_gap, 0)

    def inclusive(table, overall, max_gap=0.02, min_n=300):
        behind = table[(table["n"] >= min_n) & (table["roc_auc"] <= overall - max_gap + 0.001)]
        return list(behind.sort_values("roc_auc").index)

    def unordered(table, overall, max_gap=0.02, min_n=300):
        return sorted(flag_slices(table, overall, max_gap, min_n))

    def fixed(table, overall, max_gap=0.02, min_n=300):
        return flag_slices(table, 0.74)

    def strict_n(table, overall, max_gap=0.02, min_n=300):
        return flag_slices(table, overall, max_gap, min_n + 1)

    assert_wrong("m10.ex3", "fewer than min_n rows", flag_slices=no_min_n)
    assert_wrong("m10.ex3", "the boundary is wrong", flag_slices=inclusive)
    assert_wrong("m10.ex3", "worst slice", flag_slices=unordered)
    assert_wrong("m10.ex3", "use the arguments", flag_slices=fixed)
    assert_wrong("m10.ex3", "exactly min_n rows", flag_slices=strict_n)
    assert_wrong("m10.ex3", "list of slice names", flag_slices=lambda t, o, **k: "NL")


def test_ex3_stub(course_home):
    for answer in (None, stub):
        with pytest.raises(course.NotAttempted):
            course.check("m10.ex3", flag_slices=answer)


# --- m10.ex4 model card --------------------------------------------------------------------

SECTIONS = ("Model details", "Intended use", "Metrics", "Slices", "Limitations", "Owner")


def model_card(model_name, alias, flagged, skip=(), **override) -> str:
    """The notebook's solution, with knobs to break it."""
    client = MlflowClient()
    mv = client.get_model_version_by_alias(model_name, alias)
    run = client.get_run(mv.run_id)
    text = {
        "Model details": f"{model_name} v{mv.version}, run {mv.run_id}",
        "Intended use": "Promotions targeting only.",
        "Metrics": f"val_roc_auc {run.data.metrics['val_roc_auc']:.3f}",
        "Slices": ", ".join(flagged) or "none flagged",
        "Limitations": "Calm weeks only.",
        "Owner": mv.tags.get("owner", "?"),
    } | override
    return "# card\n\n" + "\n\n".join(f"## {s}\n{text[s]}" for s in SECTIONS if s not in skip)


def log_card(lab: Lab, card: str) -> None:
    lab.client.log_text(lab.version.run_id, card, "model_card.md")


def test_ex4_solution_passes_with_one_line(lab, capsys):
    log_card(lab, model_card(MODEL, "champion", ["NL"]))
    capsys.readouterr()
    course.check("m10.ex4", model_card=model_card, model_name=MODEL)
    assert_one_tick(capsys, "m10.ex4")
    assert lab.client.search_registered_models("name LIKE 'course-check-%'") == []


def test_ex4_wrong_answers(lab):
    def champion_only(model_name, alias, flagged):
        return model_card(MODEL, "champion", flagged)

    def no_limits(model_name, alias, flagged):
        return model_card(model_name, alias, flagged, skip=("Limitations",))

    def fixed_owner(model_name, alias, flagged):
        return model_card(model_name, alias, flagged, Owner=OWNER)

    def no_slices(model_name, alias, flagged):
        return model_card(model_name, alias, flagged, Slices="see the notebook")

    def rounded(model_name, alias, flagged):
        run = MlflowClient().get_run(
            MlflowClient().get_model_version_by_alias(model_name, alias).run_id
        )
        return model_card(model_name, alias, flagged, Metrics=f"{run.data.metrics['val_roc_auc']:.2f}")  # fmt: skip

    ex = "m10.ex4"
    assert_wrong(
        ex, "not name the model and `v<version>`", model_card=champion_only, model_name=MODEL
    )
    assert_wrong(ex, "lacks section.*limitations", model_card=no_limits, model_name=MODEL)
    assert_wrong(ex, "Owner does not give", model_card=fixed_owner, model_name=MODEL)
    assert_wrong(ex, "Slices does not list", model_card=no_slices, model_name=MODEL)
    assert_wrong(ex, "to 3 decimals", model_card=rounded, model_name=MODEL)
    assert_wrong(ex, "now log the champion's card", model_card=model_card, model_name=MODEL)
    log_card(lab, model_card(MODEL, "champion", [], Owner="someone"))
    assert_wrong(ex, "the logged card does not name the champion's owner", model_card=model_card, model_name=MODEL)  # fmt: skip
    assert lab.client.search_registered_models("name LIKE 'course-check-%'") == []


def test_ex4_stub(lab):
    for answer in (None, stub):
        with pytest.raises(course.NotAttempted):
            course.check("m10.ex4", model_card=answer, model_name=MODEL)


# --- m10.ex5 tracked search ----------------------------------------------------------------


def track_search(search, model_name, register="best", nested=True, best=None, rows=None) -> str:
    """The notebook's solution, with knobs to break it."""
    results = pd.DataFrame(search.cv_results_)
    rows = results if rows is None else rows(results)
    target = search.best_index_ if register == "best" else register

    def children() -> None:
        for i, row in rows.iterrows():
            with mlflow.start_run(nested=nested):
                mlflow.log_params(row["params"])
                mlflow.log_params({"iter": row["iter"], "n_resources": row["n_resources"]})
                mlflow.log_metric("cv_roc_auc", row["mean_test_score"])
                if i == target:
                    mlflow.sklearn.log_model(
                        search.best_estimator_,
                        name="model",
                        pip_requirements=["scikit-learn"],
                        skops_trusted_types=TREES,
                        registered_model_name=model_name,
                    )

    with mlflow.start_run(run_name="halving-search") as parent:
        if nested:
            children()
        mlflow.log_metric("best_cv_roc_auc", search.best_score_ if best is None else best(search))
        parent_id = parent.info.run_id
    if not nested:
        children()
    return parent_id


@pytest.fixture(scope="module")
def fitted_search():
    rows = TRAIN.sample(3000, random_state=1)
    grid = {"max_depth": [2, 3, 4, 5], "min_samples_leaf": [20, 100]}
    found = HalvingGridSearchCV(
        DecisionTreeClassifier(random_state=0), grid, factor=3, min_resources=300,
        max_resources=2700, cv=3, scoring="roc_auc",
    )  # fmt: skip
    return found.fit(rows[FEATURES], rows[TARGET])


def fake_search(search):
    """A search whose early round holds the top score: only the last round's best is right."""
    results = dict(search.cv_results_)
    scores = np.array(results["mean_test_score"], dtype=float)
    scores[0] = scores.max() + 0.05
    results["mean_test_score"] = scores
    return SimpleNamespace(
        cv_results_=results,
        best_index_=search.best_index_,
        best_score_=search.best_score_,
        best_estimator_=search.best_estimator_,
    )


def test_ex5_solution_passes_with_one_line(lab, fitted_search, capsys):
    parent = track_search(fitted_search, MODEL)
    capsys.readouterr()
    course.check("m10.ex5", track_search=track_search, search=fitted_search, parent_run_id=parent, model_name=MODEL)  # fmt: skip
    assert_one_tick(capsys, "m10.ex5")
    assert lab.client.search_registered_models("name LIKE 'course-check-%'") == []
    assert mlflow.get_experiment_by_name("shopflow-m10") is not None


def test_ex5_wrong_answers(lab, fitted_search):
    def check(parent, fn=track_search, search=fitted_search, match=""):
        assert_wrong("m10.ex5", match, track_search=fn, search=search, parent_run_id=parent, model_name=MODEL)  # fmt: skip

    flat = track_search(fitted_search, MODEL, nested=False)
    check(flat, match=r"the parent has 0 nested runs")
    last = track_search(fitted_search, MODEL, rows=lambda r: r[r["iter"] == r["iter"].max()])
    check(last, match=r"made \d+ evaluations")
    std = track_search(
        fitted_search, MODEL, rows=lambda r: r.assign(mean_test_score=r["std_test_score"])
    )
    check(std, match="do not match the rows of cv_results_")
    first = track_search(fitted_search, MODEL, register=0)
    check(first, match="did not win")
    unregistered = track_search(fitted_search, MODEL, register=None)
    check(unregistered, match="no version of 'shopflow-conversion'")
    fake = fake_search(fitted_search)
    top = track_search(fake, MODEL, best=lambda s: max(s.cv_results_["mean_test_score"]))
    check(top, search=fake, match="the winner is the best of the last round")
    good = track_search(fitted_search, MODEL)
    check(good, fn=lambda s, name: track_search(s, MODEL), match="no version of 'course-check-")
    check(good, fn=lambda s, name: None, match="returns None")
    check(good, search="search", match="fitted halving search")
    assert lab.client.search_registered_models("name LIKE 'course-check-%'") == []


def test_ex5_stub(lab, fitted_search):
    for fn, parent in ((stub, None), (None, None)):
        with pytest.raises(course.NotAttempted):
            course.check("m10.ex5", track_search=fn, search=fitted_search, parent_run_id=parent, model_name=MODEL)  # fmt: skip


# --- m10.ex6 edge budget -------------------------------------------------------------------


def profile(model, row, unit=1024, scale=1000, calls=20, total=False) -> dict:
    """The notebook's solution, with knobs to break it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.joblib"
        joblib.dump(model, path)
        size_kb = path.stat().st_size / unit
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        model.predict_proba(row)
        times.append(time.perf_counter() - start)
    spent = sum(times) if total else float(np.median(times))
    return {"size_kb": size_kb, "latency_ms": scale * spent}


@pytest.fixture(scope="module")
def small_model():
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(TRAIN[FEATURES], TRAIN[TARGET])


def test_ex6_solution_passes_with_one_line(lab, small_model, capsys):
    capsys.readouterr()
    course.check("m10.ex6", profile=profile, edge_model=small_model, model_name=MODEL)
    assert_one_tick(capsys, "m10.ex6")


def test_ex6_wrong_answers(lab, small_model):
    def bytes_(model, row):
        return profile(model, row, unit=1)

    def seconds(model, row):
        return profile(model, row, scale=1)

    def summed(model, row):
        return profile(model, row, total=True)

    stump = DecisionTreeClassifier(max_depth=1).fit(TRAIN[FEATURES], TRAIN[TARGET])
    unfitted = make_pipeline(StandardScaler(), LogisticRegression())
    big = RandomForestClassifier(n_estimators=40, max_depth=10, random_state=0)
    big.fit(TRAIN[FEATURES], TRAIN[TARGET])
    assert len(pickle.dumps(big)) > 250 * 1024
    ex = "m10.ex6"
    assert_wrong(ex, "not that size on disk", profile=bytes_, edge_model=small_model, model_name=MODEL)  # fmt: skip
    assert_wrong(ex, "takes a different time", profile=seconds, edge_model=small_model, model_name=MODEL)  # fmt: skip
    assert_wrong(ex, "takes a different time", profile=summed, edge_model=small_model, model_name=MODEL)  # fmt: skip
    assert_wrong(ex, "should return", profile=lambda m, r: 1.0, edge_model=small_model, model_name=MODEL)  # fmt: skip
    assert_wrong(ex, "the budget is 250 KB", profile=profile, edge_model=big, model_name=MODEL)
    assert_wrong(ex, "more than 0.01 below", profile=profile, edge_model=stump, model_name=MODEL)
    assert_wrong(ex, "cannot score", profile=profile, edge_model=unfitted, model_name=MODEL)
    assert_wrong(ex, "fitted classifier", profile=profile, edge_model="model", model_name=MODEL)


def test_ex6_stub(lab, small_model):
    for fn, edge in ((None, None), (stub, None), (stub, small_model)):
        with pytest.raises(course.NotAttempted):
            course.check("m10.ex6", profile=fn, edge_model=edge, model_name=MODEL)
    with pytest.raises(course.NotAttempted, match="edge_model"):
        course.check("m10.ex6", profile=profile, edge_model=None, model_name=MODEL)


# --- m10.ex7 calibration and fairness by group -----------------------------------------------


def group_report(model, frame, by, threshold, whole=(), cut=None, tpr=true_positive_rate):
    """The notebook's solution, with knobs to break it."""
    scores = model.predict_proba(frame[FEATURES])[:, 1]
    decisions = (scores >= (threshold if cut is None else cut)).astype(int)
    groups = frame[by]
    calibration = MetricFrame(
        metrics={"n": count, "mean_score": mean_prediction, "positive_rate": lambda y, p: y.mean()},
        y_true=frame[TARGET].to_numpy(), y_pred=scores, sensitive_features=groups,
    )  # fmt: skip
    decision = MetricFrame(
        metrics={"selection_rate": selection_rate, "true_positive_rate": tpr},
        y_true=frame[TARGET].to_numpy(), y_pred=decisions, sensitive_features=groups,
    )  # fmt: skip
    table = pd.concat([calibration.by_group, decision.by_group], axis=1)
    for column in whole:  # the whole frame's rate on every row: no grouping
        table[column] = decision.overall[column] if column in decision.overall else calibration.overall[column]  # fmt: skip
    return table


def parity_difference(model, frame, by, threshold, metric=demographic_parity_difference, cut=None):
    """The notebook's solution, with knobs to break it."""
    chosen = model.predict_proba(frame[FEATURES])[:, 1] >= (threshold if cut is None else cut)
    return metric(frame[TARGET], chosen, sensitive_features=frame[by])


def test_ex7_solution_passes_with_one_line(lab, capsys):
    capsys.readouterr()
    course.check("m10.ex7", group_report=group_report, parity_difference=parity_difference, model_name=MODEL)  # fmt: skip
    assert_one_tick(capsys, "m10.ex7")


def test_ex7_wrong_answers(lab):
    def check(match, report=group_report, parity=parity_difference):
        assert_wrong("m10.ex7", match, group_report=report, parity_difference=parity, model_name=MODEL)  # fmt: skip

    def precision(y_true, y_pred):
        picked = np.asarray(y_pred) == 1
        return float(np.asarray(y_true)[picked].mean()) if picked.any() else 0.0

    def whole_frame(m, f, b, t):
        return group_report(m, f, b, t, whole=("selection_rate", "true_positive_rate"))

    def whole_scores(m, f, b, t):
        return group_report(m, f, b, t, whole=("mean_score",))

    def predict(m, f, b, t):
        return group_report(m, f, b, t, cut=0.5)

    def selected_share(m, f, b, t):
        return group_report(m, f, b, t).assign(mean_score=lambda r: r["selection_rate"])

    def in_a_column(m, f, b, t):
        return group_report(m, f, b, t).reset_index(drop=True)

    check("selection_rate is the same for every group", report=whole_frame)
    check("mean_score is the same for every group", report=whole_scores)
    check("selection_rate ignores `threshold`", report=predict)
    check("share of selected customers who buy", report=lambda m, f, b, t: group_report(m, f, b, t, tpr=precision))  # fmt: skip
    check("mean_score is the share selected", report=selected_share)
    check("not the values of 'country'", report=in_a_column)
    check("lacks column.*positive_rate", report=lambda m, f, b, t: group_report(m, f, b, t).drop(columns="positive_rate"))  # fmt: skip
    check("should return a pd.DataFrame", report=lambda m, f, b, t: group_report(m, f, b, t).to_dict())  # fmt: skip
    ratio = lambda m, f, b, t: parity_difference(m, f, b, t, metric=demographic_parity_ratio)  # noqa: E731
    check("ratio of the smallest to the largest", parity=ratio)
    check("parity_difference ignores `threshold`", parity=lambda m, f, b, t: parity_difference(m, f, b, t, cut=0.5))  # fmt: skip
    check("equalized odds difference", parity=lambda m, f, b, t: parity_difference(m, f, b, t, metric=equalized_odds_difference))  # fmt: skip
    check("is negative", parity=lambda m, f, b, t: -parity_difference(m, f, b, t))
    check("should be a number", parity=lambda m, f, b, t: "0.04")
    check("should be a function", parity="parity_difference")


def test_ex7_stub(lab):
    for report, parity in ((None, None), (stub, stub), (group_report, stub), (group_report, None)):
        with pytest.raises(course.NotAttempted):
            course.check("m10.ex7", group_report=report, parity_difference=parity, model_name=MODEL)  # fmt: skip


# --- quiz ----------------------------------------------------------------------------------

QUIZ = {"m10.q1": ("a", "b"), "m10.q2": ("a", "c"), "m10.q3": ("c", "a"), "m10.q4": ("a", "b")}


@pytest.mark.parametrize("question", sorted(QUIZ))
def test_quiz(course_home, capsys, question):
    right, wrong = QUIZ[question]
    course.quiz.check(question, right)
    assert_one_tick(capsys, question)
    with pytest.raises(course.CheckError, match="not quite") as excinfo:
        course.quiz.check(question, wrong)
    assert not isinstance(excinfo.value, course.NotAttempted)
    with pytest.raises(course.NotAttempted):
        course.quiz.check(question, None)
