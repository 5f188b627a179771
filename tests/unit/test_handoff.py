"""course.handoff: what a module takes from earlier ones, and the baseline when it is missing."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import course
from course import _inference_log, data, handoff


def test_champion_registers_the_baseline_once_and_says_so(embedded, capsys):
    stack = embedded("m06")
    first = handoff.champion(stack)
    notice = capsys.readouterr().out
    assert notice.count("\n") == 1 and "course baseline" in notice and "module 3" in notice
    assert first.tags[handoff.BASELINE_TAG] == "true"
    assert first.tags["train_weeks"] == "0-16"  # data.split()'s training weeks, embargo included
    again = handoff.champion(stack)
    assert capsys.readouterr().out == "" and again.version == first.version


def test_champion_is_the_learners_when_there_is_one(embedded, capsys):
    stack = embedded("m06")
    handoff.champion(stack)
    mine = MlflowClient().get_model_version_by_alias(stack.model_name, "champion")
    assert handoff.champion(stack).version == mine.version


class _Wrapper(mlflow.pyfunc.PythonModel):
    def __init__(self, model):
        self.model = model

    def predict(self, context, model_input, params=None):
        return self.model.predict_proba(model_input[list(data.NUMERIC_FEATURES)])[:, 1]


class _Opaque(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return np.zeros(len(model_input))


def _log(python_model, stack) -> str:
    with mlflow.start_run():
        return mlflow.pyfunc.log_model(
            name="model", python_model=python_model, pip_requirements=stack.pip_requirements
        ).model_uri


def test_estimator_unwraps_a_pyfunc_and_refuses_an_opaque_one(embedded):
    stack = embedded("m06")
    version = handoff.champion(stack)
    inner = handoff.estimator(f"models:/{stack.model_name}/{version.version}")
    assert hasattr(inner, "predict_proba")
    assert handoff.estimator(_log(_Wrapper(inner), stack)) is not inner  # loaded, not shared
    rows = data.split()[1].head(20)
    wrapped = handoff.estimator(_log(_Wrapper(inner), stack))
    cols = list(data.NUMERIC_FEATURES)
    assert np.allclose(wrapped.predict_proba(rows[cols]), inner.predict_proba(rows[cols]))
    with pytest.raises(course.CourseError, match="no scikit-learn model") as err:
        handoff.estimator(_log(_Opaque(), stack))
    assert "\n" not in str(err.value)


class _Repair(TransformerMixin, BaseEstimator):
    """Module 6's repair step in miniature: parse amounts sent as text."""

    def fit(self, X, y=None):
        return self

    def __sklearn_is_fitted__(self):
        return True

    def transform(self, X):
        X = pd.DataFrame(X)[list(data.NUMERIC_FEATURES)].copy()
        X["aov_30d"] = X["aov_30d"].astype(str).str.removeprefix("EUR ")
        return X.apply(pd.to_numeric, errors="coerce").astype(float)


def test_estimator_takes_the_model_behind_module_6s_repair_step(embedded):
    """Module 6 registers Pipeline([("repair", ...), ("model", ...)]) with the sklearn flavor,
    serving predict_proba; later modules get the model behind the repair step, which scores
    the numeric features and saves again with joblib (module 10 measures its size)."""
    import joblib

    stack = embedded("m06")
    version = handoff.champion(stack)
    inner = handoff.estimator(f"models:/{stack.model_name}/{version.version}")
    package = Pipeline([("repair", _Repair()), ("model", inner)])
    with mlflow.start_run():
        uri = mlflow.sklearn.log_model(
            package,
            name="model",
            pyfunc_predict_fn="predict_proba",
            serialization_format="cloudpickle",
            pip_requirements=stack.pip_requirements,
        ).model_uri
    got = handoff.estimator(uri)
    assert type(got) is type(inner) and "repair" not in getattr(got, "named_steps", {})
    rows = data.split()[1].head(20)
    cols = list(data.NUMERIC_FEATURES)
    assert np.allclose(got.predict_proba(rows[cols]), inner.predict_proba(rows[cols]))
    served = mlflow.pyfunc.load_model(uri).predict(data.quality_incident(rows)[cols])
    assert np.allclose(served, inner.predict_proba(rows[cols]))  # the package repairs
    joblib.dump(got, stack.path("behind-repair.joblib"))
    longer = Pipeline([("repair", _Repair()), ("scale", StandardScaler()), ("model", inner)])
    assert [name for name, _ in handoff._behind_repair(longer).steps] == ["scale", "model"]
    assert handoff._behind_repair(inner) is inner


def test_traffic_scores_missing_weeks_with_the_champion_once(embedded, capsys):
    stack = embedded("m07")
    log = handoff.traffic(stack, [20, 23])
    out = capsys.readouterr().out
    assert "no traffic for weeks [20, 23]" in out and "module 6" in out
    assert sorted(log["week"].unique()) == [20, 23]
    expected = data.activity()
    expected = expected[expected["week"].isin([20, 23])].sort_values(["week", "customer_id"])
    assert list(log["customer_id"]) == list(expected["customer_id"])
    version = handoff.champion(stack)
    model = handoff.estimator(f"models:/{stack.model_name}/{version.version}")
    cols = list(data.NUMERIC_FEATURES)
    assert np.allclose(log["prediction"], model.predict_proba(expected[cols])[:, 1])
    assert set(log["model_version"]) == {str(version.version)}
    parts = len(list(_inference_log.directory(stack.home).glob("part-*")))
    again = handoff.traffic(stack, [23])
    assert "no traffic" not in capsys.readouterr().out
    assert len(list(_inference_log.directory(stack.home).glob("part-*"))) == parts
    assert len(again) == (expected["week"] == 23).sum()


def test_traffic_keeps_the_latest_answer_per_customer_and_week(embedded):
    stack = embedded("m07")
    rows = data.activity()
    rows = rows[rows["week"] == 19][["customer_id", "event_timestamp", "week", *data.FEATURES]]
    folder = _inference_log.directory(stack.home)
    _inference_log.append(folder, rows, np.full(len(rows), 0.1), stack.model_name, "1")
    _inference_log.append(folder, rows.head(5), np.full(5, 0.9), stack.model_name, "2")
    _inference_log.append(
        folder, rows[list(data.FEATURES)].head(3), np.ones(3), stack.model_name, "2"
    )
    incident = data.quality_incident(rows)[list(data.FEATURES)].head(4)  # text in number columns
    _inference_log.append(folder, incident, np.ones(4), stack.model_name, "2")
    log = handoff.traffic(stack, [19])
    assert len(log) == len(rows)  # keyless requests (ad-hoc calls) are not traffic
    assert (
        log.dtypes[list(data.NUMERIC_FEATURES)] == rows.dtypes[list(data.NUMERIC_FEATURES)]
    ).all()
    assert (
        log.set_index("customer_id").loc[rows["customer_id"].head(5), "prediction"] == 0.9
    ).all()
    assert log["model_version"].value_counts().to_dict() == {"1": len(rows) - 5, "2": 5}


def test_with_labels_joins_the_outcome_of_each_request(embedded):
    stack = embedded("m07")
    log = handoff.with_labels(handoff.traffic(stack, [18]))
    truth = data.activity().set_index(["customer_id", "week"])[data.TARGET]
    got = log.set_index(["customer_id", "week"])[data.TARGET]
    assert got.equals(truth.loc[got.index])


def test_split_embargoes_the_week_whose_label_is_a_holiday_purchase():
    assert data.EMBARGO_WEEKS == (21,)
    train, valid = data.split()
    assert sorted(valid["week"].unique()) == [17, 18, 19, 20]
    assert train["week"].max() == 16
    horizon = {
        w + k for w in valid["week"].unique() for k in range(1, data.LABEL_HORIZON_WEEKS + 1)
    }
    assert not horizon & set(data.HOLIDAY_WEEKS), "a validation label falls in the holiday"
    rates = data.activity().groupby("week")[data.TARGET].mean()
    assert rates[21] > 1.5 * rates[list(range(17, 21))].mean()  # why week 21 is embargoed
    assert valid[data.TARGET].mean() < 0.15
    both = pd.concat(data.split(holiday=True))
    assert {21, 22, 25} <= set(both["week"].unique())
