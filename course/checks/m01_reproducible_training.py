"""Checks for m01 Reproducible training."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import data
from .._errors import CheckError
from ._expect import a_function, expect
from ._registry import Question, exercise, question

MODELS = ("linear", "tree", "forest", "mlp")


def _frames(result: Any, name: str) -> tuple[Any, Any]:
    import pandas as pd

    ok = isinstance(result, tuple) and len(result) == 2
    ok = ok and all(isinstance(f, pd.DataFrame) for f in result)
    expect(ok, f"{name} should return two DataFrames (train, valid), not {type(result).__name__}")
    return result


def _calm() -> Any:
    frame = data.activity()
    return frame[~frame["week"].isin(data.HOLIDAY_WEEKS + data.EMBARGO_WEEKS)].reset_index(
        drop=True
    )


@exercise(
    "m01.ex1",
    "A time-based, deterministic split",
    hints=(
        "Find the last `valid_weeks` distinct values of `frame['week']`; those rows validate.",
        "`cut = sorted(frame['week'].unique())[-valid_weeks]`, then compare `frame['week']` "
        "with `cut`.",
        "Sort the result (by week and customer_id) and reset the index, so that the same rows "
        "in any order give the same frames.",
    ),
)
def time_split(time_split: Any) -> str:
    import pandas as pd

    fn = a_function(time_split, "time_split")
    calm = _calm()
    train, valid = _frames(fn(calm.copy(), 4), "time_split")
    expect(
        len(train) + len(valid) == len(calm), "train and valid together should hold every row once"
    )
    expect(len(train) and len(valid), "one of the two frames is empty")
    expect(
        train["week"].max() < valid["week"].min(),
        "some training rows are later than validation rows: that leaks the future into training",
    )
    weeks = sorted(int(w) for w in calm["week"].unique())
    expect(
        sorted(valid["week"].unique()) == weeks[-4:],
        f"with valid_weeks=4 the validation rows should be the last 4 weeks {weeks[-4:]}",
    )
    for part, name in ((train, "train"), (valid, "valid")):
        expect(
            part.index.equals(pd.RangeIndex(len(part))),
            f"{name} keeps the input's index labels: reset_index(drop=True) gives it a fresh one",
        )
    again = _frames(fn(calm.sample(frac=1, random_state=1), 4), "time_split")
    for mine, other, part in ((train, again[0], "train"), (valid, again[1], "valid")):
        try:
            pd.testing.assert_frame_equal(mine, other)
        except AssertionError:
            raise CheckError(
                f"shuffled input rows give a different {part} frame: sort the rows and reset the "
                "index so the split does not depend on the order rows arrive in"
            ) from None
    small = calm[calm["customer_id"] <= 300]
    train2, valid2 = _frames(fn(small.copy(), 2), "time_split")
    expect(
        sorted(valid2["week"].unique()) == sorted(small["week"].unique())[-2:],
        "with valid_weeks=2 the split should keep the last 2 weeks: use the argument",
    )
    return f"{len(train):,} training rows before {len(valid):,} validation rows, in any row order"


@exercise(
    "m01.ex2",
    "A preprocessing + model Pipeline",
    hints=(
        "A ColumnTransformer sends numeric and categorical columns through different steps; "
        "a Pipeline puts it before the model.",
        "Numeric: SimpleImputer(strategy='median') then StandardScaler. Categorical: "
        "SimpleImputer(strategy='most_frequent') then OneHotEncoder(handle_unknown='ignore').",
        "Return `Pipeline([('prep', ColumnTransformer([...])), ('model', LogisticRegression(max_iter=1000))])` "
        "without fitting it.",
    ),
)
def pipeline(build_pipeline: Any) -> str:
    import numpy as np
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import Pipeline

    fn = a_function(build_pipeline, "build_pipeline")
    pipe = fn()
    expect(
        isinstance(pipe, Pipeline),
        f"build_pipeline should return a sklearn Pipeline, not {type(pipe).__name__}",
    )
    expect(
        not hasattr(pipe, "classes_"),
        "return the pipeline unfitted: fitting happens on the training rows",
    )
    train, valid = data.split()
    features = list(data.FEATURES)
    fitted = clone(pipe).fit(train[features], train[data.TARGET])
    auc = roc_auc_score(valid[data.TARGET], fitted.predict_proba(valid[features])[:, 1])
    expect(
        auc >= 0.70,
        f"validation ROC AUC is {auc:.3f}; scaled features and a logistic regression reach 0.74",
    )
    broken = valid[features].copy()
    rng = np.random.default_rng(0)
    broken.loc[rng.random(len(broken)) < 0.1, "sessions_7d"] = np.nan
    broken["country"] = broken["country"].astype(object)
    broken.loc[broken.index[:20], "country"] = "XX"
    try:
        fitted.predict_proba(broken)
    except Exception as exc:  # the message says which step broke
        raise CheckError(
            f"the pipeline fails on missing values or an unseen category ({type(exc).__name__}): "
            "impute, and one-hot encode with handle_unknown='ignore'"
        ) from None
    names = list(fitted[:-1].get_feature_names_out())
    expect(
        any("country" in n for n in names) and any("device" in n for n in names),
        "the categorical features (country, device, channel) do not reach the model",
    )
    return f"validation ROC AUC {auc:.3f}; it survives missing values and unseen categories"


@exercise(
    "m01.ex3",
    "Time-ordered cross-validation folds",
    hints=(
        "Walk forward: fold k validates on one block of weeks and trains on all weeks before it.",
        "With weeks = sorted(frame['week'].unique()), the test weeks of the last n_splits folds "
        "are the last n_splits blocks of `block` weeks each.",
        "Return positions, not labels: `np.flatnonzero(frame['week'].isin(test_weeks))`.",
    ),
)
def folds(week_folds: Any) -> str:
    import numpy as np

    fn = a_function(week_folds, "week_folds")
    train, _ = data.split()
    train = train.set_axis(range(10**6, 10**6 + len(train)))  # labels are not positions
    result = fn(train, 3)
    expect(
        isinstance(result, list) and len(result) == 3,
        "week_folds(frame, 3) should return a list of 3 folds",
    )
    seen: set[int] = set()
    weeks = train["week"].to_numpy()
    for k, fold in enumerate(result):
        expect(
            isinstance(fold, tuple) and len(fold) == 2,
            f"fold {k} should be a (train_idx, test_idx) tuple",
        )
        tr, te = (np.asarray(f) for f in fold)
        expect(tr.size and te.size, f"fold {k} has an empty part")
        inside = min(tr.min(), te.min()) >= 0 and max(tr.max(), te.max()) < len(train)
        expect(
            inside,
            f"fold {k} has positions outside 0..len(frame)-1: return row positions of the frame "
            "you were given (np.flatnonzero), not index labels",
        )
        expect(
            weeks[tr].max() < weeks[te].min(),
            f"fold {k} trains on weeks after the ones it tests: folds must walk forward in time",
        )
        expect(not seen & set(te.tolist()), f"fold {k} tests rows an earlier fold tested")
        seen |= set(te.tolist())
    last = weeks[np.asarray(result[-1][1])]
    expect(last.max() == weeks.max(), "the last fold should test the latest weeks")
    again = fn(train.copy(), 3)
    same = all(
        np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        for a, b in zip(result, again, strict=True)
    )
    expect(same, "calling week_folds twice gives different folds: no randomness here")
    return f"3 walk-forward folds testing weeks {sorted(set(weeks[np.asarray(result[0][1])]))[0]} to {weeks.max()}"


@exercise(
    "m01.ex4",
    "Compare four models on the same folds",
    hints=(
        "Loop over the models; for each, `cross_val_score(pipe, X, y, cv=folds, scoring='roc_auc')` "
        "gives one score per fold.",
        "Build each pipeline with your preprocessing and the model at the end, and fix "
        "`random_state=0` on the tree, the forest and the MLP so that a re-run gives the same numbers.",
        "Return `pd.DataFrame({name: scores for name, scores in ...})`: one row per fold, one "
        "column per model.",
    ),
)
def compare(compare_models: Any) -> str:
    import numpy as np
    import pandas as pd

    fn = a_function(compare_models, "compare_models")
    train, _ = data.split()
    sample = train[train["customer_id"] % 3 == 0].reset_index(drop=True)
    X, y = sample[list(data.FEATURES)], sample[data.TARGET]
    weeks = sorted(sample["week"].unique())
    folds = [
        (np.flatnonzero(sample["week"] < w), np.flatnonzero(sample["week"] == w))
        for w in weeks[-2:]
    ]
    scores = fn(X, y, folds)
    expect(
        isinstance(scores, pd.DataFrame),
        f"compare_models should return a DataFrame, not {type(scores).__name__}",
    )
    expect(
        sorted(scores.columns) == sorted(MODELS),
        f"the columns should be {list(MODELS)}, not {list(scores.columns)}",
    )
    expect(
        len(scores) == len(folds),
        f"one row per fold: {len(folds)} folds given, {len(scores)} rows returned",
    )
    expect(
        scores.to_numpy().min() > 0.6 and scores.to_numpy().max() <= 1,
        "the scores should be ROC AUCs of working models (0.6 to 1): score with scoring='roc_auc'",
    )
    again = fn(X, y, folds)
    expect(
        np.allclose(scores[list(MODELS)].to_numpy(), again[list(MODELS)].to_numpy(), atol=1e-12),
        "a second run gives other scores: fix random_state on every model that has one",
    )
    best = scores.mean().idxmax()
    return f"same folds, same numbers twice; best mean ROC AUC: {best} ({scores.mean().max():.3f})"


@exercise(
    "m01.ex5",
    "A dataset fingerprint",
    hints=(
        "`pd.util.hash_pandas_object(frame, index=False)` gives one 64-bit hash per row.",
        "Sort those row hashes so that row order does not matter, then feed their bytes to "
        "`hashlib.sha256`; add the column names and dtypes too.",
        "Return `h.hexdigest()` (or a prefix of it): a string.",
    ),
)
def fingerprint(fingerprint: Any) -> str:
    fn = a_function(fingerprint, "fingerprint")
    from .. import handoff

    expect(
        fn is not handoff.fingerprint,
        "write fingerprint yourself: course.handoff.fingerprint is the course's copy for later modules",
    )
    train, _ = data.split()
    fp = fn(train)
    expect(
        isinstance(fp, str) and len(fp) >= 8,
        "fingerprint should return a string of at least 8 characters",
    )
    expect(
        fn(train.copy()) == fp,
        "the same data gives a different fingerprint: leave randomness and time out",
    )
    expect(
        fn(train.sample(frac=1, random_state=7)) == fp,
        "shuffled rows give a different fingerprint: hash rows, then sort the row hashes",
    )
    expect(
        fn(train.reset_index(drop=True).set_axis(range(5, 5 + len(train)))) == fp,
        "a different index changes the fingerprint: hash the values only (index=False)",
    )
    changed = train.copy()
    changed.loc[changed.index[123], "aov_30d"] += 0.01
    expect(fn(changed) != fp, "changing one value (by 0.01) does not change the fingerprint")
    expect(
        fn(train.rename(columns={"week": "week_no"})) != fp,
        "renaming a column does not change the fingerprint: include the column names",
    )
    expect(fn(train.iloc[:-1]) != fp, "dropping a row does not change the fingerprint")
    return f"{fp[:16]}… stays put when rows move and changes with any value"


@contextlib.contextmanager
def _dvc_repo() -> Iterator[tuple[Any, Path]]:
    """A DVC repository (no git) in a temporary folder, with DVC's site cache inside it too."""
    from dvc.repo import Repo

    with tempfile.TemporaryDirectory(prefix="course-dvc-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        before = os.environ.get("DVC_SITE_CACHE_DIR")
        os.environ["DVC_SITE_CACHE_DIR"] = str(Path(tmp) / "site-cache")
        try:
            with Repo.init(root, no_scm=True) as repo:
                with repo.config.edit() as conf:
                    conf["core"].update(analytics=False, check_update=False)
                yield repo, root
        finally:
            if before is None:
                os.environ.pop("DVC_SITE_CACHE_DIR", None)
            else:
                os.environ["DVC_SITE_CACHE_DIR"] = before


def _tracked(repo: Any, path: Path) -> str:
    """`dvc add` the file; the md5 DVC recorded, checked against the bytes and the cache."""
    (stage,) = repo.add(str(path))
    md5 = stage.outs[0].hash_info.value
    cached = path.parent / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    if md5 != hashlib.md5(path.read_bytes()).hexdigest() or not cached.is_file():
        raise RuntimeError(f"dvc add of {path.name} did not record the md5 of its bytes")
    return md5


def _version_of(fn: Any, dvc_file: Path) -> str:
    """The learner's answer for one .dvc file, with a line on each plausible wrong kind."""
    got = fn(dvc_file)
    expect(
        not isinstance(got, dict),
        "dvc_version returned a dict (the whole output entry): return only its md5",
    )
    expect(
        not isinstance(got, list),
        "dvc_version returned a list: `outs` lists the outputs; return the first one's md5",
    )
    expect(
        isinstance(got, str),
        f"dvc_version should return the md5 as a string, not a {type(got).__name__}",
    )
    data_file = dvc_file.with_suffix("")
    paths = {str(dvc_file), str(data_file), dvc_file.name, data_file.name}
    expect(
        got.strip() not in paths,
        "dvc_version returned a path: return the md5 that the .dvc file records for that path",
    )
    expect(
        got != hashlib.md5(dvc_file.read_bytes()).hexdigest(),
        "that is the md5 of the .dvc file's own text: return the md5 recorded inside it, "
        "the one that names the data",
    )
    return got


@exercise(
    "m01.ex6",
    "The data version a .dvc file records",
    hints=(
        "A .dvc file is YAML: `yaml.safe_load` turns it into a dict.",
        "The dict has `outs`, a list with one entry per tracked file; the entry has `md5`, "
        "`size`, `hash` and `path`.",
        "Read the md5 from the file each time the function is called (`...['outs'][0]['md5']`); "
        "do not compute one from the data.",
    ),
)
def dvc_version(dvc_version: Any) -> str:
    import pandas as pd

    fn = a_function(dvc_version, "dvc_version")
    _, valid = data.split()
    with _dvc_repo() as (repo, root):
        data_file = root / "week.parquet"
        first = valid[valid["week"] == valid["week"].min()]
        first.to_parquet(data_file, index=False)
        v1 = _tracked(repo, data_file)
        dvc_file = root / "week.parquet.dvc"
        got = _version_of(fn, dvc_file)
        expect(
            got == v1,
            f"dvc_version returned {got[:12]!r}..., which is not the md5 this .dvc file records: "
            "read the md5 from the file, do not compute one from the data",
        )
        pd.concat([first, valid[valid["week"] == valid["week"].max()]]).to_parquet(
            data_file, index=False
        )
        expect(
            _version_of(fn, dvc_file) == v1,
            "after the data file changed without `dvc add`, dvc_version follows the data: it "
            "should return what the .dvc file records (dvc status would say: modified)",
        )
        v2 = _tracked(repo, data_file)
        expect(
            _version_of(fn, dvc_file) == v2,
            "after `dvc add` of new data, dvc_version still returns the old md5: read the "
            ".dvc file on each call",
        )
    return f"{v2[:12]}… is the md5 of the data's bytes and names an object in DVC's cache"


question(
    Question(
        "m01.q1", "choice", "830ba11cb48d499cf4c0", "Why a random split leaks here", ("a", "b", "c")
    )
)
question(
    Question(
        "m01.q2",
        "choice",
        "49edd9809e57d95c2d44",
        "What a fingerprint is for",
        ("a", "b", "c", "d"),
    )
)
question(
    Question(
        "m01.q3",
        "choice",
        "45c96ea8f368e5c4c2cc",
        "Which CV for time-ordered data",
        ("a", "b", "c", "d"),
    )
)
question(
    Question(
        "m01.q4",
        "choice",
        "8a4be583b3f2b65f20fd",
        "What two fingerprints tell you",
        ("a", "b", "c", "d"),
    )
)
