"""Checks for m05 Testing and CI/CD for ML: they run the learner's tests on good and broken
inputs, run the workflow's steps against a scratch registered model and read the registry."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import data
from .._errors import CheckError, NotAttempted
from . import _mlflow, _pytest_run, _values, _workflow
from ._expect import a_function, attempted, close, expect
from ._registry import Question, exercise, question

# --- exercise 1: data tests ----------------------------------------------------------------

_FRAME_CONFTEST = """
import os

import pandas as pd
import pytest


@pytest.fixture(scope="session", params=os.environ["COURSE_CHECK_CASES"].split(","))
def frame(request):
    return pd.read_parquet(os.path.join(os.environ["COURSE_CHECK_DIR"], request.param + ".parquet"))
"""

_CLEAN = {"clean_valid": "the validation weeks", "clean_train": "the training weeks"}
# One fault of the incident per dataset, each described as the test that should catch it.
_FAULTS = {
    "nulls": f"empty {data.INCIDENT['null_column']} values: add a null test",
    "retyped": f"{data.INCIDENT['retyped_column']} as text: add a schema (dtype) test",
    "unknown_category": "country code 'XX': add a category-set test",
    "negative": f"negative {data.INCIDENT['negative_column']}: add a range test",
}


def _faulty(frame: Any, fault: str) -> Any:
    """``frame`` with one fault of the data-quality incident (the check's own corruption)."""
    import numpy as np

    out = frame.copy()
    pick = np.random.default_rng(11).random(len(out))
    if fault == "nulls":
        col = data.INCIDENT["null_column"]
        out[col] = out[col].astype("Float64").mask(pick < 0.05)
    elif fault == "retyped":
        col = data.INCIDENT["retyped_column"]
        out[col] = [f"EUR {v:.2f}" for v in out[col]]
    elif fault == "unknown_category":
        col, bad = data.INCIDENT["unknown_category"]
        out[col] = out[col].astype(object).where(pick >= 0.03, bad)
    elif fault == "negative":
        col = data.INCIDENT["negative_column"]
        out[col] = out[col].where(pick >= 0.02, -1 - out[col])
    return out


def _write_frames(folder: Path) -> None:
    train, valid = data.split()
    train.to_parquet(folder / "clean_train.parquet")
    valid.to_parquet(folder / "clean_valid.parquet")
    for fault in _FAULTS:
        _faulty(valid, fault).to_parquet(folder / f"{fault}.parquet")


def _failing(results: dict[str, bool]) -> list[str]:
    return sorted(test for test, passed in results.items() if not passed)


@exercise(
    "m05.ex1",
    "Data tests that catch the incident",
    hints=(
        "One test per kind of fault: schema, nulls, ranges, category sets; each takes `frame`.",
        "`pd.api.types.is_numeric_dtype(frame[col])` for the schema; "
        "`frame[list(data.FEATURES)].isna().any().any()` for nulls; `(frame[cols] >= 0).all()` "
        "for counts; `set(frame['country'].unique()) <= {...}` for categories.",
        "Write the known values out: countries DE FR ES NL PL, devices desktop mobile tablet, "
        "channels organic search social email. No row counts: the tests run on other weeks too.",
    ),
)
def data_tests(test_file: Any) -> str:
    file = _pytest_run.learner_file(test_file, "test_file")
    cases = [*_CLEAN, *_FAULTS]
    results = _pytest_run.run(file, _write_frames, _FRAME_CONFTEST, cases)
    expect(results, "none of your tests takes the `frame` fixture: def test_x(frame): ...")
    for case, label in _CLEAN.items():
        failing = _failing(results.get(case, {}))
        expect(
            not failing,
            f"on clean data ({label}) {', '.join(failing)} fail: a data test must pass on good "
            "data (no hard-coded row counts or exact values)",
        )
    for fault, advice in _FAULTS.items():
        expect(_failing(results.get(fault, {})), f"your tests pass on data with {advice}")
    n = len(results["clean_valid"])
    return f"{n} tests pass on clean data and catch each of the {len(_FAULTS)} faults"


# --- exercise 2: model tests ---------------------------------------------------------------

_MODEL_CONFTEST = """
import os

import joblib
import numpy as np
import pandas as pd
import pytest

HERE = os.environ["COURSE_CHECK_DIR"]
SOUND = joblib.load(os.path.join(HERE, "model.joblib"))


class Broken:
    def __init__(self, fault):
        self.fault = fault

    def predict_proba(self, X):
        X = X.copy()
        if self.fault == "reversed_sessions":  # more sessions above 5 count as fewer
            s = X["sessions_7d"]
            X["sessions_7d"] = s.where(s <= 5, 10 - s)
        p = SOUND.predict_proba(X)[:, 1].copy()
        if self.fault == "cents":  # memorised exact basket values, down to the cent
            cents = (X["aov_30d"].astype(float) * 100).round() % 100
            p = np.clip(p + 0.05 * (cents >= 50).to_numpy(), 0, 1)
        if self.fault == "random_mobile":
            mobile = (X["device"] == "mobile").to_numpy()
            p[mobile] = np.random.default_rng(0).random(mobile.sum())
        return np.column_stack([1 - p, p])


MODELS = {"sound": SOUND, **{f: Broken(f) for f in ("cents", "reversed_sessions", "random_mobile")}}


@pytest.fixture(scope="session", params=os.environ["COURSE_CHECK_CASES"].split(","))
def model(request):
    return MODELS[request.param]


@pytest.fixture(scope="session")
def frame():
    return pd.read_parquet(os.path.join(HERE, "frame.parquet"))
"""

_BROKEN = {
    "cents": "memorised exact basket values (its scores move when aov_30d is rounded to whole "
    "euros): add an invariance test on rounding aov_30d",
    "reversed_sessions": "ranks busy customers lower as their sessions grow: add a directional "
    "test on sessions_7d",
    "random_mobile": "is random on mobile customers: add a minimum-AUC test on the mobile slice",
}


@exercise(
    "m05.ex2",
    "Behavioural model tests",
    hints=(
        "Each test takes `model` and `frame` and scores whole rows: "
        "`model.predict_proba(frame)[:, 1]`.",
        "Invariance: `frame.assign(aov_30d=frame['aov_30d'].round())` moves no score by more "
        "than 0.01. Direction: `frame.assign(sessions_7d=frame['sessions_7d'] + 3)` must never "
        "score lower.",
        "Slice: `mobile = frame[frame['device'] == 'mobile']`, then "
        "`roc_auc_score(mobile[data.TARGET], scores) >= 0.70`.",
    ),
)
def model_tests(test_file: Any, model: Any) -> str:
    file = _pytest_run.learner_file(test_file, "test_file")
    attempted(model, "model")
    expect(
        hasattr(model, "predict_proba"),
        f"`model` should be the fitted candidate, not a {type(model).__name__}",
    )

    def prepare(folder: Path) -> None:
        import joblib

        joblib.dump(model, folder / "model.joblib")
        data.split()[1].to_parquet(folder / "frame.parquet")

    results = _pytest_run.run(file, prepare, _MODEL_CONFTEST, ["sound", *_BROKEN])
    expect(results, "none of your tests takes the `model` fixture: def test_x(model, frame): ...")
    failing = _failing(results.get("sound", {}))
    expect(not failing, f"on the candidate {', '.join(failing)} fail: a sound model must pass")
    for fault, advice in _BROKEN.items():
        expect(_failing(results.get(fault, {})), f"your tests pass a model that {advice}")
    return f"{len(results['sound'])} tests pass the candidate and catch all {len(_BROKEN)} broken models"


# --- exercises 3 and 5: the gate and gated promotion -----------------------------------------


def _kind(mv: Any) -> str:
    run = _mlflow.get_run(mv.run_id, f"version {mv.version}'s run") if mv.run_id else None
    return run.data.params.get("model", "?") if run else "?"


def _weak_and_strong(name: str, candidate_version: Any) -> tuple[str, str]:
    """Model sources: the prototype (weak) and the learner's candidate (strong)."""
    candidate = _mlflow.model_version(name, candidate_version, "candidate_version")
    prototypes = [mv for mv in _mlflow.versions(name) if _kind(mv) == "prototype"]
    expect(prototypes, f"{name!r} has no prototype version: run the cell that registers it")
    return prototypes[-1].source, candidate.source


def _auc(source: str, holdout: Any) -> float:
    import mlflow
    from sklearn.metrics import roc_auc_score

    model = mlflow.sklearn.load_model(source)
    return float(roc_auc_score(holdout[data.TARGET], model.predict_proba(holdout)[:, 1]))


def _verdict(result: Any) -> dict[str, Any]:
    ok = isinstance(result, dict) and {"candidate", "champion", "passed"} <= set(result)
    expect(ok, f"gate should return {{'candidate', 'champion', 'passed'}}, not {result!r:.80}")
    expect(
        _values.is_bool(result["passed"]),
        f"'passed' should be True or False, not {result['passed']!r}",
    )
    return result


@exercise(
    "m05.ex3",
    "A gate against the champion",
    hints=(
        "Load the champion by alias and the candidate by version number, from `model_name`.",
        "`handoff.estimator(f'models:/{model_name}@champion')` and "
        "`f'models:/{model_name}/{candidate_version}'`; score `holdout[FEATURES]` with each.",
        "Return `{'candidate': auc_c, 'champion': auc_p, 'passed': bool(auc_c > auc_p + margin)}`.",
    ),
)
def gate(gate: Any, model_name: Any, candidate_version: Any) -> str:
    fn = a_function(gate, "gate")
    name = _mlflow.model_name(model_name, "the cell that trains the candidate")
    weak, strong = _weak_and_strong(name, candidate_version)
    _, valid = data.split()
    mobile = valid[valid.device == "mobile"]
    with _mlflow.scratch_model([weak, strong, weak], {"champion": 1}) as scratch:
        for label, holdout in (("the validation weeks", valid), ("the mobile rows", mobile)):
            got = _verdict(fn(scratch, "2", holdout.copy(), 0.0))
            for role, source in (("candidate", strong), ("champion", weak)):
                expect(
                    close(got[role], _auc(source, holdout), 1e-6),
                    f"on {label} the gate's {role} AUC ({float(got[role]):.4f}) is not that "
                    f"model's ROC AUC on the holdout given; load the {role} from model_name",
                )
            expect(got["passed"], "a candidate better by far than the champion did not pass")
        expect(
            not _verdict(fn(scratch, "2", valid.copy(), 0.5))["passed"],
            "the gate passed with margin 0.5: pass only when candidate > champion + margin",
        )
        _mlflow.client().set_registered_model_alias(scratch, "champion", "2")
        worse = _verdict(fn(scratch, "3", valid.copy(), 0.0))
        expect(
            close(worse["champion"], _auc(strong, valid), 1e-6),
            "after @champion moved, the gate still scores the old champion: load it by alias",
        )
        expect(not worse["passed"], "a candidate worse than the champion passed the gate")
    return "the gate follows @champion, scores the holdout given and respects the margin"


def _tag_float(tags: dict[str, str], key: str) -> float:
    expect(key in tags, f"the candidate has no {key!r} tag")
    return _values.as_float(tags[key], f"tag {key}={tags[key]!r} is not a number")


@exercise(
    "m05.ex5",
    "Promote only on a passing gate",
    hints=(
        "Tag first, whatever the verdict; move the alias only inside `if result['passed']:`.",
        "`client.set_model_version_tag(model_name, version, 'gate', 'passed' or 'failed')`, and "
        "the two AUCs from `result`.",
        "Before moving: `previous = client.get_model_version_by_alias(model_name, 'champion')`"
        ".version, tag `promoted_from`, then `client.set_registered_model_alias(...)`.",
    ),
)
def promote(promote: Any, model_name: Any, candidate_version: Any) -> str:
    fn = a_function(promote, "promote")
    name = _mlflow.model_name(model_name, "the cell that trains the candidate")
    weak, strong = _weak_and_strong(name, candidate_version)
    client = _mlflow.client()
    with _mlflow.scratch_model([weak, strong], {"champion": 1}) as scratch:
        fn(scratch, "2", {"candidate": 0.70, "champion": 0.72, "passed": False})
        aliases = client.get_registered_model(scratch).aliases
        expect(str(aliases.get("champion")) == "1", "a failed gate moved @champion")
        tags = client.get_model_version(scratch, "2").tags
        expect(tags.get("gate") == "failed", "after a failed gate, tag gate should be 'failed'")
        expect(
            close(_tag_float(tags, "gate_candidate_auc"), 0.70, 1e-4)
            and close(_tag_float(tags, "gate_champion_auc"), 0.72, 1e-4),
            "gate_candidate_auc / gate_champion_auc are not the AUCs in the result",
        )
        expect("promoted_from" not in tags, "a failed gate set promoted_from")
        fn(scratch, "2", {"candidate": 0.75, "champion": 0.72, "passed": True})
        aliases = client.get_registered_model(scratch).aliases
        expect(str(aliases.get("champion")) == "2", "a passed gate did not move @champion")
        tags = client.get_model_version(scratch, "2").tags
        expect(tags.get("gate") == "passed", "after a passed gate, tag gate should be 'passed'")
        expect(
            tags.get("promoted_from") == "1",
            "promoted_from should name the version that was champion before",
        )
    champion = _mlflow.alias_version(name, "champion")
    candidate = _mlflow.model_version(name, candidate_version, "candidate_version")
    verdict = candidate.tags.get("gate")
    expect(
        verdict in ("passed", "failed"),
        f"candidate v{candidate.version} has no gate verdict: run the gate and promote it",
    )
    moved = str(champion.version) == str(candidate.version)
    if verdict == "passed":
        expect(moved, f"v{candidate.version} passed the gate but @champion is v{champion.version}")
        return f"@champion moved to v{candidate.version} after a passing gate, with the reasons"
    expect(not moved, f"v{candidate.version} failed the gate but is @champion: move it back")
    return f"v{candidate.version} failed the gate and @champion stays v{champion.version}, with the reasons"


# --- exercise 4: the workflow --------------------------------------------------------------

_JOBS = ("data-tests", "train", "gate", "promote")
_ORDER = (("train", "data-tests"), ("gate", "train"), ("promote", "gate"))
_PY_FILE = re.compile(r"(?<![\w$./-])([\w./-]+\.py)\b")


def _ancestors(jobs: dict[str, Any], name: str) -> set[str]:
    seen: set[str] = set()
    todo = _workflow.needs(jobs[name])
    while todo:
        job = todo.pop()
        if job not in seen and job in jobs:
            seen.add(job)
            todo.extend(_workflow.needs(jobs[job]))
    return seen


def _commands(job: Any) -> list[str]:
    return [str(s["run"]) for s in _workflow.steps_of(job) if "run" in s]


def _workflow_file(workflow_file: Any) -> tuple[dict[str, Any], Path]:
    """The parsed workflow and the folder it belongs to (the one holding .github/)."""
    if workflow_file is None:
        raise NotAttempted("`workflow_file` is None: pass the path of your workflow")
    expect(
        isinstance(workflow_file, str | Path),
        f"`workflow_file` should be a path, not a {type(workflow_file).__name__}",
    )
    path = Path(workflow_file)
    expect(path.is_file(), f"no file at {path}: run the %%writefile cell first")
    text = path.read_text(encoding="utf-8", errors="replace")
    if "raise NotImplementedError()" in text and "jobs" not in text:
        raise NotAttempted(f"{path.name} is still the stub: write your workflow in that cell")
    import yaml

    try:
        flow = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise CheckError(f"{path.name} is not valid YAML{where}: check the indentation") from None
    expect(isinstance(flow, dict), f"{path.name} should be a YAML mapping with on: and jobs:")
    expect(
        path.parent.name == "workflows" and path.parent.parent.name == ".github",
        f"{path} should sit in <your folder>/.github/workflows/: the check runs it from that folder",
    )
    return flow, path.parent.parent.parent


def _structure(flow: dict[str, Any], root: Path) -> dict[str, Any]:
    """What a runner would reject or run wrongly, said before anything runs."""
    trigger = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as True
    triggers = {str(trigger)} if isinstance(trigger, str) else set()
    if isinstance(trigger, list | dict):
        triggers = {str(t) for t in trigger}
    expect("push" in triggers, "the workflow has no push trigger (on: push:)")
    jobs = flow.get("jobs")
    expect(isinstance(jobs, dict), "the workflow has no jobs: mapping")
    missing = [j for j in _JOBS if j not in jobs]
    expect(not missing, f"the workflow lacks job(s) {', '.join(missing)}")
    for name, job in jobs.items():
        expect(isinstance(job, dict), f"job {name} should be a mapping with runs-on: and steps:")
    for job, before in _ORDER:
        expect(
            before in _ancestors(jobs, job),
            f"{job} does not wait for {before}: add needs: {before}",
        )
    guard = str(jobs["promote"].get("if", ""))
    expect(
        "refs/heads/main" in guard or "'main'" in guard,
        "promote runs on every branch and pull request: guard it with "
        "if: github.ref == 'refs/heads/main'",
    )
    expect(
        "always()" not in guard and "failure()" not in guard,
        "promote's if: lets it run after a failed gate: drop always() / failure()",
    )
    for name in _JOBS:
        job = jobs[name]
        expect(job.get("runs-on"), f"job {name} has no runs-on")
        uses = [str(s.get("uses", "")) for s in _workflow.steps_of(job)]
        expect(
            any(u.startswith("actions/checkout") for u in uses),
            f"job {name} does not check out the code: each job runs on a fresh machine",
        )
        _workflow.check_python(name, job, root)
        lenient = [s for s in [job, *_workflow.steps_of(job)] if s.get("continue-on-error")]
        expect(
            not lenient,
            f"job {name} has continue-on-error: a failing test or gate would not stop the "
            "workflow; remove it",
        )
    expect(
        "test_data" in "\n".join(_commands(jobs["data-tests"])),
        "data-tests does not run test_data.py",
    )
    expect("test_model" in "\n".join(_commands(jobs["gate"])), "gate does not run test_model.py")
    for name, job in jobs.items():
        commands = _commands(job)
        first = next((i for i, c in enumerate(commands) if _workflow.USES_PYTHON.search(c)), None)
        if first is None:
            continue
        expect(
            any(_workflow.INSTALL.search(c) for c in commands[:first]),
            f"job {name} runs `{commands[first].strip().splitlines()[0][:40]}` before installing "
            "anything: each job starts on a fresh runner, add - run: pip install -r "
            "requirements.txt first",
        )
        for step in _workflow.steps_of(job):
            if "run" not in step or "working-directory" in step:
                continue  # a path relative to another folder: running it will tell
            for file in _PY_FILE.findall(str(step["run"])):
                expect(
                    (root / file).is_file(),
                    f"job {name} runs {file}, which is not in your folder {root}: a runner "
                    "would fail there too",
                )
    return jobs


@exercise(
    "m05.ex4",
    "A CI workflow that promotes only on success",
    hints=(
        "Each job runs on a fresh machine: check out, set up Python 3.11+, install with "
        "`pip install -r requirements.txt`, then its own `- run:` lines.",
        "`needs: data-tests` makes train wait for the data tests; chain gate and promote the "
        "same way. Guard promote with `if: github.ref == 'refs/heads/main'`.",
        "The run lines: `pytest test_data.py`; `python train.py`; `pytest test_model.py` and "
        "`python gate.py --margin 0.002`; `python promote.py`.",
    ),
)
def workflow(workflow_file: Any, model_name: Any) -> str:
    flow, root = _workflow_file(workflow_file)
    jobs = _structure(flow, root)
    import mlflow

    name = _mlflow.model_name(model_name, "the cell that trains the candidates")
    prototypes = [mv for mv in _mlflow.versions(name) if _kind(mv) == "prototype"]
    expect(prototypes, f"{name!r} has no prototype version: run the cell that registers it")
    # A push to main where the candidate beats a weak champion: every step must pass, and
    # promote must move @champion. A scratch model and experiment keep the learner's untouched.
    with _mlflow.scratch_model([prototypes[-1].source], {"champion": 1}) as scratch:
        with _mlflow.scratch_experiment() as experiment:
            forced = {
                "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri(),
                "MLFLOW_EXPERIMENT_NAME": experiment.name,
                "MODEL_NAME": scratch,
            }
            env = _workflow.runner_env(forced)
            steps = _workflow.plan(flow, env)
            _workflow.run(steps, root, env, forced)
            champion = _mlflow.alias_version(scratch, "champion")
            expect(
                str(champion.version) != "1",
                "every step passed, but @champion did not move although the candidate beats "
                "the champion: does promote run promote.py after gate.py?",
            )
            expect(
                champion.tags.get("gate") == "passed",
                f"@champion moved to v{champion.version}, which has no passing gate verdict: "
                "run gate.py before promote.py",
            )
    return (
        f"the {len(steps)} run: steps of {len(jobs)} jobs pass on a push to main, in order, and "
        "promote moved a scratch @champion past the weaker prototype"
    )


question(
    Question(
        "m05.q1",
        "choice",
        "5e96b178299ea1a392e0",
        "Which test catches a new category",
        ("a", "b", "c"),
    )
)
question(
    Question(
        "m05.q2",
        "choice",
        "a5da31a78e167ac47b93",
        "Why one holdout for both models",
        ("a", "b", "c"),
    )
)
question(
    Question(
        "m05.q3", "choice", "d4348b4cb251c6dc6c2c", "Name the behavioural test", ("a", "b", "c")
    )
)
question(Question("m05.q4", "number", "9f932d8055d9e6871bc4", "Jobs before promote", tolerance=0.5,
                  hint="count the jobs on the needs chain that ends at promote"))  # fmt: skip
