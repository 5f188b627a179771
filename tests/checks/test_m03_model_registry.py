"""m03 checks, called as the model-registry notebook calls them, against a real registry.

Each test builds the registry up to the exercise it tests (`shop`), the way the notebook does,
then plays the right answer, plausible mistakes and the untouched stub against the check.
"""

from __future__ import annotations

import hashlib

import mlflow
import pandas as pd
import pytest
from _assert import assert_one_tick, assert_wrong
from mlflow import MlflowClient
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import course
from course import data, handoff

MODEL = "shopflow-conversion"
FEATURES = list(data.NUMERIC_FEATURES)
OWNER = "growth-ml@shopflow.example"


class Shop:
    """The notebook's registry, built step by step; each step is the notebook's solution."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.client = MlflowClient()
        self.train, self.valid = data.split()
        self.fp = hashlib.sha256(
            pd.util.hash_pandas_object(self.train, index=False).to_numpy().tobytes()
        ).hexdigest()[:16]
        self.infos = {}
        self.data_version = handoff.data_version(stack)

    def log(self, kind: str, experiment_id: str | None = None):
        model = (
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
            if kind == "logreg"
            else RandomForestClassifier(
                n_estimators=20, max_depth=5, min_samples_leaf=50, random_state=0
            )
        )
        with mlflow.start_run(run_name=kind, experiment_id=experiment_id):
            model.fit(self.train[FEATURES], self.train[data.TARGET])
            scores = model.predict_proba(self.valid[FEATURES])[:, 1]
            mlflow.log_params({"model": kind, "data_fingerprint": self.fp,
                               "data_version": self.data_version, "code_version": "t-1"})  # fmt: skip
            mlflow.log_metric("val_roc_auc", roc_auc_score(self.valid[data.TARGET], scores))
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                pip_requirements=self.stack.pip_requirements,
                skops_trusted_types=["sklearn.tree._tree.Tree"],
            )
        self.infos[kind] = info
        return info

    def register(self, kind: str = "logreg"):
        return mlflow.register_model(self.log(kind).model_uri, MODEL)

    def audit(self, version, **override: str) -> None:
        run = self.client.get_run(version.run_id)
        tags = {
            "data_fingerprint": run.data.params["data_fingerprint"],
            "data_version": run.data.params["data_version"],
            "code_version": run.data.params["code_version"],
            "val_roc_auc": f"{run.data.metrics['val_roc_auc']:.6f}",
            "owner": OWNER,
        } | override
        for key, value in tags.items():
            self.client.set_model_version_tag(MODEL, version.version, key, value)
        self.client.update_model_version(
            MODEL, version.version, description="Logistic regression for weekly promotions."
        )

    def aliased(self):
        """Exercises 1-3 done: v1 logreg (audited) @champion, v2 forest @challenger."""
        v1 = self.register("logreg")
        self.audit(v1)
        v2 = self.register("forest")
        self.client.set_registered_model_alias(MODEL, "champion", v1.version)
        self.client.set_registered_model_alias(MODEL, "challenger", v2.version)
        return v1, v2


@pytest.fixture
def shop(embedded) -> Shop:
    return Shop(embedded("m03"))


# --- m03.ex1 register ----------------------------------------------------------------------


def test_ex1_solution_passes_with_one_line(shop, capsys):
    v1 = shop.register("logreg")
    capsys.readouterr()
    course.check("m03.ex1", model_name=MODEL, version=v1)
    assert_one_tick(capsys, "m03.ex1")
    course.check("m03.ex1", model_name=MODEL, version=str(v1.version))  # a number works too


def test_ex1_wrong_answers(shop):
    forest = shop.register("forest")
    assert_wrong("m03.ex1", "comes from the 'forest' run", model_name=MODEL, version=forest)
    assert_wrong("m03.ex1", "has no version 7", model_name=MODEL, version=7)
    assert_wrong("m03.ex1", "should be what mlflow.register_model", model_name=MODEL, version="v1")
    other = mlflow.register_model(shop.infos["forest"].model_uri, "another-model")
    assert_wrong("m03.ex1", "is a version of 'another-model'", model_name=MODEL, version=other)
    elsewhere = shop.log("logreg", experiment_id=mlflow.create_experiment("scratch"))
    wrong_experiment = mlflow.register_model(elsewhere.model_uri, MODEL)
    assert_wrong("m03.ex1", "not in this module's", model_name=MODEL, version=wrong_experiment)


def test_ex1_stub_and_empty_registry(shop):
    with pytest.raises(course.NotAttempted):
        course.check("m03.ex1", model_name=MODEL, version=None)
    assert_wrong("m03.ex1", "no registered model", model_name=MODEL, version=1)


# --- m03.ex2 audit tags --------------------------------------------------------------------


def test_ex2_solution_passes_with_one_line(shop, capsys):
    v1 = shop.register()
    shop.audit(v1)
    capsys.readouterr()
    course.check("m03.ex2", model_name=MODEL, version=v1)
    assert_one_tick(capsys, "m03.ex2")


def test_ex2_wrong_answers(shop):
    v1 = shop.register()
    for key in ("data_fingerprint", "owner"):
        shop.client.set_registered_model_tag(MODEL, key, "x")
    shop.client.set_model_version_tag(MODEL, v1.version, "code_version", "t-1")
    assert_wrong("m03.ex2", "they are on the registered model", model_name=MODEL, version=v1)
    shop.audit(v1, data_fingerprint="0123456789abcdef")
    assert_wrong("m03.ex2", "lineage version -> run is broken", model_name=MODEL, version=v1)
    shop.audit(v1, data_version="0" * 32)
    assert_wrong("m03.ex2", "lineage version -> run is broken", model_name=MODEL, version=v1)
    shop.audit(v1, val_roc_auc="0.99")
    assert_wrong("m03.ex2", "not the source run's val_roc_auc", model_name=MODEL, version=v1)
    shop.audit(v1, val_roc_auc="high")
    assert_wrong("m03.ex2", "is not a number", model_name=MODEL, version=v1)
    shop.audit(v1)
    shop.client.update_model_version(MODEL, v1.version, description="logreg")
    assert_wrong("m03.ex2", "write at least 30", model_name=MODEL, version=v1)


def test_ex2_run_and_tag_agree_on_a_version_dvc_does_not_hold(shop):
    shop.data_version = "0123456789abcdef" * 2
    v1 = shop.register()
    shop.audit(v1)
    assert_wrong("m03.ex2", "tag data_version = 0123456789ab… is no version in the course's DVC",
                 model_name=MODEL, version=v1)  # fmt: skip


def test_ex2_not_attempted(shop):
    with pytest.raises(course.NotAttempted, match="exercise 1 registers it"):
        course.check("m03.ex2", model_name=MODEL, version=1)
    v1 = shop.register()
    with pytest.raises(course.NotAttempted, match="no tags and no description"):
        course.check("m03.ex2", model_name=MODEL, version=v1)


# --- m03.ex3 aliases -----------------------------------------------------------------------


def test_ex3_solution_passes_with_one_line(shop, capsys):
    shop.aliased()
    capsys.readouterr()
    course.check("m03.ex3", model_name=MODEL)
    assert_one_tick(capsys, "m03.ex3")


def test_ex3_wrong_answers(shop):
    v1, v2 = shop.aliased()
    shop.client.delete_registered_model_alias(MODEL, "challenger")
    assert_wrong("m03.ex3", "has no alias 'challenger'", model_name=MODEL)
    shop.client.set_registered_model_alias(MODEL, "champion", v2.version)
    shop.client.set_registered_model_alias(MODEL, "challenger", v1.version)
    assert_wrong("m03.ex3", "the aliases are swapped", model_name=MODEL)
    shop.client.set_registered_model_alias(MODEL, "champion", v1.version)
    shop.client.set_registered_model_alias(MODEL, "challenger", v1.version)
    assert_wrong("m03.ex3", "@challenger is the 'logreg' version", model_name=MODEL)
    shop.client.set_registered_model_alias(MODEL, "challenger", v2.version)
    with pytest.warns(FutureWarning):
        shop.client.transition_model_version_stage(MODEL, v1.version, "Production")
    assert_wrong("m03.ex3", "stages are deprecated", model_name=MODEL)


def test_ex3_not_attempted(shop):
    with pytest.raises(course.NotAttempted):
        course.check("m03.ex3", model_name=MODEL)
    shop.register()
    with pytest.raises(course.NotAttempted, match="no aliases yet"):
        course.check("m03.ex3", model_name=MODEL)


# --- m03.ex4 compare -----------------------------------------------------------------------


def auc_of(model, holdout) -> float:
    return roc_auc_score(holdout[data.TARGET], model.predict_proba(holdout[FEATURES])[:, 1])


def compare(model_name: str, holdout: pd.DataFrame) -> dict:
    """The notebook's solution."""
    return {
        alias: auc_of(mlflow.sklearn.load_model(f"models:/{model_name}@{alias}"), holdout)
        for alias in ("champion", "challenger")
    }


def test_ex4_solution_passes_with_one_line(shop, capsys):
    shop.aliased()
    capsys.readouterr()
    course.check("m03.ex4", compare=compare, model_name=MODEL)
    assert_one_tick(capsys, "m03.ex4")


def test_ex4_wrong_answers(shop):
    shop.aliased()
    valid = shop.valid

    def by_version(model_name, holdout):
        load = mlflow.sklearn.load_model
        return {
            "champion": auc_of(load(f"models:/{model_name}/1"), holdout),
            "challenger": auc_of(load(f"models:/{model_name}/2"), holdout),
        }

    def global_valid(model_name, holdout):
        return compare(model_name, valid)

    def always_model(model_name, holdout):
        return compare(MODEL, holdout)

    def accuracy(model_name, holdout):
        return {
            alias: accuracy_score(
                holdout[data.TARGET],
                mlflow.sklearn.load_model(f"models:/{model_name}@{alias}").predict(
                    holdout[FEATURES]
                ),
            )
            for alias in ("champion", "challenger")
        }

    assert_wrong(
        "m03.ex4", "load `models:/<model_name>@<alias>`", compare=by_version, model_name=MODEL
    )
    assert_wrong(
        "m03.ex4", "load `models:/<model_name>@<alias>`", compare=always_model, model_name=MODEL
    )
    assert_wrong("m03.ex4", "on the mobile rows", compare=global_valid, model_name=MODEL)
    assert_wrong("m03.ex4", "score the holdout you are given", compare=accuracy, model_name=MODEL)
    assert_wrong("m03.ex4", "should return", compare=lambda n, h: [0.7, 0.7], model_name=MODEL)
    assert_wrong("m03.ex4", "should be a function", compare="compare", model_name=MODEL)


def test_ex4_not_attempted(shop):
    def stub(model_name, holdout):
        raise NotImplementedError()

    with pytest.raises(course.NotAttempted):
        course.check("m03.ex4", compare=None, model_name=MODEL)
    shop.aliased()
    with pytest.raises(course.NotAttempted, match="NotImplementedError"):
        course.check("m03.ex4", compare=stub, model_name=MODEL)


def test_ex4_says_which_exercise_sets_the_aliases(shop):
    shop.register()
    assert_wrong("m03.ex4", r"exercise 3 sets it", compare=compare, model_name=MODEL)


# --- m03.ex5 rollback ----------------------------------------------------------------------


def rollback(model_name: str, to_version: str, reason: str) -> None:
    """The notebook's solution."""
    client = MlflowClient()
    current = client.get_model_version_by_alias(model_name, "champion")
    client.set_model_version_tag(model_name, current.version, "rollback_reason", reason)
    client.set_registered_model_alias(model_name, "champion", str(to_version))


def promoted_in_a_hurry(shop: Shop):
    v1, v2 = shop.aliased()
    shop.client.set_registered_model_alias(MODEL, "champion", v2.version)
    return v1, v2


def test_ex5_solution_passes_with_one_line(shop, capsys):
    v1, _ = promoted_in_a_hurry(shop)
    rollback(MODEL, v1.version, "worse than the champion on the holdout")
    capsys.readouterr()
    course.check("m03.ex5", rollback=rollback, model_name=MODEL)
    assert_one_tick(capsys, "m03.ex5")
    assert shop.client.search_registered_models("name LIKE 'course-check-%'") == []


def test_ex5_wrong_functions(shop):
    v1, _ = promoted_in_a_hurry(shop)
    rollback(MODEL, v1.version, "worse")

    def deleting(model_name, to_version, reason):
        client = MlflowClient()
        current = client.get_model_version_by_alias(model_name, "champion")
        client.set_registered_model_alias(model_name, "champion", str(to_version))
        client.delete_model_version(model_name, current.version)

    def untagged(model_name, to_version, reason):
        MlflowClient().set_registered_model_alias(model_name, "champion", str(to_version))

    def tags_the_target(model_name, to_version, reason):
        client = MlflowClient()
        client.set_model_version_tag(model_name, str(to_version), "rollback_reason", reason)
        client.set_registered_model_alias(model_name, "champion", str(to_version))

    def reason_ignored(model_name, to_version, reason):
        rollback(model_name, to_version, "rolled back")

    def no_move(model_name, to_version, reason):
        client = MlflowClient()
        current = client.get_model_version_by_alias(model_name, "champion")
        client.set_model_version_tag(model_name, current.version, "rollback_reason", reason)

    assert_wrong("m03.ex5", "deleted a version", rollback=deleting, model_name=MODEL)
    assert_wrong("m03.ex5", "has no rollback_reason", rollback=untagged, model_name=MODEL)
    assert_wrong("m03.ex5", "has no rollback_reason", rollback=tags_the_target, model_name=MODEL)
    assert_wrong("m03.ex5", "not the reason", rollback=reason_ignored, model_name=MODEL)
    assert_wrong("m03.ex5", "not version 1", rollback=no_move, model_name=MODEL)
    assert shop.client.search_registered_models("name LIKE 'course-check-%'") == []


def test_ex5_function_right_but_model_not_rolled_back(shop):
    promoted_in_a_hurry(shop)
    assert_wrong("m03.ex5", "still the 'forest' version", rollback=rollback, model_name=MODEL)


def test_ex5_not_attempted(shop):
    def stub(model_name, to_version, reason):
        raise NotImplementedError()

    with pytest.raises(course.NotAttempted):
        course.check("m03.ex5", rollback=stub, model_name=MODEL)
    promoted_in_a_hurry(shop)
    with pytest.raises(course.NotAttempted):
        course.check("m03.ex5", rollback=stub, model_name=MODEL)
    with pytest.raises(course.NotAttempted):
        course.check("m03.ex5", rollback=None, model_name=MODEL)


# --- m03.ex6 model card --------------------------------------------------------------------

SECTIONS = {
    "Intended use": "Rank customers for weekly promotions.",
    "Data": "{fp}",
    "Metrics": "val_roc_auc {auc}",
    "Limitations": "No holiday weeks in training.",
    "Owner": OWNER,
}


def card(shop: Shop, version, **override: str) -> str:
    tags = shop.client.get_model_version(MODEL, str(version.version)).tags
    values = {"fp": tags["data_fingerprint"], "auc": f"{float(tags['val_roc_auc']):.3f}"}
    sections = SECTIONS | override
    return "# card\n\n" + "\n\n".join(
        f"## {title}\n{text.format(**values)}" for title, text in sections.items() if text
    )


def test_ex6_solution_passes_with_one_line(shop, capsys):
    v1, _ = shop.aliased()
    shop.client.log_text(v1.run_id, card(shop, v1), "model_card.md")
    capsys.readouterr()
    course.check("m03.ex6", model_name=MODEL)
    assert_one_tick(capsys, "m03.ex6")


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"Limitations": ""}, "lacks section"),
        ({"Data": "calm weeks"}, "does not name the champion's data_fingerprint"),
        ({"Metrics": "val_roc_auc 0.5"}, "to 3 decimals"),
        ({"Owner": "someone"}, "does not name the owner tag"),
    ],
)
def test_ex6_wrong_cards(shop, override, match):
    v1, _ = shop.aliased()
    shop.client.log_text(v1.run_id, card(shop, v1, **override), "model_card.md")
    assert_wrong("m03.ex6", match, model_name=MODEL)


def test_ex6_card_on_the_wrong_run_or_empty_section(shop):
    v1, v2 = shop.aliased()
    shop.client.log_text(v2.run_id, card(shop, v1), "model_card.md")
    assert_wrong("m03.ex6", "it is on version 2's run", model_name=MODEL)
    empty = card(shop, v1).replace("No holiday weeks in training.", "")
    shop.client.log_text(v1.run_id, empty, "model_card.md")
    assert_wrong("m03.ex6", "limitations of the card are empty", model_name=MODEL)


def test_ex6_not_attempted(shop):
    with pytest.raises(course.NotAttempted):
        course.check("m03.ex6", model_name=MODEL)
    shop.aliased()
    with pytest.raises(course.NotAttempted, match="has a model_card.md yet"):
        course.check("m03.ex6", model_name=MODEL)


# --- quiz and hints --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qid", "right", "wrong"),
    [("m03.q1", "c", "a"), ("m03.q2", "a", "b"), ("m03.q3", "c", "a"), ("m03.q4", -0.006, 0.006)],
)
def test_quiz(course_home, capsys, qid, right, wrong):
    course.quiz.check(qid, right)
    assert_one_tick(capsys, qid)
    with pytest.raises(course.CheckError):
        course.quiz.check(qid, wrong)
    with pytest.raises(course.NotAttempted):
        course.quiz.check(qid, None)


def test_q4_accepts_the_rounding_of_a_learner(course_home):
    course.quiz.check("m03.q4", -0.0059)
    course.quiz.check("m03.q4", -0.0061)


@pytest.mark.parametrize(
    ("answer", "match"),
    [("minus", "answer with a number, not 'minus'"), (float("nan"), "answer with a finite number")],
)
def test_q4_names_the_type_it_wants(course_home, answer, match):
    with pytest.raises(course.CheckError, match=match) as excinfo:
        course.quiz.check("m03.q4", answer)
    assert not isinstance(excinfo.value, course.NotAttempted)
