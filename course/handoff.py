"""What a module takes from the modules before it, and the course baseline that stands in.

Learners do m00 to m10 in one state dir, so their work flows on: module 3's ``@champion`` (or
the candidate that module 5's gate promoted) is what module 6 serves; the requests module 6's
server answers are the inference log that module 7 monitors and module 9 retrains from; module
10 explains whatever is ``@champion`` then. When a module finds nothing (a skipped module, a
fresh Colab runtime), it says so in one line and builds a reference state from a course
baseline, never from an exercise's answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _inference_log, data
from ._errors import CourseError

if TYPE_CHECKING:
    import pandas as pd

    from .stack import Stack

__all__ = [
    "BASELINE_TAG",
    "TRAFFIC_WEEKS",
    "champion",
    "data_version",
    "estimator",
    "fingerprint",
    "replay",
    "traffic",
    "with_labels",
]

BASELINE_TAG = "course_baseline"
# The weeks of production traffic: calm weeks after training, then the holiday season.
TRAFFIC_WEEKS: tuple[int, ...] = tuple(range(13, data.N_WEEKS))
_KEYS = ["customer_id", "event_timestamp", "week"]


def _note(text: str) -> None:
    print(f"ℹ {text}")


def champion(stack: Stack) -> Any:
    """The learner's ``@champion`` version; the course baseline, registered as ``@champion``,
    when there is none yet (module 3 not done here)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return MlflowClient().get_model_version_by_alias(stack.model_name, "champion")
    except MlflowException:
        pass
    _note(
        f"{stack.model_name!r} has no @champion yet (module 3 sets it): registering the course "
        "baseline, a logistic regression on the numeric features, as @champion"
    )
    return _register_baseline(stack)


def _register_baseline(stack: Stack) -> Any:
    import contextlib
    import io

    import mlflow
    from mlflow import MlflowClient
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ._quiet import quiet

    train, valid = data.split()
    features = list(data.NUMERIC_FEATURES)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(train[features], train[data.TARGET])
    auc = roc_auc_score(valid[data.TARGET], model.predict_proba(valid[features])[:, 1])
    client = MlflowClient()
    weeks = f"{int(train['week'].min())}-{int(train['week'].max())}"
    with quiet(), contextlib.redirect_stderr(io.StringIO()):
        with mlflow.start_run(run_name="course-baseline", tags={BASELINE_TAG: "true"}):
            mlflow.log_params({"model": "logreg", "train_weeks": weeks})
            mlflow.log_metric("val_roc_auc", auc)
            info = mlflow.sklearn.log_model(
                model, name="model", pip_requirements=stack.pip_requirements
            )
        version = mlflow.register_model(info.model_uri, stack.model_name)
        tags = {BASELINE_TAG: "true", "train_weeks": weeks, "val_roc_auc": f"{auc:.6f}"}
        for key, value in tags.items():
            client.set_model_version_tag(stack.model_name, version.version, key, value)
        client.set_registered_model_alias(stack.model_name, "champion", version.version)
    return client.get_model_version(stack.model_name, version.version)


def estimator(model_uri: str) -> Any:
    """The scikit-learn model behind a registered version, however it was logged: a plain
    sklearn model, module 6's package (the model behind its repair step), or a pyfunc that keeps
    one in ``.model``. It takes the numeric features of clean rows."""
    import mlflow
    from mlflow.models import get_model_info

    flavors = get_model_info(model_uri).flavors
    if "sklearn" in flavors:
        return _behind_repair(mlflow.sklearn.load_model(model_uri))
    try:
        inner = getattr(mlflow.pyfunc.load_model(model_uri).unwrap_python_model(), "model", None)
    except Exception:  # not a Python-class pyfunc: fall through to the message below
        inner = None
    if not hasattr(inner, "predict_proba"):
        raise CourseError(
            f"{model_uri} holds no scikit-learn model with predict_proba (flavors: "
            f"{', '.join(sorted(flavors))}); point @champion at a version from modules 3-6 or 9"
        )
    return inner


def data_version(stack: Stack) -> str:
    """The DVC version (md5) of the training split: what module 1's ``train.parquet.dvc``
    records, so that runs and versions name data ``dvc checkout`` can bring back."""
    from . import _dvc

    md5, added = _dvc.version(stack.home, data.split()[0])
    if added:
        _note(
            "module 1's train.parquet.dvc does not name the training split here (module 1 not "
            f"done, or another version checked out): dvc add of the training split in "
            f"{_dvc.repo_dir(stack.home)}, version {md5}"
        )
    return md5


def fingerprint(frame: pd.DataFrame) -> str:
    """Module 1's data version (its exercise 5), so later modules tag runs with the same one.

    A hash of the column names and types and the sorted row hashes: row order and index do not
    change it; a value, a row or a column name does.
    """
    import hashlib

    import pandas as pd

    rows = pd.util.hash_pandas_object(frame, index=False).sort_values().to_numpy()
    schema = ",".join(f"{c}:{t}" for c, t in frame.dtypes.astype(str).items())
    return hashlib.sha256(schema.encode() + rows.tobytes()).hexdigest()[:16]


def _behind_repair(model: Any) -> Any:
    """Module 6 packages the model as ``Pipeline([("repair", ...), ("model", ...)])``. On clean
    rows the repair step changes nothing, and its class lives in module 6's notebook (a later
    notebook could not save it again with joblib or pickle): later modules get the model behind
    it, the one modules 1-5 built."""
    steps = getattr(model, "steps", None)
    if not (isinstance(steps, list) and len(steps) >= 2 and steps[0][0] == "repair"):
        return model
    rest = model[1:]
    return rest.steps[0][1] if len(rest.steps) == 1 else rest


def _week_rows(weeks: Any) -> pd.DataFrame:
    frame = data.activity()
    rows = frame[frame["week"].isin(list(weeks))]
    return rows[[*_KEYS, *data.FEATURES]].reset_index(drop=True)


def replay(url: str, weeks: Any = TRAFFIC_WEEKS, batch: int = 1000) -> int:
    """Send each week's customers to a model server as the ShopFlow app would: the keys
    (customer, snapshot time, week) and the features, in batches. Returns the rows sent."""
    import requests

    rows = _week_rows(weeks)
    rows["event_timestamp"] = rows["event_timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    sent = 0
    for week, part in rows.groupby("week", sort=True):
        for start in range(0, len(part), batch):
            chunk = part.iloc[start : start + batch]
            body = '{"dataframe_split": ' + chunk.to_json(orient="split", index=False) + "}"
            reply = requests.post(
                f"{url}/invocations",
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=60,
            )
            if reply.status_code != 200:
                raise CourseError(f"the server refused week {week}'s traffic: {reply.text[:200]}")
            sent += len(chunk)
    # The course's server writes its log in the background: have it written before returning.
    requests.post(f"{url}/flush", timeout=60)
    return sent


def _logged(stack: Stack) -> pd.DataFrame:
    import pandas as pd

    log = _inference_log.read(stack.home)
    if not set(_KEYS) <= set(log.columns):
        return pd.DataFrame(columns=[*_KEYS, *data.FEATURES, *_inference_log.COLUMNS])
    log = log.dropna(subset=["customer_id", "week"])
    log = log.sort_values("logged_at", kind="stable")
    log = log.drop_duplicates(["customer_id", "week"], keep="last")
    return log


def traffic(stack: Stack, weeks: Any = TRAFFIC_WEEKS) -> pd.DataFrame:
    """The requests the learner's model server answered in ``weeks``, one row per customer and
    week (the latest answer), with the prediction and the version that gave it. Weeks missing
    from the log (module 6 not done here) are scored by ``@champion`` in-process first."""
    import pandas as pd

    weeks = sorted(int(w) for w in weeks)
    log = _logged(stack)
    missing = sorted(set(weeks) - {int(w) for w in log["week"].unique()})
    if missing:
        version = champion(stack)
        _note(
            f"the inference log has no traffic for weeks {_span(missing)} (module 6's server "
            f"writes it): scoring them with @champion v{version.version} as the course baseline"
        )
        uri = f"models:/{stack.model_name}/{version.version}"
        rows = _week_rows(missing)
        scores = estimator(uri).predict_proba(rows[list(data.NUMERIC_FEATURES)])[:, 1]
        folder = _inference_log.directory(stack.home)
        _inference_log.append(folder, rows, scores, stack.model_name, version.version)
        log = _logged(stack)
    out = log[log["week"].astype(int).isin(weeks)].copy()
    out["customer_id"] = out["customer_id"].astype("int64")
    out["week"] = out["week"].astype("int64")
    out["event_timestamp"] = pd.to_datetime(out["event_timestamp"], utc=True)
    # Parts of the log hold other requests too (raw incident rows with text in number columns):
    # give each feature the type ShopFlow's own data has.
    types = data.activity().dtypes
    for column in data.NUMERIC_FEATURES:
        values = pd.to_numeric(out[column], errors="coerce")
        out[column] = values.astype(types[column]) if values.notna().all() else values
    for column in data.CATEGORICAL_FEATURES:
        out[column] = out[column].astype("string")
    out["prediction"] = pd.to_numeric(out["prediction"], errors="coerce")
    columns = [*_KEYS, *data.FEATURES, "prediction", "model_version", "logged_at"]
    return out[columns].sort_values(["week", "customer_id"]).reset_index(drop=True)


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Join the delayed labels: whether each customer bought in the 7 days after the request."""
    labels = data.activity()[["customer_id", "week", data.TARGET]]
    return frame.merge(labels, on=["customer_id", "week"], how="left", validate="one_to_one")


def _span(weeks: list[int]) -> str:
    return (
        f"{weeks[0]}-{weeks[-1]}" if weeks == list(range(weeks[0], weeks[-1] + 1)) else str(weeks)
    )
