"""m05 checks, called as the testing-and-CI notebook calls them.

The learner's test files run in a real pytest subprocess against the check's clean and broken
datasets and models; gate and promotion run against a real embedded registry.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from _assert import assert_one_tick, assert_wrong
from mlflow import MlflowClient
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import course
from course import data

# The notebook's solutions, as the files its %writefile cells write.
DATA_TESTS = 'from pandas.api.types import is_numeric_dtype\n\nfrom course.data import FEATURES, NUMERIC_FEATURES\n\nKNOWN = {"country": {"DE", "FR", "ES", "NL", "PL"}, "device": {"desktop", "mobile", "tablet"},\n         "channel": {"organic", "search", "social", "email"}}\n\n\ndef test_schema(frame):\n    assert set(FEATURES) <= set(frame.columns)\n    for column in NUMERIC_FEATURES:\n        assert is_numeric_dtype(frame[column]), column\n\n\ndef test_no_nulls(frame):\n    assert not frame[list(FEATURES)].isna().any().any()\n\n\ndef test_counts_are_not_negative(frame):\n    counts = ["sessions_7d", "page_views_7d", "cart_adds_7d", "purchases_30d", "tenure_days"]\n    assert (frame[counts] >= 0).all().all()\n\n\ndef test_known_categories(frame):\n    for column, known in KNOWN.items():\n        assert set(frame[column].dropna().unique()) <= known, column\n'
MODEL_TESTS = 'import numpy as np\nfrom sklearn import metrics\n\nfrom course.data import TARGET\n\n\ndef score(model, frame):\n    return model.predict_proba(frame)[:, 1]\n\n\ndef test_rounding_basket_values_barely_matters(model, frame):\n    rounded = frame.assign(aov_30d=frame["aov_30d"].round())\n    assert np.abs(score(model, rounded) - score(model, frame)).max() <= 0.01\n\n\ndef test_more_sessions_never_lowers_the_score(model, frame):\n    busier = frame.assign(sessions_7d=frame["sessions_7d"] + 3)\n    assert (score(model, busier) >= score(model, frame) - 1e-9).all()\n\n\ndef test_mobile_auc(model, frame):\n    mobile = frame[frame["device"] == "mobile"]\n    assert metrics.roc_auc_score(mobile[TARGET], score(model, mobile)) >= 0.70\n'
WORKFLOW = 'name: ml\non:\n  push:\n  pull_request:\nenv:\n  MLFLOW_TRACKING_URI: ${{ secrets.MLFLOW_TRACKING_URI }}\n  MODEL_NAME: shopflow-conversion\njobs:\n  data-tests:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-python@v5\n        with: {python-version: "3.11"}\n      - run: pip install -r requirements.txt\n      - run: pytest test_data.py\n  train:\n    needs: data-tests\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-python@v5\n        with: {python-version: "3.11"}\n      - run: pip install -r requirements.txt\n      - run: python train.py\n  gate:\n    needs: train\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-python@v5\n        with: {python-version: "3.11"}\n      - run: pip install -r requirements.txt\n      - run: pytest test_model.py\n      - run: python gate.py --margin 0.002\n  promote:\n    needs: gate\n    if: github.ref == \'refs/heads/main\'\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-python@v5\n        with: {python-version: "3.11"}\n      - run: pip install -r requirements.txt\n      - run: python promote.py\n'
STUB = "# YOUR CODE HERE\nraise NotImplementedError()\n"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- m05.ex1 data tests --------------------------------------------------------------------


def test_ex1_solution_passes_with_one_line(course_home, tmp_path, capsys):
    course.check("m05.ex1", test_file=write(tmp_path, "test_data.py", DATA_TESTS))
    assert_one_tick(capsys, "m05.ex1")


@pytest.mark.parametrize(
    ("tests", "match"),
    [
        (DATA_TESTS.split("def test_schema")[0] + "def test_no_nulls" + DATA_TESTS.split("def test_no_nulls")[1].split("def test_counts")[0],
         "aov_30d as text: add a schema"),
        (DATA_TESTS.replace("def test_counts_are_not_negative", "def _unused"), "negative page_views_7d: add a range"),
        (DATA_TESTS.replace("def test_known_categories", "def _unused"), "country code 'XX'"),
        (DATA_TESTS.replace("def test_no_nulls", "def _unused"), "empty sessions_7d"),
        (DATA_TESTS + "\n\ndef test_rows(frame):\n    assert len(frame) == 7679\n", "the training weeks"),
        ("def test_nothing():\n    assert True\n", "takes the `frame` fixture"),
        ("def test_broken(frame):\n    assert frame[\n", "pytest could not run"),
        ("x = 1\n", "has no test functions"),
    ],
    ids=["no-schema", "no-range", "no-categories", "no-nulls", "row-count", "no-fixture", "syntax", "no-tests"],
)  # fmt: skip
def test_ex1_wrong_suites(course_home, tmp_path, tests, match):
    assert_wrong("m05.ex1", match, test_file=write(tmp_path, "test_data.py", tests))


def test_ex1_missing_file_and_stub(course_home, tmp_path):
    assert_wrong("m05.ex1", "no file at", test_file=str(tmp_path / "nope.py"))
    assert_wrong("m05.ex1", "should be a path", test_file=42)
    with pytest.raises(course.NotAttempted, match="still the stub"):
        course.check("m05.ex1", test_file=write(tmp_path, "test_data.py", STUB))
    with pytest.raises(course.NotAttempted):
        course.check("m05.ex1", test_file=None)


# --- m05.ex2 model tests -------------------------------------------------------------------


def fit(features: list[str]):
    train, _ = data.split()
    model = make_pipeline(
        make_column_transformer((StandardScaler(), features)), LogisticRegression(max_iter=1000)
    )
    return model.fit(train, train[data.TARGET])


@pytest.fixture(scope="module")
def candidate():
    return fit(list(data.NUMERIC_FEATURES))


def without(test: str) -> str:
    head, tail = MODEL_TESTS.split(f"def {test}", 1)
    return head + "def _unused" + tail


def test_ex2_solution_passes_with_one_line(course_home, tmp_path, capsys, candidate):
    path = write(tmp_path, "test_model.py", MODEL_TESTS)
    course.check("m05.ex2", test_file=path, model=candidate)
    assert_one_tick(capsys, "m05.ex2")


@pytest.mark.parametrize(
    ("tests", "match"),
    [
        (without("test_rounding_basket_values_barely_matters"), "memorised exact basket values"),
        (
            MODEL_TESTS.replace('aov_30d=frame["aov_30d"].round()', 'country="FR"'),
            "memorised exact basket values",
        ),
        (without("test_more_sessions_never_lowers_the_score"), "ranks busy customers lower"),
        (without("test_mobile_auc"), "random on mobile customers"),
        (MODEL_TESTS.replace(">= 0.70", ">= 0.90"), "on the candidate test_mobile_auc fail"),
    ],
    ids=["no-invariance", "country-invariance", "no-direction", "no-slice", "too-strict"],
)
def test_ex2_wrong_suites(course_home, tmp_path, candidate, tests, match):
    path = write(tmp_path, "test_model.py", tests)
    assert_wrong("m05.ex2", match, test_file=path, model=candidate)


def test_ex2_wrong_model_and_stub(course_home, tmp_path, candidate):
    path = write(tmp_path, "test_model.py", MODEL_TESTS)
    assert_wrong("m05.ex2", "should be the fitted candidate", test_file=path, model="candidate")
    with pytest.raises(course.NotAttempted):
        course.check("m05.ex2", test_file=path, model=None)
    stub = write(tmp_path, "stub.py", STUB)
    with pytest.raises(course.NotAttempted):
        course.check("m05.ex2", test_file=stub, model=candidate)


# --- m05.ex3 gate and m05.ex5 promotion: a real registry ---------------------------------------

MODEL = "shopflow-conversion"


def register(stack, features: list[str], kind: str):
    with mlflow.start_run(run_name=kind):
        mlflow.log_params({"model": kind})
        info = mlflow.sklearn.log_model(
            fit(features), name="model", pip_requirements=stack.pip_requirements
        )
    return mlflow.register_model(info.model_uri, MODEL)


@pytest.fixture
def registry(embedded):
    """The notebook's registry: the prototype @champion and the candidate, not yet promoted."""
    stack = embedded("m05")
    champion = register(stack, ["sessions_7d", "page_views_7d", "cart_adds_7d"], "prototype")
    MlflowClient().set_registered_model_alias(MODEL, "champion", champion.version)
    return champion, register(stack, list(data.NUMERIC_FEATURES), "logreg-all")


def auc(uri: str, holdout) -> float:
    model = course.handoff.estimator(uri)
    scores = model.predict_proba(holdout[list(data.NUMERIC_FEATURES)])[:, 1]
    return roc_auc_score(holdout[data.TARGET], scores)


def gate(model_name, candidate_version, holdout, margin):
    """The notebook's solution."""
    result = {
        "candidate": auc(f"models:/{model_name}/{candidate_version}", holdout),
        "champion": auc(f"models:/{model_name}@champion", holdout),
    }
    return {**result, "passed": bool(result["candidate"] > result["champion"] + margin)}


def test_ex3_solution_passes_with_one_line(registry, capsys):
    _, cand = registry
    capsys.readouterr()
    course.check("m05.ex3", gate=gate, model_name=MODEL, candidate_version=cand.version)
    assert_one_tick(capsys, "m05.ex3")
    assert MlflowClient().search_registered_models("name LIKE 'course-check-%'") == []


def test_ex3_wrong_gates(registry):
    _, cand = registry
    valid = data.split()[1]

    def version_one(model_name, candidate_version, holdout, margin):
        result = gate(model_name, candidate_version, holdout, margin)
        result["champion"] = auc(f"models:/{model_name}/1", holdout)
        return result | {"passed": bool(result["candidate"] > result["champion"] + margin)}

    def no_margin(model_name, candidate_version, holdout, margin):
        return gate(model_name, candidate_version, holdout, 0.0)

    def fixed_holdout(model_name, candidate_version, holdout, margin):
        return gate(model_name, candidate_version, valid, margin)

    def words(model_name, candidate_version, holdout, margin):
        return gate(model_name, candidate_version, holdout, margin) | {"passed": "yes"}

    args = {"model_name": MODEL, "candidate_version": cand.version}
    assert_wrong("m05.ex3", "still scores the old champion", gate=version_one, **args)
    assert_wrong("m05.ex3", "passed with margin 0.5", gate=no_margin, **args)
    assert_wrong("m05.ex3", "on the mobile rows", gate=fixed_holdout, **args)
    assert_wrong("m05.ex3", "should be True or False", gate=words, **args)
    assert_wrong("m05.ex3", "should return", gate=lambda *a: (0.7, 0.6, True), **args)
    assert MlflowClient().search_registered_models("name LIKE 'course-check-%'") == []


def test_ex3_not_attempted(course_home, registry):
    _, cand = registry

    def stub(model_name, candidate_version, holdout, margin):
        raise NotImplementedError()

    for fn in (None, stub):
        with pytest.raises(course.NotAttempted):
            course.check("m05.ex3", gate=fn, model_name=MODEL, candidate_version=cand.version)


def promote(model_name, candidate_version, result):
    """The notebook's solution."""
    client, version = MlflowClient(), str(candidate_version)
    client.set_model_version_tag(
        model_name, version, "gate", "passed" if result["passed"] else "failed"
    )
    client.set_model_version_tag(
        model_name, version, "gate_candidate_auc", str(result["candidate"])
    )
    client.set_model_version_tag(model_name, version, "gate_champion_auc", str(result["champion"]))
    if result["passed"]:
        previous = client.get_model_version_by_alias(model_name, "champion").version
        client.set_model_version_tag(model_name, version, "promoted_from", str(previous))
        client.set_registered_model_alias(model_name, "champion", version)


def test_ex5_solution_passes_with_one_line(registry, capsys):
    _, cand = registry
    promote(MODEL, cand.version, gate(MODEL, cand.version, data.split()[1], 0.002))
    capsys.readouterr()
    course.check("m05.ex5", promote=promote, model_name=MODEL, candidate_version=cand.version)
    assert_one_tick(capsys, "m05.ex5")


def test_ex5_wrong_functions(registry):
    _, cand = registry
    promote(MODEL, cand.version, gate(MODEL, cand.version, data.split()[1], 0.002))

    def always(model_name, candidate_version, result):
        promote(model_name, candidate_version, result | {"passed": True})

    def silent(model_name, candidate_version, result):
        if result["passed"]:
            MlflowClient().set_registered_model_alias(
                model_name, "champion", str(candidate_version)
            )

    def forgetful(model_name, candidate_version, result):
        promote(model_name, candidate_version, result)
        MlflowClient().delete_model_version_tag(
            model_name, str(candidate_version), "promoted_from"
        ) if result["passed"] else None

    args = {"model_name": MODEL, "candidate_version": cand.version}
    assert_wrong("m05.ex5", "a failed gate moved @champion", promote=always, **args)
    assert_wrong("m05.ex5", "tag gate should be 'failed'", promote=silent, **args)
    assert_wrong("m05.ex5", "promoted_from should name", promote=forgetful, **args)


def test_ex5_function_right_but_candidate_not_promoted(registry):
    _, cand = registry
    args = {"model_name": MODEL, "candidate_version": cand.version}
    assert_wrong("m05.ex5", "has no gate verdict", promote=promote, **args)
    client = MlflowClient()
    client.set_model_version_tag(MODEL, cand.version, "gate", "passed")
    assert_wrong("m05.ex5", "passed the gate but @champion", promote=promote, **args)
    client.set_model_version_tag(MODEL, cand.version, "gate", "failed")
    client.set_registered_model_alias(MODEL, "champion", cand.version)
    assert_wrong("m05.ex5", "failed the gate but is @champion", promote=promote, **args)


@pytest.fixture
def journey_registry(embedded):
    """A learner's registry after module 3: @champion is a plain logistic regression on the
    numeric columns, as good as the candidate; then the notebook's prototype and candidate."""
    stack = embedded("m05")
    champion = course.handoff.champion(stack)
    register(stack, ["sessions_7d", "page_views_7d", "cart_adds_7d"], "prototype")
    return champion, register(stack, list(data.NUMERIC_FEATURES), "logreg-all")


def test_gate_keeps_a_champion_that_is_as_good(journey_registry, capsys):
    champion, cand = journey_registry
    result = gate(MODEL, cand.version, data.split()[1], 0.002)
    assert abs(result["candidate"] - result["champion"]) < 0.002 and not result["passed"]
    course.check("m05.ex3", gate=gate, model_name=MODEL, candidate_version=cand.version)
    promote(MODEL, cand.version, result)
    capsys.readouterr()
    course.check("m05.ex5", promote=promote, model_name=MODEL, candidate_version=cand.version)
    assert "failed the gate and @champion stays" in capsys.readouterr().out
    assert MlflowClient().get_model_version_by_alias(MODEL, "champion").version == champion.version


def test_ex5_not_attempted(course_home, registry):
    _, cand = registry

    def stub(model_name, candidate_version, result):
        raise NotImplementedError()

    for fn in (None, stub):
        with pytest.raises(course.NotAttempted):
            course.check("m05.ex5", promote=fn, model_name=MODEL, candidate_version=cand.version)


def test_gate_and_promote_are_not_attempted_before_the_registry_exists(embedded):
    embedded("m05")
    with pytest.raises(course.NotAttempted, match="trains the candidate"):
        course.check("m05.ex3", gate=gate, model_name=MODEL, candidate_version="2")


# --- m05.ex4 workflow: the check runs the steps -------------------------------------------------

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions/05_testing_cicd/05_testing_cicd.ipynb"


def notebook_cell(start: str) -> str:
    """A demonstration cell of the notebook, so the tests use the scaffold learners get."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    found = [c["source"] for c in cells if "".join(c["source"]).startswith(start)]
    assert len(found) == 1, start
    return "".join(found[0])


@pytest.fixture
def work(registry, tmp_path):
    """The learner's work folder after exercises 1-3: tests, conftest and the CI scaffold."""
    folder = tmp_path / "work"
    (folder / ".github" / "workflows").mkdir(parents=True)
    scope = {"WORK": folder, "os": os, "subprocess": subprocess, "sys": sys}
    exec(notebook_cell('(WORK / "conftest.py").write_text('), scope)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(notebook_cell("# Make the work folder a small repository"), scope)
    (folder / "test_data.py").write_text(DATA_TESTS, encoding="utf-8")
    (folder / "test_model.py").write_text(MODEL_TESTS, encoding="utf-8")
    return folder


def workflow_at(folder: Path, text: str) -> str:
    path = folder / ".github" / "workflows" / "ml.yml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_ex4_solution_runs_and_promotes_with_one_line(work, capsys):
    client = MlflowClient()
    before = {m.name: dict(m.aliases) for m in client.search_registered_models()}
    runs = len(mlflow.search_runs(search_all_experiments=True))
    capsys.readouterr()
    course.check("m05.ex4", workflow_file=workflow_at(work, WORKFLOW), model_name=MODEL)
    assert_one_tick(capsys, "m05.ex4")
    # The run used a scratch model and experiment: the learner's registry and runs are as before.
    assert {m.name: dict(m.aliases) for m in client.search_registered_models()} == before
    assert len(mlflow.search_runs(search_all_experiments=True)) == runs


# One edit of the reference workflow, and what the check says before running anything.
STRUCTURE = [
    ("    needs: gate\n", "    needs: train\n", "promote does not wait for gate"),
    ("    if: github.ref == 'refs/heads/main'\n", "", "promote runs on every branch"),
    ("    if: github.ref == 'refs/heads/main'\n", "    if: always() && github.ref == 'refs/heads/main'\n", "drop always"),
    ("  gate:\n    needs: train\n", "  gate:\n", "gate does not wait for train"),
    ("on:\n  push:\n  pull_request:\n", "on:\n  pull_request:\n", "no push trigger"),
    ("  promote:\n", "  deploy:\n", r"lacks job\(s\) promote"),
    ("      - run: pytest test_data.py\n", "      - run: pytest\n", "does not run test_data.py"),
    ("      - run: pytest test_model.py\n", "", "does not run test_model.py"),
    ('python-version: "3.11"', 'python-version: "3.10"', "sets up Python 3.10: the course needs 3.11"),
    ('python-version: "3.11"', "python-version: 3.10", "YAML reads an unquoted 3.10 as 3.1"),
    ('with: {python-version: "3.11"}', "with: {python-version-file: .python-version}", "not in your folder"),
    ("      - run: python train.py\n", "      - run: python training.py\n", "runs training.py, which is not in your folder"),
    ("  train:\n    needs: data-tests\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-python@v5\n        with: {python-version: \"3.11\"}\n      - run: pip install -r requirements.txt\n",
     "  train:\n    needs: data-tests\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-python@v5\n        with: {python-version: \"3.11\"}\n",
     "job train runs `python train.py` before installing anything"),
    ("      - run: python gate.py --margin 0.002\n", "      - run: python gate.py --margin 0.002\n        continue-on-error: true\n", "continue-on-error"),
    ("jobs:\n", "jobs:\n\t", "not valid YAML"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "match"), STRUCTURE, ids=[m[:28] for *_, m in STRUCTURE])
def test_ex4_wrong_structure(work, old, new, match):
    assert old in WORKFLOW
    path = workflow_at(work, WORKFLOW.replace(old, new, 1))
    assert_wrong("m05.ex4", match, workflow_file=path, model_name=MODEL)


def test_ex4_a_missing_script_fails(work):
    (work / "promote.py").unlink()
    path = workflow_at(work, WORKFLOW)
    assert_wrong("m05.ex4", "runs promote.py, which is not in your folder", workflow_file=path, model_name=MODEL)  # fmt: skip


def test_ex4_every_job_checks_out(work):
    head, tail = WORKFLOW.split("  promote:", 1)
    text = head + "  promote:" + tail.replace("      - uses: actions/checkout@v4\n", "")
    path = workflow_at(work, text)
    assert_wrong("m05.ex4", "promote does not check out the code", workflow_file=path, model_name=MODEL)  # fmt: skip


# The check stops at the first failing step: a step added after the first install shows that
# everything before it (structure, Python selection) was accepted.
STOP = ("      - run: pip install -r requirements.txt\n", "      - run: pip install -r requirements.txt\n      - run: echo stop && exit 7\n")  # fmt: skip
MATRIX = '    strategy:\n      matrix:\n        python-version: ["3.11", "3.12"]\n'


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('python-version: "3.11"', 'python-version: "3.12"'),
        ('python-version: "3.11"', "python-version: 3.12"),
        ('python-version: "3.11"', 'python-version: "3.x"'),
        ("  data-tests:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-python@v5\n        with: {python-version: \"3.11\"}\n",
         "  data-tests:\n    runs-on: ubuntu-latest\n" + MATRIX + "    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-python@v5\n        with: {python-version: \"${{ matrix.python-version }}\"}\n"),
        ('with: {python-version: "3.11"}', "with: {python-version-file: .python-version}"),
    ],
    ids=["3.12", "unquoted-3.12", "3.x", "matrix", "version-file"],
)  # fmt: skip
def test_ex4_any_python_311_or_newer_is_accepted(work, old, new):
    (work / ".python-version").write_text("3.11\n", encoding="utf-8")
    text = WORKFLOW.replace(old, new, 1).replace(*STOP, 1)
    path = workflow_at(work, text)
    assert_wrong("m05.ex4", r"job data-tests, step 4 `echo stop && exit 7` failed \(exit 7\)", workflow_file=path, model_name=MODEL)  # fmt: skip


def test_ex4_a_matrix_with_an_old_python_fails(work):
    old = "  data-tests:\n    runs-on: ubuntu-latest\n"
    text = WORKFLOW.replace(old, old + MATRIX.replace('"3.11"', '"3.10"'), 1).replace(
        'with: {python-version: "3.11"}',
        'with: {python-version: "${{ matrix.python-version }}"}',
        1,
    )
    path = workflow_at(work, text)
    assert_wrong("m05.ex4", "sets up Python 3.10", workflow_file=path, model_name=MODEL)


def test_ex4_failing_steps_are_named(work):
    # A data test that fails on clean data fails the first job, and nothing after it runs.
    (work / "test_data.py").write_text("def test_rows(frame):\n    assert len(frame) == 1\n")
    path = workflow_at(work, WORKFLOW)
    assert_wrong("m05.ex4", r"job data-tests, step 4 `pytest test_data.py` failed \(exit 1\)", workflow_file=path, model_name=MODEL)  # fmt: skip
    # Offline: a requirement that is not installed fails the install, nothing is downloaded.
    (work / "requirements.txt").write_text("surely-not-installed-here==1.0\n")
    assert_wrong("m05.ex4", "step 3 `pip install -r requirements.txt` failed .*surely-not-installed-here", workflow_file=path, model_name=MODEL)  # fmt: skip
    assert MlflowClient().search_registered_models("name LIKE 'course-check-%'") == []


def test_ex4_promote_without_a_gate_verdict_fails(work):
    text = WORKFLOW.replace("      - run: python gate.py --margin 0.002\n", "")
    path = workflow_at(work, text)
    assert_wrong("m05.ex4", r"job promote, step 4 `python promote.py` failed \(exit 1\): .*no passing gate verdict", workflow_file=path, model_name=MODEL)  # fmt: skip
    assert MlflowClient().search_registered_models("name LIKE 'course-check-%'") == []


def test_ex4_a_hung_step_is_stopped_and_named(tmp_path, monkeypatch):
    from course.checks import _workflow

    monkeypatch.setattr(_workflow, "TIMEOUT", 2)
    step = _workflow.Step("gate", 3, "sleep 60 & sleep 60")
    with pytest.raises(
        course.CheckError, match=r"job gate, step 3 `sleep 60 & sleep 60` was still"
    ):
        _workflow.run([step], tmp_path, _workflow.runner_env({}), {})


def test_ex4_stub_and_misplaced_file(course_home, tmp_path):
    with pytest.raises(course.NotAttempted):
        course.check("m05.ex4", workflow_file=write(tmp_path, "ml.yml", STUB), model_name=MODEL)
    with pytest.raises(course.NotAttempted):
        course.check("m05.ex4", workflow_file=None, model_name=MODEL)
    path = write(tmp_path, "ml.yml", WORKFLOW)
    assert_wrong("m05.ex4", r"should sit in <your folder>/\.github/workflows/", workflow_file=path, model_name=MODEL)  # fmt: skip


# --- quiz and hints --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qid", "right", "wrong"),
    [("m05.q1", "c", "b"), ("m05.q2", "a", "b"), ("m05.q3", "b", "a"), ("m05.q4", 3, 4)],
)
def test_quiz(course_home, capsys, qid, right, wrong):
    course.quiz.check(qid, right)
    assert_one_tick(capsys, qid)
    with pytest.raises(course.CheckError):
        course.quiz.check(qid, wrong)
    with pytest.raises(course.NotAttempted):
        course.quiz.check(qid, None)
