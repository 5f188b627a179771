"""m01 checks, called as the reproducible-training notebook calls them.

Every answer here is a function: the notebook's solutions are module-level functions below, and
each plausible mistake is a small variant of one. Nothing reaches MLflow, so every test gets only
a fresh state dir (`course_home`). The m01.ex4 check trains four models twice, so its wrong
answers are few, and fail early where they can.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from _assert import assert_one_tick, assert_wrong
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

import course
from course import data, handoff


def calm_weeks() -> pd.DataFrame:
    """The notebook's `calm`: every week but the holidays and the embargo, with a fresh index."""
    frame = data.activity()
    return frame[~frame["week"].isin(data.HOLIDAY_WEEKS + data.EMBARGO_WEEKS)].reset_index(
        drop=True
    )


# --- m01.ex1 a time-based split ----------------------------------------------------------


def time_split(frame: pd.DataFrame, valid_weeks: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The notebook's solution to m01.ex1."""
    ordered = frame.sort_values(["week", "customer_id"]).reset_index(drop=True)
    cut = sorted(ordered["week"].unique())[-valid_weeks]
    train = ordered[ordered["week"] < cut].reset_index(drop=True)
    valid = ordered[ordered["week"] >= cut].reset_index(drop=True)
    return train, valid


def time_split_random(frame: pd.DataFrame, valid_weeks: int):
    train, valid = train_test_split(frame, test_size=0.2, shuffle=True, random_state=0)
    return train, valid


def time_split_four_weeks(frame: pd.DataFrame, valid_weeks: int):
    return time_split(frame, 4)


def time_split_off_by_one(frame: pd.DataFrame, valid_weeks: int):
    ordered = frame.sort_values(["week", "customer_id"]).reset_index(drop=True)
    cut = ordered["week"].max() - valid_weeks
    train = ordered[ordered["week"] < cut].reset_index(drop=True)
    valid = ordered[ordered["week"] >= cut].reset_index(drop=True)
    return train, valid


def time_split_unsorted(frame: pd.DataFrame, valid_weeks: int):
    cut = sorted(frame["week"].unique())[-valid_weeks]
    train = frame[frame["week"] < cut].reset_index(drop=True)
    valid = frame[frame["week"] >= cut].reset_index(drop=True)
    return train, valid


def time_split_list(frame: pd.DataFrame, valid_weeks: int):
    return list(time_split(frame, valid_weeks))


def time_split_stub(frame: pd.DataFrame, valid_weeks: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    raise NotImplementedError()


def test_ex1_solution_passes_with_one_line(course_home, capsys):
    course.check("m01.ex1", time_split=time_split)
    assert_one_tick(capsys, "m01.ex1 correct: ")


@pytest.mark.parametrize(
    ("wrong", "match"),
    [
        pytest.param(
            time_split_random,
            "some training rows are later than validation rows",
            id="random-split",
        ),
        pytest.param(
            time_split_four_weeks,
            "with valid_weeks=2 the split should keep the last 2 weeks: use the argument",
            id="ignores-valid-weeks",
        ),
        pytest.param(
            time_split_off_by_one,
            "with valid_weeks=4 the validation rows should be the last 4 weeks",
            id="off-by-one-week",
        ),
        pytest.param(
            time_split_unsorted,
            "shuffled input rows give a different train frame: sort the rows",
            id="unsorted",
        ),
        pytest.param(
            time_split_list,
            r"should return two DataFrames \(train, valid\), not list",
            id="list",
        ),
        pytest.param(
            time_split(calm_weeks(), 4),
            "`time_split` should be a function, not a tuple",
            id="called-not-passed",
        ),
    ],
)
def test_ex1_wrong_answers_fail(course_home, wrong, match):
    assert_wrong("m01.ex1", match, time_split=wrong)


# --- m01.ex2 a Pipeline ------------------------------------------------------------------


def build_pipeline(model=None) -> Pipeline:
    """The notebook's solution to m01.ex2."""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
    )
    prep = ColumnTransformer(
        [
            ("num", numeric, list(data.NUMERIC_FEATURES)),
            ("cat", categorical, list(data.CATEGORICAL_FEATURES)),
        ]
    )
    if model is None:
        model = LogisticRegression(max_iter=1000)
    return Pipeline([("prep", prep), ("model", model)])


def build_pipeline_no_imputer(model=None) -> Pipeline:
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), list(data.NUMERIC_FEATURES)),
            ("cat", OneHotEncoder(handle_unknown="ignore"), list(data.CATEGORICAL_FEATURES)),
        ]
    )
    return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=1000))])


def build_pipeline_strict_encoder(model=None) -> Pipeline:
    categorical = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder())
    prep = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                list(data.NUMERIC_FEATURES),
            ),
            ("cat", categorical, list(data.CATEGORICAL_FEATURES)),
        ]
    )
    return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=1000))])


def build_pipeline_numeric_only(model=None) -> Pipeline:
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    prep = ColumnTransformer([("num", numeric, list(data.NUMERIC_FEATURES))])
    return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=1000))])


def build_pipeline_fitted(model=None) -> Pipeline:
    train, _ = data.split()
    return build_pipeline(model).fit(train[list(data.FEATURES)], train[data.TARGET])


def build_pipeline_bare_model(model=None):
    return LogisticRegression(max_iter=1000)


def build_pipeline_stub(model=None) -> Pipeline:
    raise NotImplementedError()


def test_ex2_solution_passes_with_one_line(course_home, capsys):
    course.check("m01.ex2", build_pipeline=build_pipeline)
    assert_one_tick(capsys, "m01.ex2 correct: validation ROC AUC 0.")


@pytest.mark.parametrize(
    ("wrong", "match"),
    [
        pytest.param(
            build_pipeline_no_imputer,
            r"the pipeline fails on missing values or an unseen category \(ValueError\)",
            id="no-imputer",
        ),
        pytest.param(
            build_pipeline_strict_encoder,
            r"fails on missing values or an unseen category .* handle_unknown='ignore'",
            id="unknown-category-error",
        ),
        pytest.param(
            build_pipeline_numeric_only,
            r"the categorical features \(country, device, channel\) do not reach the model",
            id="numeric-only",
        ),
        pytest.param(
            build_pipeline_fitted,
            "return the pipeline unfitted: fitting happens on the training rows",
            id="fitted",
        ),
        pytest.param(
            build_pipeline_bare_model,
            "should return a sklearn Pipeline, not LogisticRegression",
            id="bare-model",
        ),
        pytest.param(
            build_pipeline(),
            "`build_pipeline` should be a function, not a Pipeline",
            id="called-not-passed",
        ),
    ],
)
def test_ex2_wrong_answers_fail(course_home, wrong, match):
    assert_wrong("m01.ex2", match, build_pipeline=wrong)


# --- m01.ex3 walk-forward folds ----------------------------------------------------------


def week_folds(
    frame: pd.DataFrame, n_splits: int, block: int = 2
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The notebook's solution to m01.ex3."""
    weeks = sorted(frame["week"].unique())
    folds = []
    for k in range(n_splits, 0, -1):
        test_weeks = weeks[len(weeks) - k * block : len(weeks) - (k - 1) * block]
        train_idx = np.flatnonzero(frame["week"] < test_weeks[0])
        test_idx = np.flatnonzero(frame["week"].isin(test_weeks))
        folds.append((train_idx, test_idx))
    return folds


def week_folds_kfold(frame: pd.DataFrame, n_splits: int, block: int = 2):
    return list(KFold(n_splits, shuffle=True, random_state=0).split(frame))


def week_folds_one_week_steps(frame: pd.DataFrame, n_splits: int, block: int = 2):
    weeks = sorted(frame["week"].unique())
    folds = []
    for k in range(n_splits, 0, -1):
        test_weeks = weeks[len(weeks) - k - 1 : len(weeks) - k + 1]
        train_idx = np.flatnonzero(frame["week"] < test_weeks[0])
        test_idx = np.flatnonzero(frame["week"].isin(test_weeks))
        folds.append((train_idx, test_idx))
    return folds


def week_folds_on_calm(frame: pd.DataFrame, n_splits: int, block: int = 2):
    """Uses the notebook's `calm` instead of its argument: positions of another frame."""
    return week_folds(calm_weeks(), n_splits, block)


def week_folds_two(frame: pd.DataFrame, n_splits: int, block: int = 2):
    return week_folds(frame, 2, block)


def week_folds_generator(frame: pd.DataFrame, n_splits: int, block: int = 2):
    yield from week_folds(frame, n_splits, block)


def week_folds_shuffled(frame: pd.DataFrame, n_splits: int, block: int = 2):
    return [(np.random.permutation(tr), te) for tr, te in week_folds(frame, n_splits, block)]


def week_folds_stub(
    frame: pd.DataFrame, n_splits: int, block: int = 2
) -> list[tuple[np.ndarray, np.ndarray]]:
    raise NotImplementedError()


def test_ex3_solution_passes_with_one_line(course_home, capsys):
    course.check("m01.ex3", week_folds=week_folds)
    assert_one_tick(capsys, "m01.ex3 correct: 3 walk-forward folds testing weeks ")


@pytest.mark.parametrize(
    ("wrong", "match"),
    [
        pytest.param(
            week_folds_kfold,
            "fold 0 trains on weeks after the ones it tests: folds must walk forward",
            id="shuffled-kfold",
        ),
        pytest.param(
            week_folds_one_week_steps,
            "fold 1 tests rows an earlier fold tested",
            id="overlapping-blocks",
        ),
        pytest.param(
            week_folds_on_calm,
            "has positions outside 0..len",
            id="another-frame",
        ),
        pytest.param(
            week_folds_two,
            r"week_folds\(frame, 3\) should return a list of 3 folds",
            id="ignores-n-splits",
        ),
        pytest.param(
            week_folds_generator,
            r"week_folds\(frame, 3\) should return a list of 3 folds",
            id="generator",
        ),
        pytest.param(
            week_folds_shuffled,
            "calling week_folds twice gives different folds: no randomness here",
            id="unseeded-shuffle",
        ),
    ],
)
def test_ex3_wrong_answers_fail(course_home, wrong, match):
    assert_wrong("m01.ex3", match, week_folds=wrong)


# --- m01.ex4 four models on the same folds -----------------------------------------------


def compare_models(X: pd.DataFrame, y: pd.Series, folds: list) -> pd.DataFrame:
    """The notebook's solution to m01.ex4."""
    models = {
        "linear": LogisticRegression(max_iter=1000),
        "tree": DecisionTreeClassifier(max_depth=5, random_state=0),
        "forest": RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0),
        "mlp": MLPClassifier(hidden_layer_sizes=(16,), early_stopping=True, random_state=0),
    }
    return pd.DataFrame(
        {
            name: cross_val_score(build_pipeline(model), X, y, cv=folds, scoring="roc_auc")
            for name, model in models.items()
        }
    )


def small_models() -> dict:
    """The four families, shrunk: answers that fail on their shape need not train for long."""
    return {
        "linear": LogisticRegression(max_iter=1000),
        "tree": DecisionTreeClassifier(max_depth=3, random_state=0),
        "forest": RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0),
        "mlp": MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0),
    }


def compare_models_unseeded_forest(X: pd.DataFrame, y: pd.Series, folds: list) -> pd.DataFrame:
    models = {
        "linear": LogisticRegression(max_iter=1000),
        "tree": DecisionTreeClassifier(max_depth=5, random_state=0),
        "forest": RandomForestClassifier(n_estimators=50, max_depth=8),
        "mlp": MLPClassifier(hidden_layer_sizes=(16,), early_stopping=True, random_state=0),
    }
    return pd.DataFrame(
        {
            name: cross_val_score(build_pipeline(model), X, y, cv=folds, scoring="roc_auc")
            for name, model in models.items()
        }
    )


def compare_models_means(X: pd.DataFrame, y: pd.Series, folds: list) -> pd.Series:
    return pd.Series(
        {
            name: cross_val_score(build_pipeline(model), X, y, cv=folds, scoring="roc_auc").mean()
            for name, model in small_models().items()
        }
    )


def compare_models_own_folds(X: pd.DataFrame, y: pd.Series, folds: list) -> pd.DataFrame:
    return pd.DataFrame(
        {
            name: cross_val_score(build_pipeline(model), X, y, cv=5, scoring="roc_auc")
            for name, model in small_models().items()
        }
    )


def compare_models_stub(X: pd.DataFrame, y: pd.Series, folds: list) -> pd.DataFrame:
    raise NotImplementedError()


def test_ex4_solution_passes_with_one_line(course_home, capsys):
    course.check("m01.ex4", compare_models=compare_models)
    assert_one_tick(capsys, "m01.ex4 correct: same folds, same numbers twice; best mean ROC AUC: ")


@pytest.mark.parametrize(
    ("wrong", "match"),
    [
        pytest.param(
            compare_models_unseeded_forest,
            "a second run gives other scores: fix random_state on every model",
            id="unseeded-forest",
        ),
        pytest.param(
            compare_models_means,
            "compare_models should return a DataFrame, not Series",
            id="mean-per-model",
        ),
        pytest.param(
            compare_models_own_folds,
            "one row per fold: 2 folds given, 5 rows returned",
            id="ignores-folds",
        ),
    ],
)
def test_ex4_wrong_answers_fail(course_home, wrong, match):
    assert_wrong("m01.ex4", match, compare_models=wrong)


# --- m01.ex5 a dataset fingerprint -------------------------------------------------------


def fingerprint(frame: pd.DataFrame) -> str:
    """The notebook's solution to m01.ex5."""
    rows = np.sort(pd.util.hash_pandas_object(frame, index=False).to_numpy())
    h = hashlib.sha256(rows.tobytes())
    h.update(",".join(f"{c}:{t}" for c, t in frame.dtypes.items()).encode())
    return h.hexdigest()


def fingerprint_with_index(frame: pd.DataFrame) -> str:
    rows = np.sort(pd.util.hash_pandas_object(frame).to_numpy())
    h = hashlib.sha256(rows.tobytes())
    h.update(",".join(f"{c}:{t}" for c, t in frame.dtypes.items()).encode())
    return h.hexdigest()


def fingerprint_in_row_order(frame: pd.DataFrame) -> str:
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    h = hashlib.sha256(rows.tobytes())
    h.update(",".join(f"{c}:{t}" for c, t in frame.dtypes.items()).encode())
    return h.hexdigest()


def fingerprint_of_schema(frame: pd.DataFrame) -> str:
    return hashlib.sha256(f"{list(frame.columns)} {frame.shape}".encode()).hexdigest()


def fingerprint_values_only(frame: pd.DataFrame) -> str:
    rows = np.sort(pd.util.hash_pandas_object(frame, index=False).to_numpy())
    return hashlib.sha256(rows.tobytes()).hexdigest()


def fingerprint_timestamped(frame: pd.DataFrame) -> str:
    h = hashlib.sha256(bytes.fromhex(fingerprint(frame)))
    h.update(str(time.time_ns()).encode())
    return h.hexdigest()


def fingerprint_bytes(frame: pd.DataFrame) -> bytes:
    return bytes.fromhex(fingerprint(frame))


def fingerprint_int(frame: pd.DataFrame) -> int:
    return int(fingerprint(frame), 16)


def fingerprint_stub(frame: pd.DataFrame) -> str:
    raise NotImplementedError()


def test_ex5_solution_passes_with_one_line(course_home, capsys):
    course.check("m01.ex5", fingerprint=fingerprint)
    assert_one_tick(capsys, "m01.ex5 correct: ")


@pytest.mark.parametrize(
    ("wrong", "match"),
    [
        pytest.param(
            fingerprint_with_index,
            r"a different index changes the fingerprint: hash the values only \(index=False\)",
            id="hashes-index",
        ),
        pytest.param(
            fingerprint_in_row_order,
            "shuffled rows give a different fingerprint: hash rows, then sort the row hashes",
            id="row-order",
        ),
        pytest.param(
            fingerprint_of_schema,
            r"changing one value \(by 0\.01\) does not change the fingerprint",
            id="schema-only",
        ),
        pytest.param(
            fingerprint_values_only,
            "renaming a column does not change the fingerprint: include the column names",
            id="no-column-names",
        ),
        pytest.param(
            fingerprint_timestamped,
            "the same data gives a different fingerprint: leave randomness and time out",
            id="timestamped",
        ),
        pytest.param(
            fingerprint_bytes,
            "fingerprint should return a string of at least 8 characters",
            id="bytes",
        ),
        pytest.param(
            fingerprint_int,
            "fingerprint should return a string of at least 8 characters",
            id="int",
        ),
        pytest.param(
            handoff.fingerprint,
            "write fingerprint yourself: course.handoff.fingerprint is the course's copy",
            id="course-copy",
        ),
    ],
)
def test_ex5_wrong_answers_fail(course_home, wrong, match):
    assert_wrong("m01.ex5", match, fingerprint=wrong)


def test_ex5_the_course_copy_that_later_modules_use_is_a_right_answer(course_home, capsys):
    course.check("m01.ex5", fingerprint=lambda frame: handoff.fingerprint(frame))
    assert_one_tick(capsys, "m01.ex5 correct: ")


# --- m01.ex6 the data version a .dvc file records ----------------------------------------


def dvc_version(dvc_file) -> str:
    """The notebook's solution to m01.ex6."""
    with open(dvc_file) as f:
        return yaml.safe_load(f)["outs"][0]["md5"]


def _outs(dvc_file) -> dict:
    return yaml.safe_load(Path(dvc_file).read_text())["outs"][0]


def dvc_version_of_the_dvc_file(dvc_file) -> str:
    return hashlib.md5(Path(dvc_file).read_bytes()).hexdigest()


def dvc_version_path(dvc_file) -> str:
    return _outs(dvc_file)["path"]


def dvc_version_full_path(dvc_file) -> str:
    return str(Path(dvc_file).parent / _outs(dvc_file)["path"])


def dvc_version_outs(dvc_file) -> dict:
    return _outs(dvc_file)


def dvc_version_outs_list(dvc_file) -> list:
    return yaml.safe_load(Path(dvc_file).read_text())["outs"]


def dvc_version_reread(dvc_file) -> str:
    """Hashes the data after a round trip through pandas: not the bytes DVC hashed."""
    frame = pd.read_parquet(Path(dvc_file).parent / _outs(dvc_file)["path"])
    return hashlib.md5(pd.util.hash_pandas_object(frame, index=False).to_numpy()).hexdigest()


def dvc_version_of_the_data(dvc_file) -> str:
    """The md5 of the data file as it is now, not the version the .dvc file names."""
    return hashlib.md5((Path(dvc_file).parent / _outs(dvc_file)["path"]).read_bytes()).hexdigest()


@functools.cache
def dvc_version_cached(dvc_file) -> str:
    return dvc_version(dvc_file)


def dvc_version_stub(dvc_file) -> str:
    raise NotImplementedError()


def test_ex6_solution_passes_with_one_line(course_home, capsys):
    course.check("m01.ex6", dvc_version=dvc_version)
    assert_one_tick(capsys, "m01.ex6 correct: ")


@pytest.mark.parametrize(
    ("wrong", "match"),
    [
        pytest.param(
            dvc_version_of_the_dvc_file,
            "that is the md5 of the .dvc file's own text",
            id="md5-of-dvc-file",
        ),
        pytest.param(dvc_version_path, "dvc_version returned a path", id="path"),
        pytest.param(dvc_version_full_path, "dvc_version returned a path", id="full-path"),
        pytest.param(
            dvc_version_outs, r"returned a dict \(the whole output entry\)", id="outs-entry"
        ),
        pytest.param(dvc_version_outs_list, "returned a list", id="outs-list"),
        pytest.param(
            dvc_version_reread,
            "which is not the md5 this .dvc file records: read the md5 from the file",
            id="rehashed-with-pandas",
        ),
        pytest.param(
            dvc_version_of_the_data,
            "after the data file changed without `dvc add`, dvc_version follows the data",
            id="md5-of-the-data-now",
        ),
        pytest.param(
            dvc_version_cached,
            "after `dvc add` of new data, dvc_version still returns the old md5",
            id="cached",
        ),
    ],
)
def test_ex6_wrong_answers_fail(course_home, wrong, match):
    assert_wrong("m01.ex6", match, dvc_version=wrong)


def test_ex6_check_leaves_no_dvc_state_behind(course_home, capsys, tmp_path, monkeypatch):
    """The check's repository lives in a temporary folder, and so does DVC's site cache."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "the-learner's"))
    course.check("m01.ex6", dvc_version=dvc_version)
    assert os.environ["DVC_SITE_CACHE_DIR"] == str(tmp_path / "the-learner's")
    assert list(scratch.iterdir()) == []


def test_dvc_commands_stay_on_the_machine(tmp_path):
    """With the course's environment, the `dvc` commands of the notebook start no analytics or
    updater daemon (those reset PYTHONPATH, so the netguard would not see them) and make no
    outside network attempt."""
    from conftest import NETGUARD

    from course._quiet import OFFLINE_ENV

    repo, netlog = tmp_path / "repo", tmp_path / "netguard.log"
    repo.mkdir()
    (repo / "week.csv").write_text("customer_id,sessions\n1,3\n")
    env = {
        # without CI=true (DVC skips its update check on CI runners): as on a learner's laptop
        **{k: v for k, v in os.environ.items() if not k.startswith("DVC_") and k != "CI"},
        **OFFLINE_ENV,
        "HOME": str(tmp_path / "home"),
        "DVC_SITE_CACHE_DIR": str(tmp_path / "site-cache"),
        "PYTHONPATH": str(NETGUARD),
        "NETGUARD_LOG": str(netlog),
    }
    commands = [
        "init --no-scm", "config core.check_update false", "add week.csv",
        f"remote add -d local {tmp_path / 'remote'}", "push", "data status", "checkout", "version",
    ]  # fmt: skip
    # One process runs them all, as `dvc` would one by one: dvc.cli.main is the command line.
    code = "import sys\nfrom dvc.cli import main\nfor c in sys.argv[1:]:\n    assert main([*c.split(), '-v']) == 0, c"
    proc = subprocess.run(
        [sys.executable, "-c", code, *commands],
        cwd=repo, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "Analytics is disabled" in log and "Check for update is disabled" in log
    assert "Trying to spawn" not in log
    assert not netlog.exists(), netlog.read_text()


# --- stubs -------------------------------------------------------------------------------

ARGUMENTS = {
    "m01.ex1": ("time_split", time_split_stub),
    "m01.ex2": ("build_pipeline", build_pipeline_stub),
    "m01.ex3": ("week_folds", week_folds_stub),
    "m01.ex4": ("compare_models", compare_models_stub),
    "m01.ex5": ("fingerprint", fingerprint_stub),
    "m01.ex6": ("dvc_version", dvc_version_stub),
}


@pytest.mark.parametrize("exercise_id", list(ARGUMENTS))
def test_none_is_not_attempted(course_home, exercise_id):
    argument, _ = ARGUMENTS[exercise_id]
    with pytest.raises(course.NotAttempted, match=f"`{argument}` is still None"):
        course.check(exercise_id, **{argument: None})


@pytest.mark.parametrize("exercise_id", list(ARGUMENTS))
def test_stub_function_is_not_attempted(course_home, exercise_id):
    argument, stub = ARGUMENTS[exercise_id]
    with pytest.raises(course.NotAttempted, match="still raises NotImplementedError"):
        course.check(exercise_id, **{argument: stub})


# --- quiz --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("m01.q1", "c"),
        pytest.param("m01.q1", " C ", id="m01.q1-normalised"),
        ("m01.q2", "a"),
        ("m01.q3", "b"),
        ("m01.q4", "d"),
    ],
)
def test_quiz_right_answer_passes(course_home, capsys, question, answer):
    course.quiz.check(question, answer)
    assert capsys.readouterr().out == f"✓ {question} correct\n"


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("m01.q1", "a"),
        ("m01.q2", "d"),
        ("m01.q3", "a"),
        ("m01.q3", "c"),
        ("m01.q4", "a"),
        ("m01.q4", "c"),
    ],
)
def test_quiz_wrong_answer_fails(course_home, question, answer):
    with pytest.raises(course.CheckError, match="not quite") as excinfo:
        course.quiz.check(question, answer)
    assert not isinstance(excinfo.value, course.NotAttempted)


@pytest.mark.parametrize(
    ("question", "answer", "match"),
    [
        ("m01.q1", "d", "answer with one of 'a', 'b', 'c', not 'd'"),
        ("m01.q2", "e", "answer with one of 'a', 'b', 'c', 'd', not 'e'"),
        ("m01.q3", ["b"], r"answer with one of 'a', 'b', 'c', 'd', not \['b'\]"),
        ("m01.q4", 1, "answer with one of 'a', 'b', 'c', 'd', not 1"),
    ],
)
def test_quiz_wrong_type_names_expected_type(course_home, question, answer, match):
    with pytest.raises(course.CheckError, match=match) as excinfo:
        course.quiz.check(question, answer)
    assert not isinstance(excinfo.value, course.NotAttempted)


@pytest.mark.parametrize("question", ["m01.q1", "m01.q2", "m01.q3", "m01.q4"])
def test_quiz_none_is_not_attempted(course_home, question):
    with pytest.raises(course.NotAttempted, match="no answer yet"):
        course.quiz.check(question, None)


def index_labels_folds(frame, n_splits, block=2):
    """Returns index labels where positions are asked for: equal only on a 0..n index."""
    weeks = sorted(frame["week"].unique())
    folds = []
    for k in range(n_splits, 0, -1):
        test_weeks = weeks[len(weeks) - k * block : len(weeks) - (k - 1) * block]
        folds.append(
            (
                frame.index[frame["week"] < test_weeks[0]].to_numpy(),
                frame.index[frame["week"].isin(test_weeks)].to_numpy(),
            )
        )
    return folds


def unreset_split(frame, valid_weeks):
    """Sorted, but keeps the input's index labels."""
    ordered = frame.sort_values(["week", "customer_id"])
    cut = sorted(ordered["week"].unique())[-valid_weeks]
    return ordered[ordered["week"] < cut], ordered[ordered["week"] >= cut]


def test_index_labels_and_unreset_index_are_caught(course_home):
    assert_wrong("m01.ex3", "not index labels", week_folds=index_labels_folds)
    assert_wrong("m01.ex1", "reset_index", time_split=unreset_split)
