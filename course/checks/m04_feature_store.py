"""Checks for m04 Feature store with Feast.

They read the learner's Feast registry and online store from disk (a fresh FeatureStore, not the
learner's in-memory objects) and recompute point-in-time joins with pandas ``merge_asof`` on the
ShopFlow ground truth, never with Feast's own join.
"""

from __future__ import annotations

import math
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import _paths, data
from .._errors import CheckError
from . import _values
from ._expect import attempted, close, expect, of_type
from ._registry import Question, exercise, question

ENTITY, KEY, VIEW, SERVICE = "customer", "customer_id", "customer_activity", "conversion_v1"
# The conversion model's inputs: what the feature service must serve, no more, no less.
SERVICE_FEATURES: tuple[str, ...] = (
    "sessions_7d",
    "cart_adds_7d",
    "purchases_30d",
    "aov_30d",
    "days_since_last_purchase",
)
DECIMAL_FEATURES = ("aov_30d", "days_since_last_purchase")
TTL = timedelta(days=7)
PREDICTION_LAG = timedelta(hours=9, seconds=1)  # Sunday 23:59:59 snapshot -> Monday 09:00 scoring
LABEL_LAG = timedelta(days=7)  # a label is known one week after the prediction
LAST_TRAIN_WEEK = 16
CUSTOMERS = (7, 42, 512, 1024, 1999)  # the batch the notebook looks up
PROBES = (1, 250, 1000, 1750, 2000)  # other customers: materialize must cover everyone
SKEW_IDS = (5, 50, 500, 1500, 1950)
SKEW_CHANGE = ("aov_30d", 500, 12.5)  # (feature, customer, added amount) in the repo's copy


# --- reading the learner's Feast repo ------------------------------------------------------


def _feature_store(store: Any, name: str = "store") -> Any:
    """A fresh FeatureStore on the learner's repo: what is on disk, not what is in memory."""
    attempted(store, name)
    if not (hasattr(store, "config") and hasattr(store, "get_feature_view")):
        raise CheckError(
            f"`{name}` should be a feast FeatureStore (FeatureStore(repo_path=str(REPO))), "
            f"not a {type(store).__name__}"
        )
    from feast import FeatureStore

    repo = getattr(store, "repo_path", None)
    return FeatureStore(repo_path=str(repo) if repo else None, config=store.config)


def _registry_object(getter: Any, kind: str, object_name: str) -> Any:
    from feast.errors import FeastObjectNotFoundException

    try:
        return getter(object_name)
    except FeastObjectNotFoundException:
        raise CheckError(
            f"the registry has no {kind} {object_name!r}: define it and pass it to "
            "store.apply([...])"
        ) from None


def _view(fs: Any) -> Any:
    return _registry_object(fs.get_feature_view, "feature view", VIEW)


def _file_of(fs: Any, configured: Any) -> Path:
    """A path from the store's config, made absolute the way Feast does (from the repo)."""
    where = Path(str(getattr(configured, "path", configured) or ""))
    if not where.is_absolute() and getattr(fs, "repo_path", None):
        where = Path(fs.repo_path) / where
    return where


def _under_state_dir(fs: Any) -> None:
    where = _file_of(fs, fs.config.registry)
    home = _paths.home().resolve()
    expect(
        where.is_absolute() and where.resolve().is_relative_to(home),
        f"the registry is at {where}, outside the state dir {home}: open the store on "
        "REPO = stack.path('feature_repo') as the notebook does",
    )


def _dtype(field: Any) -> str:
    return str(field.dtype)


# --- ShopFlow ground truth -----------------------------------------------------------------


@lru_cache(maxsize=1)
def _snapshot_table() -> Any:
    snaps = data.activity()
    keep = [KEY, "event_timestamp", *data.NUMERIC_FEATURES]
    return snaps[keep].rename(columns={"event_timestamp": "_as_of"}).sort_values("_as_of")


@lru_cache(maxsize=1)
def _example_rows() -> Any:
    """The notebook's training examples: the calm weeks, scored on Monday 09:00."""
    snaps = data.activity()
    calm = snaps.loc[~snaps["week"].isin(data.HOLIDAY_WEEKS + data.EMBARGO_WEEKS)]
    rows = calm[[KEY, "event_timestamp", data.TARGET, "week"]].reset_index(drop=True)
    return rows.assign(event_timestamp=rows["event_timestamp"] + PREDICTION_LAG)


def _known_at(rows: Any, lag: timedelta = timedelta(0)) -> Any:
    """Each row with the latest snapshot at or before (its time + lag), within the TTL."""
    import pandas as pd

    probe = rows.assign(_as_of=rows["event_timestamp"] + lag).sort_values("_as_of")
    joined = pd.merge_asof(
        probe, _snapshot_table(), on="_as_of", by=KEY, direction="backward", tolerance=TTL
    )
    return joined.drop(columns="_as_of")


@lru_cache(maxsize=1)
def _reference_aucs() -> dict[str, float]:
    """ROC AUC of the notebook's given model on both joins, trained and scored by week."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cols = list(SERVICE_FEATURES)
    found = {}
    for kind, lag in (("point_in_time", timedelta(0)), ("naive", LABEL_LAG)):
        frame = _known_at(_example_rows(), lag)
        early = frame["week"] <= LAST_TRAIN_WEEK
        reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        reference.fit(frame.loc[early, cols], frame.loc[early, data.TARGET])
        for part, mask in (("", ~early), ("_train", early)):
            scores = reference.predict_proba(frame.loc[mask, cols])[:, 1]
            found[kind + part] = float(roc_auc_score(frame.loc[mask, data.TARGET], scores))
    return found


def _latest() -> Any:
    snaps = data.activity()
    newest = snaps.sort_values("event_timestamp").groupby(KEY).tail(1)
    return newest.set_index(KEY)[list(data.NUMERIC_FEATURES)]


def _frame(value: Any, name: str, example: str) -> Any:
    import pandas as pd

    return of_type(value, pd.DataFrame, name, example)


def _columns(frame: Any, name: str, needed: list[str]) -> None:
    missing = [c for c in needed if c not in frame.columns]
    expect(not missing, f"`{name}` lacks column(s) {missing}")


# --- exercises -----------------------------------------------------------------------------


@exercise(
    "m04.ex1",
    "Entity, source and feature view",
    hints=(
        "Three objects and one call: `Entity(...)`, `FileSource(...)`, `FeatureView(...)`, then "
        "`store.apply([entity, source, view])` on the store opened with "
        "`FeatureStore(repo_path=str(REPO))`.",
        "`Entity(name='customer', join_keys=['customer_id'], value_type=ValueType.INT64)`; "
        "`FileSource(name=..., path=str(SOURCE), timestamp_field='event_timestamp')`.",
        "`FeatureView(name='customer_activity', entities=[customer], ttl=timedelta(days=7), "
        "schema=[Field(name=f, dtype=Float64 if f in ('aov_30d', 'days_since_last_purchase') "
        "else Int64) for f in FEATURES], source=...)`.",
    ),
)
def feature_view(store: Any) -> str:
    fs = _feature_store(store)
    _under_state_dir(fs)
    entity = _registry_object(fs.get_entity, "entity", ENTITY)
    expect(
        entity.join_key == KEY,
        f"entity {ENTITY!r} joins on {entity.join_key!r}, not {KEY!r}: join_keys=['{KEY}']",
    )
    view = _view(fs)
    keys = [c.name for c in view.entity_columns]
    expect(keys == [KEY], f"the view is keyed by {keys}, not [{KEY!r}]: entities=[customer]")
    fields = {f.name: _dtype(f) for f in view.features}
    expect(
        data.TARGET not in fields,
        f"the label {data.TARGET!r} is a feature of the view: that is leakage; it comes with "
        "the examples, never from the store",
    )
    missing = [f for f in data.NUMERIC_FEATURES if f not in fields]
    expect(not missing, f"the view lacks feature(s) {missing}: one Field per name in FEATURES")
    for name in data.NUMERIC_FEATURES:
        kind = fields[name]
        expect(
            kind.startswith(("Int", "Float")),
            f"{name} is typed {kind}: use Int64 for counts, Float64 for amounts",
        )
    for name in DECIMAL_FEATURES:
        expect(
            fields[name].startswith("Float"),
            f"{name} is typed {fields[name]} but holds decimals: use Float64",
        )
    ttl = view.ttl or timedelta(0)
    expect(ttl > timedelta(0), "the view has no TTL (0 means forever): ttl=timedelta(days=7)")
    expect(
        timedelta(days=1) <= ttl <= timedelta(days=30),
        f"the TTL is {ttl}: a weekly snapshot needs at least a day and is stale after a month",
    )
    source = view.batch_source
    expect(
        source.timestamp_field == "event_timestamp",
        f"the source is stamped by {source.timestamp_field!r}, not 'event_timestamp'",
    )
    path = Path(getattr(source, "path", "") or "")
    expect(path.is_file(), f"the source file {path} does not exist: point it at SOURCE")
    import pyarrow.parquet as pq

    columns = pq.read_schema(path).names
    expect(
        data.TARGET not in columns,
        f"the source file holds the label {data.TARGET!r}: write features only",
    )
    return (
        f"view {VIEW!r}: {len(fields)} features of {ENTITY!r}, ttl {ttl.total_seconds() / 86400:g} "
        f"days, source {path.name}"
    )


@exercise(
    "m04.ex2",
    "A feature service",
    hints=(
        "A FeatureService lists feature views, or projections of them: "
        "`FeatureService(name=..., features=[...])`.",
        "`customer_activity[MODEL_FEATURES]` is the view narrowed to those features; the whole "
        "view would serve all seven.",
        "`FeatureService(name='conversion_v1', features=[customer_activity[MODEL_FEATURES]])`, "
        "then `store.apply([service])` and assign it to `service`.",
    ),
)
def feature_service(service: Any, store: Any) -> str:
    attempted(service, "service")
    if not hasattr(service, "feature_view_projections"):
        raise CheckError(
            f"`service` should be a feast FeatureService, not a {type(service).__name__}"
        )
    expect(service.name == SERVICE, f"the service is named {service.name!r}, not {SERVICE!r}")
    fs = _feature_store(store)
    applied = _registry_object(fs.get_feature_service, "feature service", SERVICE)
    served = []
    for projection in applied.feature_view_projections:
        expect(
            projection.name == VIEW,
            f"the service reads view {projection.name!r}; serve from {VIEW!r}",
        )
        served += [f.name for f in projection.features]
    extra = sorted(set(served) - set(SERVICE_FEATURES))
    expect(
        not extra,
        f"the service serves {len(served)} features, also {extra}: the model uses only "
        "MODEL_FEATURES; project the view with customer_activity[MODEL_FEATURES]",
    )
    missing = [f for f in SERVICE_FEATURES if f not in served]
    expect(not missing, f"the service lacks {missing} from MODEL_FEATURES")
    expect(len(served) == len(set(served)), "the service lists a feature twice")
    return f"{SERVICE!r} serves exactly the model's {len(served)} features from {VIEW!r}"


def _keyed(frame: Any) -> Any:
    """(customer_id, event_timestamp in UTC) as the index; a clear error if that fails."""
    import pandas as pd

    keyed = frame.copy()
    try:
        keyed["event_timestamp"] = pd.to_datetime(keyed["event_timestamp"], utc=True)
    except (TypeError, ValueError):
        raise CheckError("`event_timestamp` does not hold timestamps") from None
    return keyed.set_index([KEY, "event_timestamp"]).sort_index()


def _key(key: tuple) -> str:
    return f"customer {key[0]} at {key[1]:%Y-%m-%d %H:%M}"


def _mismatch(got: Any, want: Any) -> Any:
    """Per row: True where any service feature differs (NaN on one side only counts)."""
    import numpy as np

    a = got[list(SERVICE_FEATURES)].to_numpy(dtype=float)
    b = want[list(SERVICE_FEATURES)].to_numpy(dtype=float)
    same = np.isclose(a, b, rtol=0, atol=1e-6) | (np.isnan(a) & np.isnan(b))
    return ~same.all(axis=1)


@exercise(
    "m04.ex3",
    "A point-in-time training set",
    hints=(
        "The entity frame is `examples` as it is: customer_id, event_timestamp (the prediction "
        "time) and the label; Feast adds the features as of each row's time.",
        "`store.get_historical_features(entity_df=examples, "
        "features=store.get_feature_service('conversion_v1'))` returns a job; `.to_df()` runs it.",
        "Fewer rows than examples? Feast drops rows whose latest value is older than the TTL: "
        "check the view's ttl (exercise 1).",
    ),
)
def training_set(training_set: Any) -> str:
    frame = _frame(training_set, "training_set", "the DataFrame that .to_df() returns")
    _columns(frame, "training_set", [KEY, "event_timestamp", data.TARGET, *SERVICE_FEATURES])
    want = _keyed(_known_at(_example_rows()))
    got = _keyed(frame)
    expect(got.index.is_unique, "`training_set` has duplicate (customer_id, event_timestamp) rows")
    strangers = got.index.difference(want.index)
    if len(strangers):
        raise CheckError(
            f"{len(strangers)} rows are not examples (customer, prediction time), e.g. "
            f"{_key(strangers[0])}: pass `examples` unchanged as the entity frame"
        )
    lost = want.index.difference(got.index)
    if len(lost):
        raise CheckError(
            f"{len(lost)} of {len(want)} examples are missing, e.g. {_key(lost[0])}: Feast drops "
            "rows with no feature value inside the TTL; check the view's ttl"
        )
    got = got.loc[want.index]
    expect(
        (got[data.TARGET].to_numpy() == want[data.TARGET].to_numpy()).all(),
        f"the {data.TARGET} column does not match the examples' labels",
    )
    empty = int(got[list(SERVICE_FEATURES)].isna().all(axis=1).sum())
    expect(
        empty == 0,
        f"{empty} rows have no feature values: an exact join on the timestamp finds nothing; "
        "use get_historical_features (an as-of join)",
    )
    wrong = _mismatch(got, want)
    if wrong.any():
        future = _keyed(_known_at(_example_rows(), LABEL_LAG)).loc[want.index]
        leaked = int((wrong & ~_mismatch(got, future)).sum())
        if leaked:
            raise CheckError(
                f"{leaked} rows hold feature values from after their prediction time: that is "
                "leakage; join as of each example's own event_timestamp"
            )
        raise CheckError(
            f"{int(wrong.sum())} rows hold feature values that are not the latest snapshot at "
            f"or before their prediction time, e.g. {_key(want.index[wrong.argmax()])}"
        )
    return f"{len(got):,} examples, each with the features known at its prediction time"


def _auc(aucs: dict, key: str) -> float:
    value = aucs.get(key)
    if value is None:
        raise CheckError(f"`aucs` has no {key!r}: aucs = {{'naive': ..., 'point_in_time': ...}}")
    value = _values.number(value, f"aucs[{key!r}]")
    expect(math.isfinite(value) and 0 <= value <= 1, f"aucs[{key!r}] = {value} is not a ROC AUC")
    return value


@exercise(
    "m04.ex4",
    "Measure the leak",
    hints=(
        "The naive set is the same examples joined as of `event_timestamp + 7 days`: "
        "`examples.assign(event_timestamp=examples['event_timestamp'] + timedelta(days=7))`.",
        "For each set: fit `given_model()` on the rows with week <= LAST_TRAIN_WEEK, then "
        "`roc_auc_score` on the rows of later weeks of that same set, with MODEL_FEATURES.",
        "`aucs = {'naive': score(naive_set), 'point_in_time': score(training_set)}` where score "
        "is your fit-then-evaluate function.",
    ),
)
def leak(aucs: Any) -> str:
    attempted(aucs, "aucs")
    expect(
        isinstance(aucs, dict),
        f"`aucs` should be a dict {{'naive': ..., 'point_in_time': ...}}, not a "
        f"{type(aucs).__name__}",
    )
    naive, pit = _auc(aucs, "naive"), _auc(aucs, "point_in_time")
    ref = _reference_aucs()
    if close(naive, ref["point_in_time"], 0.01) and close(pit, ref["naive"], 0.01):
        raise CheckError("the two AUCs are swapped: the naive join is the leaky one")
    for key, value in (("point_in_time", pit), ("naive", naive)):
        if close(value, ref[key + "_train"], 0.005) and not close(value, ref[key], 0.01):
            raise CheckError(
                f"aucs[{key!r}] = {value:.3f} is the score on the training weeks: score the "
                "weeks after LAST_TRAIN_WEEK"
            )
    expect(
        close(pit, ref["point_in_time"], 0.01),
        f"aucs['point_in_time'] = {pit:.3f} does not match the given model trained on the "
        "point-in-time set up to LAST_TRAIN_WEEK and scored on the later weeks",
    )
    expect(
        close(naive, ref["naive"], 0.01),
        f"aucs['naive'] = {naive:.3f} does not match the given model on the naive join "
        "(features as of event_timestamp + 7 days), trained and scored by week",
    )
    expect(naive - pit > 0.1, "the naive AUC should be far above the point-in-time AUC")
    return (
        f"the naive join scores {naive:.3f}, point in time {pit:.3f}: a leak of {naive - pit:+.3f}"
    )


def _online_values(fs: Any, customers: tuple[int, ...]) -> Any:
    refs = [f"{VIEW}:{f}" for f in SERVICE_FEATURES]
    rows = [{KEY: int(c)} for c in customers]
    return fs.get_online_features(features=refs, entity_rows=rows).to_df().set_index(KEY)


def _stale_or_missing(values: Any, latest: Any) -> None:
    """One-line diagnosis when online values are not the latest snapshot."""
    import numpy as np

    empty = values.isna().all(axis=1)
    if empty.all():
        raise CheckError(
            f"the online store has no values for customer {values.index[0]}: call "
            "store.materialize(start, end) over the last week of data "
            "(materialize_incremental starts at now - TTL and loads nothing here)"
        )
    cols = list(SERVICE_FEATURES)
    for cid, row in values.iterrows():
        want = latest.loc[cid, cols].to_numpy(dtype=float)
        if empty[cid] or not np.allclose(row[cols].to_numpy(dtype=float), want, atol=1e-6):
            raise CheckError(
                f"the online values of customer {cid} are not its latest snapshot: materialize "
                "up to one second after the newest event_timestamp"
            )


@exercise(
    "m04.ex5",
    "Materialize and look up a batch",
    hints=(
        "`store.materialize(start_date=..., end_date=...)` copies the latest value per customer "
        "in that window into the online store.",
        "`end = activity['event_timestamp'].max() + timedelta(seconds=1)` and "
        "`start = end - timedelta(days=7)`: every customer has a snapshot in that last week.",
        "`store.get_online_features(features=store.get_feature_service('conversion_v1'), "
        "entity_rows=[{'customer_id': c} for c in CUSTOMERS]).to_df()`.",
    ),
)
def online(online: Any, store: Any) -> str:
    frame = _frame(online, "online", "the DataFrame that get_online_features(...).to_df() returns")
    _columns(frame, "online", [KEY, *SERVICE_FEATURES])
    fs = _feature_store(store)
    latest = _latest()
    _stale_or_missing(_online_values(fs, CUSTOMERS + PROBES), latest)
    missing = [c for c in CUSTOMERS if c not in set(frame[KEY].tolist())]
    expect(not missing, f"`online` has no row for customer(s) {missing}: look up all of CUSTOMERS")
    expect(frame[KEY].is_unique, "`online` has several rows for one customer: one row per customer")
    mine = frame.set_index(KEY).loc[list(CUSTOMERS)]
    _stale_or_missing(mine, latest)
    return f"the online store serves every customer's latest snapshot; {len(CUSTOMERS)} looked up"


def _report(skew: Any, fs: Any, where: str) -> Any:
    """Call the learner's function and turn its answer into {feature: max abs difference}."""
    import pandas as pd

    at = data.activity()["event_timestamp"].max() + PREDICTION_LAG
    got = skew(fs, list(SKEW_IDS), at)
    if isinstance(got, pd.Series):
        raise CheckError(
            "skew returned a Series: return a DataFrame indexed by feature with a column "
            "max_abs_diff"
        )
    if not isinstance(got, pd.DataFrame):
        raise CheckError(f"skew returned a {type(got).__name__}: return a DataFrame")
    if "max_abs_diff" not in got.columns:
        raise CheckError(
            f"skew's DataFrame has columns {list(got.columns)}: name the column max_abs_diff"
        )
    if "feature" in got.columns:
        got = got.set_index("feature")
    found = {str(k): v for k, v in got["max_abs_diff"].items()}
    missing = [f for f in SERVICE_FEATURES if f not in found]
    expect(
        not missing,
        f"skew's result has no row for {missing} ({where}): index it by the service's features",
    )
    values = {f: float(found[f]) for f in SERVICE_FEATURES}
    unknown = [f for f, v in values.items() if not math.isfinite(v)]
    expect(
        not unknown,
        f"skew reports no number for {unknown} ({where}): are offline and online values both "
        "there for these customers at `at`?",
    )
    return values


def _altered_copy(fs: Any, folder: Path) -> Any:
    """A FeatureStore on copies of the learner's registry and online store, one value changed."""
    import shutil

    from feast import FeatureStore, RepoConfig

    registry, online_db = _file_of(fs, fs.config.registry), _file_of(fs, fs.config.online_store)
    shutil.copyfile(registry, folder / "registry.db")
    shutil.copyfile(online_db, folder / "online_store.db")
    copy = FeatureStore(
        config=RepoConfig(
            project=fs.config.project,
            provider="local",
            registry=str(folder / "registry.db"),
            online_store={"type": "sqlite", "path": str(folder / "online_store.db")},
            offline_store={"type": "file"},
            entity_key_serialization_version=fs.config.entity_key_serialization_version,
            repo_path=str(folder),
        )
    )
    feature, customer, amount = SKEW_CHANGE
    names = [f.name for f in _view(copy).features]
    refs = [f"{VIEW}:{n}" for n in names]
    row = copy.get_online_features(features=refs, entity_rows=[{KEY: customer}]).to_df()
    row[feature] = row[feature] + amount
    row["event_timestamp"] = data.activity()["event_timestamp"].max()
    copy.write_to_online_store(VIEW, row[[KEY, "event_timestamp", *names]])
    return copy


@exercise(
    "m04.ex6",
    "A skew check",
    hints=(
        "Ask both stores for the same customers and time: `get_historical_features` with an "
        "entity frame (customer_id, event_timestamp=at), and `get_online_features` with "
        "entity_rows; use the `store` argument for both.",
        "Merge the two frames on customer_id (suffixes=('_offline', '_online')); per feature, "
        "`(offline - online).abs().max()`.",
        "Return `pd.DataFrame({'max_abs_diff': pd.Series(gaps)})` where gaps maps each feature "
        "name of the service to its largest absolute difference.",
    ),
)
def skew(skew: Any, store: Any) -> str:
    attempted(skew, "skew")
    expect(callable(skew), f"`skew` should be a function, not a {type(skew).__name__}")
    fs = _feature_store(store)
    held = _online_values(fs, SKEW_IDS)
    expect(
        not held.isna().all(axis=1).any(),
        "your online store is empty for some customers: materialize first (exercise 5)",
    )
    own = _report(skew, fs, "on your store")
    noisy = {f: v for f, v in own.items() if abs(v) > 1e-6}
    expect(
        not noisy,
        f"skew reports differences on your own store, where offline and online agree: {noisy}",
    )
    import tempfile

    feature, customer, amount = SKEW_CHANGE
    with tempfile.TemporaryDirectory(prefix="m04-skew-") as tmp:
        copy = _altered_copy(fs, Path(tmp))
        flagged = _report(skew, copy, "on the altered copy")
    change = f"{feature} of customer {customer} by {amount:+}"
    value = flagged[feature]
    expect(
        abs(value) > 1e-6,
        f"skew found nothing after the check changed one online value ({change}) in a copy of "
        "your repo: compare the stores of the `store` argument, not a global one",
    )
    expect(value > 0, f"skew reports {value} for {feature}: report the absolute difference")
    expect(
        not close(value, amount / len(SKEW_IDS), 1e-6),
        f"skew reports {value} for {feature}, the mean over customers: report the maximum",
    )
    expect(
        close(value, amount, 1e-6),
        f"skew reports {value} for {feature} after the check changed {change}",
    )
    others = {f: v for f, v in flagged.items() if f != feature and abs(v) > 1e-6}
    expect(not others, f"skew also flags {others}, which the check did not change")
    return f"no skew on your store; the changed {feature} is flagged by {value:g} on a copy"


question(
    Question(
        "m04.q1",
        "choice",
        "ce5990d03fb60d1eab72",
        "Why the naive join scores so well",
        ("a", "b", "c", "d"),
    )
)
question(
    Question(
        "m04.q2",
        "number",
        "324b10e1167863f2117e",
        "Customers the online store can answer for",
        tolerance=0.5,
        hint="materialize writes the latest value of every customer in the window, not only "
        "the ones you looked up",
    )
)
question(
    Question(
        "m04.q3",
        "choice",
        "ac4339a4af5b88503b46",
        "materialize_incremental on a fresh repo",
        ("a", "b", "c"),
    )
)
question(
    Question("m04.q4", "choice", "7194ade9347af5529acb", "TTL offline and online", ("a", "b", "c"))
)
