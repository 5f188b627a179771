"""m07 checks, called as the monitoring notebook calls them.

The right answers are the notebook's solutions (with Evidently); the wrong ones are the mistakes
a learner makes: a hard-coded list, the wrong direction of a score, labels from the future, a
global Prometheus registry. Every stub must read as "not attempted".
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _assert import assert_one_tick, assert_wrong
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from scipy.stats import wasserstein_distance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import course
from course import data

with course.quiet():
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

NUMERIC = list(data.NUMERIC_FEATURES)
CATEGORICAL = list(data.CATEGORICAL_FEATURES)
FEATURES = NUMERIC + CATEGORICAL
DEFINITION = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
P_VALUE_METHODS = {"ks", "chisquare", "z", "mannw", "t_test", "anderson"}
ACTIVITY = data.activity()


@pytest.fixture(scope="module")
def model():
    train, _ = data.split()
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return clf.fit(train[NUMERIC], train[data.TARGET])


@pytest.fixture
def notebook(course_home, model):
    """The notebook's functions (its solutions), bound to the calm-weeks model."""
    return Notebook(model)


def window(first: int, last: int | None = None) -> pd.DataFrame:
    last = first if last is None else last
    return ACTIVITY[ACTIVITY["week"].between(first, last)].reset_index(drop=True)


def as_dataset(frame: pd.DataFrame) -> Dataset:
    return Dataset.from_pandas(frame[FEATURES], data_definition=DEFINITION)


def stub(*args, **kwargs):
    raise NotImplementedError()


class Notebook:
    def __init__(self, model) -> None:
        self.model = model

    def drift_values(self, reference, current) -> list[tuple[str, float, float]]:
        snap = Report([DataDriftPreset()]).run(
            current_data=as_dataset(current), reference_data=as_dataset(reference)
        )
        return [
            (m["config"]["column"], float(m["value"]), m["config"]["threshold"])
            for m in snap.dict()["metrics"]
            if m["config"]["type"].endswith(":ValueDrift")
        ]

    def drifted_features(self, reference, current) -> list[str]:
        return [c for c, v, t in self.drift_values(reference, current) if v >= t]

    def drift_scores(self, reference, current, method, p_values=P_VALUE_METHODS) -> pd.DataFrame:
        snap = Report([ValueDrift(column=c, method=method) for c in NUMERIC]).run(
            current_data=as_dataset(current), reference_data=as_dataset(reference)
        )
        rows = {}
        for m in snap.dict()["metrics"]:
            score, threshold = float(m["value"]), m["config"]["threshold"]
            drifted = score <= threshold if method in p_values else score >= threshold
            rows[m["config"]["column"]] = {"score": score, "drifted": drifted}
        return pd.DataFrame.from_dict(rows, orient="index")

    def scores(self, frame) -> np.ndarray:
        return self.model.predict_proba(frame[NUMERIC])[:, 1]

    def prediction_drift(self, reference, current, method="wasserstein") -> float:
        ref = pd.DataFrame({"prediction": self.scores(reference)})
        cur = pd.DataFrame({"prediction": self.scores(current)})
        snap = Report([ValueDrift(column="prediction", method=method)]).run(
            current_data=cur, reference_data=ref
        )
        return float(snap.dict()["metrics"][0]["value"])

    def performance(self, snapshots) -> dict:
        scores, labels = self.scores(snapshots), snapshots[data.TARGET]
        return {
            "roc_auc": roc_auc_score(labels, scores),
            "predicted_rate": scores.mean(),
            "actual_rate": labels.mean(),
        }

    def monitor(self, reference, weeks, label_week=lambda w: w - 1, share=True) -> pd.DataFrame:
        rows = []
        for w in weeks:
            current = window(w)
            flagged = len(self.drifted_features(reference, current))
            rows.append(
                {
                    "week": w,
                    "drift_share": flagged / len(FEATURES) if share else flagged,
                    "prediction_drift": self.prediction_drift(reference, current),
                    "roc_auc": self.performance(window(label_week(w)))["roc_auc"],
                }
            )
        return pd.DataFrame(rows)

    @staticmethod
    def should_retrain(row) -> bool:
        drift = row["drift_share"] >= 0.5 and row["prediction_drift"] >= 0.1
        return bool(drift or row["roc_auc"] < 0.72)

    def exposition(self, results, registry=None, latest=None, kind=Gauge, retrain=None) -> str:
        latest = results.loc[results["week"].idxmax()] if latest is None else latest(results)
        registry = CollectorRegistry() if registry is None else registry
        retrain = int(self.should_retrain(latest)) if retrain is None else retrain
        values = {
            "shopflow_monitored_week": latest["week"],
            "shopflow_drift_share": latest["drift_share"],
            "shopflow_prediction_drift": latest["prediction_drift"],
            "shopflow_roc_auc": latest["roc_auc"],
            "shopflow_retrain_required": retrain,
        }
        for name, value in values.items():
            metric = kind(name, "help", registry=registry)
            metric.set(float(value)) if kind is Gauge else metric.inc(float(value))
        return generate_latest(registry).decode()


# --- m07.ex1 drifted_features -----------------------------------------------------------------


def test_ex1_solution_passes_with_one_line(notebook, capsys):
    course.check("m07.ex1", drifted_features=notebook.drifted_features)
    assert_one_tick(capsys, "m07.ex1")


def test_ex1_wrong_answers(notebook):
    fixed = window(13, 16)

    def hard_coded(reference, current):
        return list(data.HOLIDAY_DRIFTED_FEATURES)

    def below(reference, current):
        return [c for c, v, t in notebook.drift_values(reference, current) if v < t]

    def global_reference(reference, current):
        return notebook.drifted_features(fixed, current)

    assert_wrong("m07.ex1", "whose drift score reaches", drifted_features=hard_coded)
    assert_wrong("m07.ex1", "misses", drifted_features=below)
    assert_wrong("m07.ex1", "vs week 20.*misses", drifted_features=global_reference)
    assert_wrong(
        "m07.ex1", "should return a list", drifted_features=lambda r, c: pd.DataFrame({"a": [1]})
    )
    assert_wrong("m07.ex1", "non-features", drifted_features=lambda r, c: ["basket"])
    assert_wrong("m07.ex1", "should be a function", drifted_features=["device"])


def test_ex1_not_attempted(course_home):
    for answer in (None, stub):
        with pytest.raises(course.NotAttempted):
            course.check("m07.ex1", drifted_features=answer)


# --- m07.ex2 drift_scores --------------------------------------------------------------------


def test_ex2_solution_passes_with_one_line(notebook, capsys):
    course.check("m07.ex2", drift_scores=notebook.drift_scores)
    assert_one_tick(capsys, "m07.ex2")


def test_ex2_wrong_answers(notebook):
    def default_method(reference, current, method):
        return notebook.drift_scores(reference, current, None)

    def all_distances(reference, current, method):
        return notebook.drift_scores(reference, current, method, p_values=set())

    def psi_as_p_value(reference, current, method):
        return notebook.drift_scores(reference, current, method, p_values={"ks", "psi"})

    def as_dict(reference, current, method):
        return notebook.drift_scores(reference, current, method).to_dict()

    assert_wrong("m07.ex2", "not the Kolmogorov-Smirnov p-value", drift_scores=default_method)
    assert_wrong("m07.ex2", "with 'ks' the score is a p-value", drift_scores=all_distances)
    assert_wrong("m07.ex2", "with 'psi' the score is a distance", drift_scores=psi_as_p_value)
    assert_wrong("m07.ex2", "should return a DataFrame", drift_scores=as_dict)


def test_ex2_not_attempted(course_home):
    for answer in (None, stub):
        with pytest.raises(course.NotAttempted):
            course.check("m07.ex2", drift_scores=answer)


# --- m07.ex3 prediction_drift ----------------------------------------------------------------


def test_ex3_solution_passes_with_one_line(notebook, model, capsys):
    course.check("m07.ex3", prediction_drift=notebook.prediction_drift, model=model)
    assert_one_tick(capsys, "m07.ex3")


def test_ex3_wrong_answers(notebook, model):
    def p_value(reference, current):
        return notebook.prediction_drift(reference, current, method="ks")

    def not_normed(reference, current):
        return wasserstein_distance(notebook.scores(reference), notebook.scores(current))

    def hard_labels(reference, current):
        ref, cur = model.predict(reference[NUMERIC]), model.predict(current[NUMERIC])
        return wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)

    for wrong in (p_value, not_normed, hard_labels):
        assert_wrong("m07.ex3", "not the normed Wasserstein", prediction_drift=wrong, model=model)
    assert_wrong(
        "m07.ex3", "should return a number", prediction_drift=lambda r, c: "0.3", model=model
    )
    assert_wrong(
        "m07.ex3", "the fitted classifier", prediction_drift=notebook.prediction_drift, model="m"
    )


def test_ex3_not_attempted(model, course_home):
    for answer in (None, stub):
        with pytest.raises(course.NotAttempted):
            course.check("m07.ex3", prediction_drift=answer, model=model)


# --- m07.ex4 performance ---------------------------------------------------------------------


def test_ex4_solution_passes_with_one_line(notebook, model, capsys):
    course.check("m07.ex4", performance=notebook.performance, model=model)
    assert_one_tick(capsys, "m07.ex4")


def test_ex4_wrong_answers(notebook, model):
    def hard_auc(snapshots):
        result = notebook.performance(snapshots)
        labels = model.predict(snapshots[NUMERIC])
        return result | {"roc_auc": roc_auc_score(snapshots[data.TARGET], labels)}

    def predicted_labels(snapshots):
        result = notebook.performance(snapshots)
        return result | {"predicted_rate": model.predict(snapshots[NUMERIC]).mean()}

    def fixed_window(snapshots):
        return notebook.performance(window(22))

    assert_wrong("m07.ex4", "roc_auc .* not the ROC AUC", performance=hard_auc, model=model)
    assert_wrong("m07.ex4", "not the mean predicted", performance=predicted_labels, model=model)
    assert_wrong("m07.ex4", "on week 17", performance=fixed_window, model=model)
    assert_wrong("m07.ex4", "should return a dict", performance=lambda s: (0.8, 0.1), model=model)


def test_ex4_not_attempted(model, course_home):
    for answer in (None, stub):
        with pytest.raises(course.NotAttempted):
            course.check("m07.ex4", performance=answer, model=model)


# --- m07.ex5 monitor -------------------------------------------------------------------------


def test_ex5_solution_passes_with_one_line(notebook, model, capsys):
    course.check("m07.ex5", monitor=notebook.monitor, model=model)
    assert_one_tick(capsys, "m07.ex5")


def test_ex5_wrong_answers(notebook, model):
    def same_week_labels(reference, weeks):
        return notebook.monitor(reference, weeks, label_week=lambda w: w)

    def counts(reference, weeks):
        return notebook.monitor(reference, weeks, share=False)

    def first_week_only(reference, weeks):
        return notebook.monitor(reference, weeks[:1])

    def as_records(reference, weeks):
        return notebook.monitor(reference, weeks).to_dict("records")

    assert_wrong("m07.ex5", "do not exist yet", monitor=same_week_labels, model=model)
    assert_wrong("m07.ex5", "not the share of the 10", monitor=counts, model=model)
    assert_wrong("m07.ex5", "one row per week asked", monitor=first_week_only, model=model)
    assert_wrong("m07.ex5", "should return a DataFrame", monitor=as_records, model=model)


def test_ex5_not_attempted(model, course_home):
    for answer in (None, stub):
        with pytest.raises(course.NotAttempted):
            course.check("m07.ex5", monitor=answer, model=model)


# --- m07.ex6 should_retrain ------------------------------------------------------------------


def test_ex6_solution_passes_with_one_line(notebook, model, capsys):
    course.check("m07.ex6", should_retrain=notebook.should_retrain, model=model)
    assert_one_tick(capsys, "m07.ex6")


def test_ex6_wrong_answers(model, course_home):
    def any_drift(row):
        return bool(row["drift_share"] > 0)

    def share_only(row):
        return bool(row["drift_share"] >= 0.5 or row["roc_auc"] < 0.72)

    def auc_only(row):
        return bool(row["roc_auc"] < 0.72)

    assert_wrong("m07.ex6", "fires in calm week 20", should_retrain=any_drift, model=model)
    assert_wrong("m07.ex6", "predictions did not move", should_retrain=share_only, model=model)
    assert_wrong("m07.ex6", "before any label arrived", should_retrain=auc_only, model=model)
    assert_wrong(
        "m07.ex6", "should return True or False", should_retrain=lambda row: "yes", model=model
    )


def test_ex6_not_attempted(model, course_home):
    for answer in (None, stub):
        with pytest.raises(course.NotAttempted):
            course.check("m07.ex6", should_retrain=answer, model=model)


# --- m07.ex7 exposition ----------------------------------------------------------------------


def test_ex7_solution_passes_with_one_line(notebook, capsys):
    course.check("m07.ex7", exposition=notebook.exposition)
    assert_one_tick(capsys, "m07.ex7")


def test_ex7_wrong_answers(notebook):
    shared = CollectorRegistry()

    def global_registry(results):
        return notebook.exposition(results, registry=shared)

    def last_row(results):
        return notebook.exposition(results, latest=lambda r: r.iloc[-1])

    def as_bytes(results):
        return notebook.exposition(results).encode()

    def counters(results):
        return notebook.exposition(results, kind=Counter)

    def never_retrain(results):
        return notebook.exposition(results, retrain=0)

    def no_auc(results):
        text = notebook.exposition(results)
        return "\n".join(ln for ln in text.splitlines() if "shopflow_roc_auc" not in ln) + "\n"

    assert_wrong("m07.ex7", "Duplicated timeseries", exposition=global_registry)
    assert_wrong("m07.ex7", "not the last row", exposition=last_row)
    assert_wrong("m07.ex7", "returns bytes", exposition=as_bytes)
    assert_wrong("m07.ex7", "is a counter, not a gauge", exposition=counters)
    assert_wrong("m07.ex7", "shopflow_retrain_required is 0", exposition=never_retrain)
    assert_wrong("m07.ex7", "has no metric shopflow_roc_auc", exposition=no_auc)
    assert_wrong("m07.ex7", "not Prometheus text", exposition=lambda r: "drift share: 0.8")


def test_ex7_not_attempted(course_home):
    for answer in (None, stub):
        with pytest.raises(course.NotAttempted):
            course.check("m07.ex7", exposition=answer)


# --- quiz and hints --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qid", "right", "wrong"),
    [
        ("m07.q1", "d", "c"),
        ("m07.q2", "b", "c"),
        ("m07.q3", 0.8, 0.7),
        ("m07.q4", 21, 22),
        ("m07.q5", "b", "a"),
    ],
)
def test_quiz(course_home, capsys, qid, right, wrong):
    course.quiz.check(qid, right)
    assert_one_tick(capsys, qid)
    with pytest.raises(course.CheckError):
        course.quiz.check(qid, wrong)
    with pytest.raises(course.NotAttempted):
        course.quiz.check(qid, None)


def test_q3_accepts_what_the_monitor_gives(course_home):
    course.quiz.check("m07.q3", 8 / 10)
    course.quiz.check("m07.q3", np.float64(0.8))
    with pytest.raises(course.CheckError):
        course.quiz.check("m07.q3", 8)  # a count, not a share


# --- m07.ex8 alert rules, tested with promtool -------------------------------------------------

SOLUTION_NB = (
    Path(__file__).resolve().parents[2]
    / "solutions"
    / "07_monitoring_drift"
    / "07_monitoring_drift.ipynb"
)
needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is not installed (make system-deps)"
)


def _solution_file(grade_id: str) -> str:
    """The file the solution's %%writefile cell writes: its scaffold and its solution."""
    cell = next(c for c in json.loads(SOLUTION_NB.read_text())["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)  # fmt: skip
    lines = "".join(cell["source"]).splitlines()[1:]  # below the %%writefile line
    return "\n".join(ln for ln in lines if not ln.startswith("### ")) + "\n"


RULES_YML = _solution_file("m07_ex8_rules_answer")
TESTS_YML = _solution_file("m07_ex8_tests_answer")
NO_TESTS = "rule_files: [alerts.yml]\ntests: []\n"


def _files(tmp_path, rules: str = RULES_YML, tests: str = TESTS_YML) -> dict[str, str]:
    (tmp_path / "alerts.yml").write_text(rules)
    (tmp_path / "alerts_test.yml").write_text(tests)
    return {
        "rules_file": str(tmp_path / "alerts.yml"),
        "tests_file": str(tmp_path / "alerts_test.yml"),
    }


def _swap(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


@needs_promtool
def test_ex8_solution_passes_with_one_line(course_home, tmp_path, capsys):
    course.check("m07.ex8", **_files(tmp_path))
    assert_one_tick(capsys, "m07.ex8 correct: ShopflowDataDrift fires on the second drifted week")


@needs_promtool
@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        pytest.param("        for: 1w\n", "", "fires after a single drifted week", id="drift-no-for"),
        pytest.param("for: 1w", "for: 2w", "stays quiet after two drifted weeks", id="drift-for-2w"),
        pytest.param("> 0.5", "> 0.6", "goes quiet at a drift share of 0.55", id="drift-threshold"),
        pytest.param("> 0.5", "> 0.4", "fires at a drift share of 0.45", id="drift-low"),
        pytest.param("        for: 5m\n", "", "fires on a 2-minute blip", id="latency-no-for"),
        pytest.param("for: 5m", "for: 30s", "fires on a 2-minute blip", id="latency-short-for"),
        pytest.param("> 0.25", "> 0.05", "fires while p95 is 0.1 s", id="latency-threshold"),
        pytest.param("for: 5m", "for: 30m", "stays quiet after 12 minutes", id="latency-too-slow"),
        pytest.param("expr: shopflow_drift_share > 0.5", "expr: shopflow_drift_share >",
                     "promtool check rules rejects alerts.yml", id="bad-promql"),
        pytest.param("alert: ShopflowSlowPredictions", "alert: SlowPredictions",
                     "has no alert named ShopflowSlowPredictions", id="renamed"),
        pytest.param("groups:\n", "groups:\n\t", "not valid YAML", id="yaml"),
    ],
)  # fmt: skip
def test_ex8_wrong_rules(course_home, tmp_path, old, new, match):
    # tests that pass on any rules: the check's own cases must catch the rule
    rules = _swap(RULES_YML, old, new)
    assert_wrong("m07.ex8", match, **_files(tmp_path, rules, NO_TESTS))


@needs_promtool
def test_ex8_weak_or_failing_tests(course_home, tmp_path):
    lone_week = TESTS_YML.split(
        "      - {alertname: ShopflowDataDrift, eval_time: 335h, exp_alerts: []}"
    )
    weak = "".join(lone_week[:1] + [lone_week[1].split("\n", 1)[1]])
    assert_wrong(
        "m07.ex8", "fires after a single drifted week: add a case", **_files(tmp_path, tests=weak)
    )
    header, latency_group, drift_group = TESTS_YML.split("  - interval: 1h")
    no_latency = header + "  - interval: 1h" + drift_group
    assert "serving_latency" in latency_group and "serving_latency" not in no_latency
    assert_wrong(
        "m07.ex8", "ShopflowSlowPredictions never fires", **_files(tmp_path, tests=no_latency)
    )
    failing = _swap(TESTS_YML, "eval_time: 839h", "eval_time: 600h")
    assert_wrong("m07.ex8", "your tests fail on your rules", **_files(tmp_path, tests=failing))
    assert_wrong("m07.ex8", "needs tests:", **_files(tmp_path, tests="rule_files: [alerts.yml]\n"))


def test_ex8_without_promtool_checks_the_structure(course_home, tmp_path, monkeypatch, capsys):
    from course import promtool

    monkeypatch.setattr(promtool, "available", lambda: False)
    course.check("m07.ex8", **_files(tmp_path))
    assert_one_tick(capsys, "m07.ex8 correct: both rules read right (promtool is not installed")
    rules = _swap(RULES_YML, "        for: 1w\n", "")
    assert_wrong("m07.ex8", "should hold for one weekly run", **_files(tmp_path, rules))


def test_ex8_not_attempted(course_home, tmp_path):
    stub_text = "# YOUR CODE HERE\nraise NotImplementedError()\n"
    for answers in (
        {"rules_file": None, "tests_file": None},
        _files(tmp_path, stub_text, stub_text),
        _files(tmp_path, RULES_YML, stub_text),
    ):
        with pytest.raises(course.NotAttempted):
            course.check("m07.ex8", **answers)
    assert_wrong("m07.ex8", "no file at", rules_file=str(tmp_path / "nope.yml"), tests_file="x")
