"""m09 checks against the solution notebook's own code and state.

Building the state (Feast repo, bootstrap champion, the whole timeline) takes about 20 s, so one
module-scoped fixture runs the solution notebook's code cells once (`nb`); tests that change the
registry or the audit trail put it back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from _assert import assert_one_tick, assert_wrong

import course

NOTEBOOK = (
    Path(__file__).resolve().parents[2]
    / "solutions"
    / "09_continuous_training"
    / "09_continuous_training.ipynb"
)


def _code_cells() -> list[str]:
    """The notebook's code, without graded cells and the progress table."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    out = []
    for cell in cells:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        graded = cell.get("metadata", {}).get("nbgrader", {}).get("grade", False)
        if cell["cell_type"] == "code" and not graded and "course.progress" not in source:
            out.append(source)
    return out


@pytest.fixture(scope="module")
def nb(tmp_path_factory) -> dict[str, Any]:
    saved = dict(os.environ)
    os.environ["COURSE_HOME"] = str(tmp_path_factory.mktemp("m09") / "home")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("COURSE_STUDENT_ID", None)
    namespace: dict[str, Any] = {}
    for source in _code_cells():
        exec(compile(source, str(NOTEBOOK), "exec"), namespace)  # noqa: S102
    yield namespace
    mlflow.set_tracking_uri(None)
    os.environ.clear()
    os.environ.update(saved)


def stub(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError()


def not_attempted(exercise_id: str, **answers: Any) -> None:
    with pytest.raises(course.NotAttempted):
        course.check(exercise_id, **answers)


# --- m09.ex1 features ------------------------------------------------------------------------


def test_ex1_solution_passes(nb, capsys):
    capsys.readouterr()
    course.check("m09.ex1", features_step=nb["features_step"])
    assert_one_tick(capsys, "m09.ex1")


def test_ex1_wrong(nb):
    store, refs = nb["store"], nb["FEATURE_REFS"]

    def feast_as_is(requests):  # Feast's own order, dropped rows
        with course.quiet():
            return store.get_historical_features(entity_df=requests, features=refs).to_df()

    def exact_join(requests):  # a plain merge on the timestamp finds no snapshot
        snaps = nb["activity"][["customer_id", "event_timestamp", *nb["FEATURES"]]]
        return requests.merge(snaps, on=["customer_id", "event_timestamp"], how="left")

    def last_snapshot(requests):  # the newest values, not as of the request
        latest = nb["activity"].sort_values("week").groupby("customer_id").tail(1)
        return requests.merge(
            latest[["customer_id", *nb["FEATURES"]]], on="customer_id", how="left"
        )

    assert_wrong("m09.ex1", "requests gave|order", features_step=feast_as_is)
    assert_wrong("m09.ex1", "differs from the snapshot", features_step=exact_join)
    assert_wrong("m09.ex1", "differs from the snapshot", features_step=last_snapshot)
    assert_wrong("m09.ex1", "should return a DataFrame", features_step=lambda r: r.to_dict())


def test_ex1_not_attempted(nb):
    not_attempted("m09.ex1", features_step=None)
    not_attempted("m09.ex1", features_step=stub)


# --- m09.ex2 drift ---------------------------------------------------------------------------


def test_ex2_solution_passes(nb, capsys):
    capsys.readouterr()
    course.check("m09.ex2", drift_step=nb["drift_step"])
    assert_one_tick(capsys, "m09.ex2")


def test_ex2_wrong(nb):
    right = nb["drift_step"]

    def any_column(reference, current):  # one drifted column is not dataset drift
        got = right(reference, current)
        return {**got, "drifted": bool(got["features"])}

    def every_column(reference, current):
        return {**right(reference, current), "features": list(nb["FEATURES"])}

    def count_not_share(reference, current):
        got = right(reference, current)
        return {**got, "share": float(len(got["features"]))}

    assert_wrong("m09.ex2", "compare with DRIFT_SHARE", drift_step=any_column)
    assert_wrong("m09.ex2", "stays below its threshold", drift_step=every_column)
    assert_wrong("m09.ex2", "not the drifted fraction", drift_step=count_not_share)
    assert_wrong("m09.ex2", "should return a dict", drift_step=lambda r, c: 0.7)


def test_ex2_not_attempted(nb):
    not_attempted("m09.ex2", drift_step=None)
    not_attempted("m09.ex2", drift_step=stub)


# --- m09.ex3 gate ----------------------------------------------------------------------------


def test_ex3_solution_passes(nb, capsys):
    capsys.readouterr()
    course.check("m09.ex3", gate_step=nb["gate_step"])
    assert_one_tick(capsys, "m09.ex3")


def test_ex3_wrong(nb):
    from sklearn.metrics import log_loss, roc_auc_score

    numeric, target = nb["NUMERIC"], "converted_next_7d"

    def score(model, holdout):
        return model.predict_proba(holdout[numeric])[:, 1]

    def no_tests(challenger, champion, holdout):
        ours = log_loss(holdout[target], score(challenger, holdout))
        theirs = log_loss(holdout[target], score(champion, holdout))
        return {"tests_passed": True, "challenger_log_loss": ours, "champion_log_loss": theirs,
                "passed": ours < theirs - 0.005}  # fmt: skip

    def by_auc(challenger, champion, holdout):
        ours = roc_auc_score(holdout[target], score(challenger, holdout))
        theirs = roc_auc_score(holdout[target], score(champion, holdout))
        return {"tests_passed": True, "challenger_log_loss": ours, "champion_log_loss": theirs,
                "passed": ours > theirs}  # fmt: skip

    def no_champion(challenger, champion, holdout):
        got = nb["gate_step"](challenger, champion, holdout)
        return {**got, "passed": got["tests_passed"]}

    assert_wrong("m09.ex3", "raised ValueError", gate_step=no_tests)
    assert_wrong("m09.ex3", "not that model's log loss", gate_step=by_auc)
    assert_wrong("m09.ex3", "higher log loss than the champion passed", gate_step=no_champion)


def test_ex3_not_attempted(nb):
    not_attempted("m09.ex3", gate_step=None)
    not_attempted("m09.ex3", gate_step=stub)


# --- m09.ex4 register ------------------------------------------------------------------------


def test_ex4_solution_passes_and_cleans_up(nb, capsys):
    client = nb["client"]
    models = {m.name for m in client.search_registered_models()}
    capsys.readouterr()
    course.check("m09.ex4", register_step=nb["register_step"])
    assert_one_tick(capsys, "m09.ex4")
    assert {m.name for m in client.search_registered_models()} == models
    assert not mlflow.search_runs(
        search_all_experiments=True, filter_string="tags.pipeline = 'course-check'"
    ).shape[0]


def test_ex4_wrong(nb):
    client, pip = nb["client"], nb["stack"].pip_requirements

    def no_source_run(model_name, model, lineage):
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=pip)
        version = mlflow.register_model(info.model_uri, model_name)
        for key, value in lineage.items():
            client.set_model_version_tag(model_name, version.version, key, str(value))
        client.set_registered_model_alias(model_name, "challenger", version.version)
        return version

    def own_run(model_name, model, lineage):
        with mlflow.start_run(nested=True):
            return nb["register_step"](model_name, model, lineage)

    def no_alias(model_name, model, lineage):
        version = nb["register_step"](model_name, model, lineage)
        client.delete_registered_model_alias(model_name, "challenger")
        return version

    assert_wrong("m09.ex4", "source_run", register_step=no_source_run)
    assert_wrong("m09.ex4", "not logged in the active run", register_step=own_run)
    assert_wrong("m09.ex4", "@challenger", register_step=no_alias)


def test_ex4_not_attempted(nb):
    not_attempted("m09.ex4", register_step=None)
    not_attempted("m09.ex4", register_step=stub)


# --- m09.ex5 decide --------------------------------------------------------------------------


def test_ex5_solution_passes(nb, capsys):
    capsys.readouterr()
    course.check("m09.ex5", decide_step=nb["decide_step"])
    assert_one_tick(capsys, "m09.ex5")


def test_ex5_wrong(nb):
    client, right = nb["client"], nb["decide_step"]

    def ignores_drift(model_name, challenger_version, drift, gate):
        return right(model_name, challenger_version, {**drift, "drifted": True}, gate)

    def no_promoted_from(model_name, challenger_version, drift, gate):
        if drift["drifted"] and gate and gate["passed"]:
            client.set_registered_model_alias(model_name, "champion", str(challenger_version))
            return {"decision": "promote", "reason": "gate passed"}
        return right(model_name, challenger_version, drift, gate)

    def one_reason(model_name, challenger_version, drift, gate):
        got = right(model_name, challenger_version, drift, gate)
        return {**got, "reason": f"pipeline decision, share {drift['share']}, 0.4321 0.3871"}

    def says_promoted(model_name, challenger_version, drift, gate):
        got = right(model_name, challenger_version, drift, gate)
        return {**got, "decision": got["decision"].replace("promote", "promoted")}

    assert_wrong("m09.ex5", "drift share", decide_step=ignores_drift)
    assert_wrong("m09.ex5", "promoted_from", decide_step=no_promoted_from)
    assert_wrong("m09.ex5", "same reason", decide_step=one_reason)
    assert_wrong("m09.ex5", "'decision' should be", decide_step=says_promoted)


def test_ex5_not_attempted(nb):
    not_attempted("m09.ex5", decide_step=None)
    not_attempted("m09.ex5", decide_step=stub)


# --- m09.ex6 the pipeline --------------------------------------------------------------------


def test_ex6_solution_passes(nb, capsys):
    capsys.readouterr()
    course.check("m09.ex6", run_week=nb["run_week"], model_name=nb["MODEL"])
    assert_one_tick(capsys, "m09.ex6")


def test_ex6_wrong(nb):
    client = nb["client"]

    def reruns(week):  # no skip: every call is a new run
        with mlflow.start_run(tags={"pipeline": "rerun"}):
            pass
        return {"decision": "keep" if week not in (22, 24) else "promote"}

    before = {r.info.run_id for r in client.search_runs([_experiment(nb)], "")}
    try:
        assert_wrong("m09.ex6", "started new runs", run_week=reruns, model_name=nb["MODEL"])
    finally:
        for run in client.search_runs([_experiment(nb)], ""):
            if run.info.run_id not in before:
                client.delete_run(run.info.run_id)
    assert_wrong(
        "m09.ex6",
        "another decision",
        run_week=lambda w: {"decision": "promote"},
        model_name=nb["MODEL"],
    )


def test_ex6_wrong_state(nb):
    """A champion moved by hand in a calm week is caught from the audit trail."""
    client, model = nb["client"], nb["MODEL"]
    run = client.search_runs([_experiment(nb)], "tags.week = '19' and tags.pipeline = 'weekly'")[0]
    client.set_tag(run.info.run_id, "champion_version", "3")
    try:
        assert_wrong(
            "m09.ex6",
            "changed in week 19|without a promote",
            run_week=nb["run_week"],
            model_name=model,
        )
    finally:
        client.set_tag(run.info.run_id, "champion_version", "1")
    champion = client.get_model_version_by_alias(model, "champion").version
    client.set_registered_model_alias(model, "champion", "1")
    try:
        assert_wrong("m09.ex6", "last week's run says", run_week=nb["run_week"], model_name=model)
    finally:
        client.set_registered_model_alias(model, "champion", champion)


def test_ex6_not_attempted(nb):
    not_attempted("m09.ex6", run_week=None, model_name=nb["MODEL"])
    not_attempted("m09.ex6", run_week=stub, model_name=nb["MODEL"])


def _experiment(nb) -> str:
    return mlflow.get_experiment_by_name(nb["stack"].experiment_name).experiment_id


def test_timeline_promotes_in_the_holiday_only(nb):
    trail = nb["mlflow"].search_runs(
        experiment_names=[nb["stack"].experiment_name], filter_string="tags.pipeline = 'weekly'"
    )
    decisions = dict(zip(trail["tags.week"].astype(int), trail["tags.decision"], strict=True))
    assert sorted(decisions) == list(range(18, 26))
    promoted = {w for w, d in decisions.items() if d == "promote"}
    assert promoted and promoted <= {22, 23, 24, 25}
    assert isinstance(nb["audit"], pd.DataFrame) and np.all(nb["audit"]["week"].astype(int) >= 18)


# --- quiz and hints --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qid", "right", "wrong"),
    [("m09.q1", "c", "b"), ("m09.q2", "b", "d"), ("m09.q3", 2, 4), ("m09.q4", "c", "a")],
)
def test_quiz(course_home, capsys, qid, right, wrong):
    course.quiz.check(qid, right)
    assert_one_tick(capsys, qid)
    with pytest.raises(course.CheckError):
        course.quiz.check(qid, wrong)
    with pytest.raises(course.NotAttempted):
        course.quiz.check(qid, None)
