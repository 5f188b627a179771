"""m04 checks, called as the feature-store notebook calls them.

Checks read real Feast repos (registry file, sqlite online store, parquet source). Building one
costs about a second, so a few repos are built once per test module (a correct one, one
materialized over an old window, one only incrementally materialized) and shared; exercise 1,
which also checks that the repo sits in the state dir, builds its own in each test's fresh one.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from _assert import assert_one_tick, assert_wrong
from feast import Entity, FeatureService, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import course
from course import data

FEATURES = list(data.NUMERIC_FEATURES)
MODEL_FEATURES = [
    "sessions_7d",
    "cart_adds_7d",
    "purchases_30d",
    "aov_30d",
    "days_since_last_purchase",
]
DECIMALS = {"aov_30d", "days_since_last_purchase"}
CUSTOMERS = [7, 42, 512, 1024, 1999]
LAST_TRAIN_WEEK = 16
AT = pd.Timestamp("2025-12-01 09:00", tz="UTC")


# --- building repos the way the notebook does ----------------------------------------------


def write_repo(repo: Path, label: bool = False) -> Path:
    """feature_store.yaml and the source parquet (with the label if asked); returns the source."""
    (repo / "data").mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(
        "project: shopflow\nprovider: local\n"
        f"registry: {{registry_type: file, path: {repo / 'data' / 'registry.db'}}}\n"
        "offline_store: {type: file}\n"
        f"online_store: {{type: sqlite, path: {repo / 'data' / 'online_store.db'}}}\n"
        "entity_key_serialization_version: 3\n"
    )
    source = repo / "data" / "customer_activity.parquet"
    columns = ["customer_id", "event_timestamp", *FEATURES, *([data.TARGET] if label else [])]
    data.activity()[columns].to_parquet(source, index=False)
    return source


def build_store(
    repo: Path,
    *,
    apply: bool = True,
    ttl: timedelta | None = timedelta(days=7),
    decimals: set[str] = DECIMALS,
    label: bool = False,
    join_key: str = "customer_id",
) -> tuple[FeatureStore, FeatureView]:
    """The notebook's exercise 1; the keywords reproduce a learner's slips."""
    source_path = write_repo(repo, label=label)
    customer = Entity(name="customer", join_keys=[join_key], value_type=ValueType.INT64)
    source = FileSource(
        name="customer_activity_source", path=str(source_path), timestamp_field="event_timestamp"
    )
    names = FEATURES + ([data.TARGET] if label else [])
    view = FeatureView(
        name="customer_activity",
        entities=[customer],
        ttl=ttl,
        schema=[Field(name=f, dtype=Float64 if f in decimals else Int64) for f in names],
        source=source,
    )
    store = FeatureStore(repo_path=str(repo))
    if apply:
        store.apply([customer, source, view])
    return store, view


def add_service(
    store: FeatureStore, view: FeatureView, features=MODEL_FEATURES, name="conversion_v1"
):
    service = FeatureService(name=name, features=[view[list(features)]])
    store.apply([service])
    return service


def materialize(store: FeatureStore, how: str = "latest") -> None:
    """Exercise 5's materialize; "old" loads an early window, "incremental" only the first
    materialize_incremental (which starts at now - TTL and finds nothing)."""
    end = data.activity()["event_timestamp"].max() + timedelta(seconds=1)
    if how == "latest":
        store.materialize(start_date=end - timedelta(days=7), end_date=end)
    elif how == "old":
        early = pd.Timestamp(data.START, tz="UTC") + timedelta(days=21)
        store.materialize(start_date=early - timedelta(days=7), end_date=early)
    else:
        store.materialize_incremental(end_date=end)


def examples() -> pd.DataFrame:
    """The notebook's entity frame: calm weeks, scored Monday 09:00."""
    activity = data.activity()
    calm = activity[~activity["week"].isin(data.HOLIDAY_WEEKS + data.EMBARGO_WEEKS)]
    return pd.DataFrame(
        {
            "customer_id": calm["customer_id"],
            "event_timestamp": calm["event_timestamp"] + pd.Timedelta(hours=9, seconds=1),
            data.TARGET: calm[data.TARGET],
            "week": calm["week"],
        }
    ).reset_index(drop=True)


def historical(store: FeatureStore, entity_df: pd.DataFrame) -> pd.DataFrame:
    service = store.get_feature_service("conversion_v1")
    return store.get_historical_features(entity_df=entity_df, features=service).to_df()


def lookup(store: FeatureStore, customers=CUSTOMERS) -> pd.DataFrame:
    service = store.get_feature_service("conversion_v1")
    rows = [{"customer_id": c} for c in customers]
    return store.get_online_features(features=service, entity_rows=rows).to_df()


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> dict:
    """A correct repo through exercise 5, with the training sets of exercises 3 and 4."""
    store, view = build_store(tmp_path_factory.mktemp("shop") / "feature_repo")
    service = add_service(store, view)
    materialize(store)
    entity_df = examples()
    later = entity_df.assign(event_timestamp=entity_df["event_timestamp"] + timedelta(days=7))
    return {
        "store": store,
        "view": view,
        "service": service,
        "training_set": historical(store, entity_df),
        "naive_set": historical(store, later),
    }


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict:
    """Repos with the service but a wrong materialize: an old window, or incremental only."""
    found = {}
    for how in ("old", "incremental"):
        store, view = build_store(tmp_path_factory.mktemp(how) / "feature_repo")
        add_service(store, view)
        materialize(store, how)
        found[how] = store
    return found


def in_state_dir(course_home: Path) -> Path:
    return course_home / "work" / "m04" / "feature_repo"


# --- m04.ex1 entity, source and feature view -------------------------------------------------


def test_ex1_solution_passes_with_one_line(course_home, capsys):
    store, _ = build_store(in_state_dir(course_home))
    capsys.readouterr()
    course.check("m04.ex1", store=store)
    assert_one_tick(capsys, "m04.ex1 correct: view 'customer_activity': 7 features")


def test_ex1_wrong_views_fail(course_home):
    slips = [
        ({"decimals": set()}, "aov_30d is typed Int64 but holds decimals: use Float64"),
        ({"label": True}, "the label 'converted_next_7d' is a feature of the view"),
        ({"ttl": None}, r"the view has no TTL \(0 means forever\)"),
        ({"ttl": timedelta(hours=1)}, "the TTL is 1:00:00: a weekly snapshot needs at least a day"),
        ({"ttl": timedelta(days=365)}, "the TTL is 365 days.* stale after a month"),
        ({"apply": False}, "the registry has no entity 'customer': define it and pass it"),
        ({"join_key": "id"}, "entity 'customer' joins on 'id', not 'customer_id'"),
    ]
    for i, (slip, match) in enumerate(slips):
        store, _ = build_store(course_home / "work" / "m04" / f"repo{i}", **slip)
        assert_wrong("m04.ex1", match, store=store)


def test_ex1_label_in_the_source_file_fails(course_home):
    repo = in_state_dir(course_home)
    store, _ = build_store(repo)
    write_repo(repo, label=True)  # the same view over a file that also holds the label
    assert_wrong("m04.ex1", "the source file holds the label", store=store)


def test_ex1_repo_outside_the_state_dir_or_a_path_fails(course_home, tmp_path):
    store, _ = build_store(tmp_path / "elsewhere")
    assert_wrong("m04.ex1", "outside the state dir .*stack.path", store=store)
    assert_wrong("m04.ex1", "`store` should be a feast FeatureStore .*not a str", store="repo")


# --- m04.ex2 feature service -----------------------------------------------------------------


def test_ex2_solution_passes_with_one_line(course_home, capsys, shop):
    course.check("m04.ex2", service=shop["service"], store=shop["store"])
    assert_one_tick(capsys, "m04.ex2 correct: 'conversion_v1' serves exactly the model's 5")


def test_ex2_wrong_services_fail(course_home, tmp_path):
    store, view = build_store(tmp_path / "feature_repo")
    unapplied = FeatureService(name="conversion_v1", features=[view[MODEL_FEATURES]])
    assert_wrong(
        "m04.ex2",
        "the registry has no feature service 'conversion_v1'",
        service=unapplied,
        store=store,
    )
    whole = FeatureService(name="conversion_v1", features=[view])
    store.apply([whole])
    assert_wrong("m04.ex2", "serves 7 features, also .*customer_activity\\[MODEL_FEATURES\\]",
                 service=whole, store=store)  # fmt: skip
    short = add_service(store, view, MODEL_FEATURES[:-1])
    assert_wrong("m04.ex2", r"lacks \['days_since_last_purchase'\]", service=short, store=store)
    named = add_service(store, view, name="conversion")
    assert_wrong("m04.ex2", "named 'conversion', not 'conversion_v1'", service=named, store=store)
    assert_wrong(
        "m04.ex2", "should be a feast FeatureService, not a FeatureView", service=view, store=store
    )


# --- m04.ex3 point-in-time training set ------------------------------------------------------


def test_ex3_solution_passes_with_one_line(course_home, capsys, shop):
    course.check("m04.ex3", training_set=shop["training_set"])
    assert_one_tick(capsys, "m04.ex3 correct: 34,797 examples")


def test_ex3_wrong_training_sets_fail(course_home, shop):
    right, naive = shop["training_set"], shop["naive_set"]
    snapshots = data.activity()[["customer_id", "event_timestamp", *MODEL_FEATURES]]
    exact = examples().merge(snapshots, on=["customer_id", "event_timestamp"], how="left")
    leaked = naive.assign(event_timestamp=naive["event_timestamp"] - timedelta(days=7))
    at_snapshot = examples().assign(
        event_timestamp=lambda f: f["event_timestamp"] - pd.Timedelta(hours=9, seconds=1)
    )
    slips = [
        (exact, "34797 rows have no feature values: an exact join on the timestamp"),
        (leaked, r"\d+ rows hold feature values from after their prediction time"),
        (
            right.iloc[10:],
            "10 of 34797 examples are missing, e.g. customer .* check the view's ttl",
        ),
        (historical(shop["store"], at_snapshot), "34797 rows are not examples"),
        (right.drop(columns=data.TARGET), r"lacks column\(s\) \['converted_next_7d'\]"),
        (right.assign(**{data.TARGET: 0}), "does not match the examples' labels"),
        (right.to_dict(), "`training_set` should be the DataFrame that .to_df.. returns"),
    ]
    for training_set, match in slips:
        assert_wrong("m04.ex3", match, training_set=training_set)


def test_ex3_rows_dropped_by_a_short_ttl_fail(course_home, tmp_path):
    """Feast's pitfall: rows with no value inside the TTL vanish from the result."""
    store, view = build_store(tmp_path / "feature_repo", ttl=timedelta(hours=1))
    add_service(store, view)
    short = historical(store, examples())
    assert_wrong("m04.ex3", "examples are missing", training_set=short)


# --- m04.ex4 the leak ------------------------------------------------------------------------


def score(frame: pd.DataFrame, on: str = "valid") -> float:
    """The notebook's solution to m04.ex4 for one set; on="train" scores the training weeks."""
    fit_rows = frame[frame["week"] <= LAST_TRAIN_WEEK]
    rows = frame[frame["week"] > LAST_TRAIN_WEEK] if on == "valid" else fit_rows
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(fit_rows[MODEL_FEATURES], fit_rows[data.TARGET])
    return roc_auc_score(rows[data.TARGET], model.predict_proba(rows[MODEL_FEATURES])[:, 1])


@pytest.fixture(scope="module")
def aucs(shop) -> dict:
    return {
        "naive": score(shop["naive_set"]),
        "point_in_time": score(shop["training_set"]),
        "pit_train": score(shop["training_set"], on="train"),
    }


def test_ex4_solution_passes_with_one_line(course_home, capsys, aucs):
    course.check("m04.ex4", aucs={"naive": aucs["naive"], "point_in_time": aucs["point_in_time"]})
    assert_one_tick(capsys, "m04.ex4 correct: the naive join scores 0.99")
    assert aucs["naive"] - aucs["point_in_time"] > 0.2  # the leak this module is about


def test_ex4_wrong_answers_fail(course_home, aucs):
    naive, pit = aucs["naive"], aucs["point_in_time"]
    slips = [
        ({"naive": pit, "point_in_time": naive}, "the two AUCs are swapped"),
        ({"naive": naive, "point_in_time": aucs["pit_train"]}, "score on the training weeks"),
        ({"naive": pit, "point_in_time": pit}, r"aucs\['naive'\] = 0\.\d+ does not match"),
        ({"naive": naive, "point_in_time": 0.7}, r"aucs\['point_in_time'\] = 0\.700 does not"),
        ({"naive": naive}, "`aucs` has no 'point_in_time'"),
        ({"naive": "high", "point_in_time": pit}, r"aucs\['naive'\] should be a number, not a str"),
        ({"naive": 1.5, "point_in_time": pit}, r"aucs\['naive'\] = 1.5 is not a ROC AUC"),
    ]
    for answer, match in slips:
        assert_wrong("m04.ex4", match, aucs=answer)
    assert_wrong("m04.ex4", "`aucs` should be a dict", aucs=[naive, pit])


# --- m04.ex5 materialize and online lookups ----------------------------------------------------


def test_ex5_solution_passes_with_one_line(course_home, capsys, shop):
    course.check("m04.ex5", online=lookup(shop["store"]), store=shop["store"])
    assert_one_tick(capsys, "m04.ex5 correct: the online store serves every customer's latest")


def test_ex5_wrong_materialize_or_lookups_fail(course_home, shop, stores):
    old, empty = stores["old"], stores["incremental"]
    assert_wrong("m04.ex5", "the online store has no values for customer 7: call store.materialize",
                 online=lookup(empty), store=empty)  # fmt: skip
    assert_wrong("m04.ex5", r"the online values of customer \d+ are not its latest snapshot",
                 online=lookup(old), store=old)  # fmt: skip
    store = shop["store"]
    assert_wrong("m04.ex5", r"`online` has no row for customer\(s\) \[1999\]",
                 online=lookup(store, CUSTOMERS[:-1]), store=store)  # fmt: skip
    response = store.get_online_features(
        features=store.get_feature_service("conversion_v1"),
        entity_rows=[{"customer_id": c} for c in CUSTOMERS],
    )
    assert_wrong("m04.ex5", "should be the DataFrame .* not a OnlineResponse",
                 online=response, store=store)  # fmt: skip
    assert_wrong(
        "m04.ex5", r"lacks column\(s\) \['aov_30d'\]",
        online=lookup(store).drop(columns="aov_30d"), store=store,
    )  # fmt: skip


# --- m04.ex6 skew check ------------------------------------------------------------------------


def skew_solution(store, customer_ids, at, *, gap=lambda d: d.abs().max(), kind="frame"):
    """The notebook's solution to m04.ex6; the keywords reproduce a learner's slips."""
    service = store.get_feature_service("conversion_v1")
    names = [f.name for p in service.feature_view_projections for f in p.features]
    keys = pd.DataFrame({"customer_id": list(customer_ids), "event_timestamp": at})
    offline = store.get_historical_features(entity_df=keys, features=service).to_df()
    served = store.get_online_features(
        features=service, entity_rows=[{"customer_id": c} for c in customer_ids]
    ).to_df()
    both = offline.merge(served, on="customer_id", suffixes=("_offline", "_online"))
    gaps = pd.Series({n: gap(both[f"{n}_online"] - both[f"{n}_offline"]) for n in names})
    if kind == "series":
        return gaps
    if kind == "column":
        return pd.DataFrame({"diff": gaps})
    return pd.DataFrame({"max_abs_diff": gaps})


def test_ex6_solution_passes_with_one_line(course_home, capsys, shop):
    course.check("m04.ex6", skew=skew_solution, store=shop["store"])
    assert_one_tick(capsys, "m04.ex6 correct: no skew on your store; the changed aov_30d")


def test_ex6_leaves_the_learners_store_alone(course_home, shop):
    store = shop["store"]
    before = lookup(store, [500])
    course.check("m04.ex6", skew=skew_solution, store=store)
    assert lookup(FeatureStore(repo_path=str(store.repo_path)), [500]).equals(before)


def test_ex6_wrong_functions_fail(course_home, shop):
    store = shop["store"]

    def global_store(_store, customer_ids, at):
        return skew_solution(store, customer_ids, at)

    def offline_minus_online(s, ids, at):
        return skew_solution(s, ids, at, gap=lambda d: (-d).max())

    slips = [
        (global_store, "skew found nothing after the check changed one online value"),
        (offline_minus_online, "skew found nothing after"),
        (lambda s, i, a: skew_solution(s, i, a, gap=lambda d: d.abs().mean()), "the mean over"),
        (lambda s, i, a: skew_solution(s, i, a, gap=lambda d: d.min()), "found nothing"),
        (lambda s, i, a: skew_solution(s, i, a, kind="series"), "skew returned a Series"),
        (lambda s, i, a: skew_solution(s, i, a, kind="column"), "name the column max_abs_diff"),
        (lambda s, i, a: skew_solution(s, i, a + timedelta(days=30)), "skew reports no number"),
        ("skew", "`skew` should be a function, not a str"),
    ]
    for skew, match in slips:
        assert_wrong("m04.ex6", match, skew=skew, store=store)


def test_ex6_needs_a_materialized_store(course_home, stores):
    assert_wrong("m04.ex6", "online store is empty .* materialize first",
                 skew=skew_solution, store=stores["incremental"])  # fmt: skip


def test_ex6_stub_is_not_attempted(course_home, shop):
    def stub(store, customer_ids, at):
        raise NotImplementedError()

    with pytest.raises(course.NotAttempted, match="still raises NotImplementedError"):
        course.check("m04.ex6", skew=stub, store=shop["store"])


# --- stubs, hints, progress ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exercise_id", "answers", "argument"),
    [
        ("m04.ex1", {"store": None}, "store"),
        ("m04.ex2", {"service": None, "store": None}, "service"),
        ("m04.ex3", {"training_set": None}, "training_set"),
        ("m04.ex4", {"aucs": None}, "aucs"),
        ("m04.ex5", {"online": None, "store": None}, "online"),
        ("m04.ex6", {"skew": None, "store": None}, "skew"),
    ],
)
def test_stub_is_not_attempted(course_home, exercise_id, answers, argument):
    with pytest.raises(course.NotAttempted, match=f"`{argument}` is still None"):
        course.check(exercise_id, **answers)


@pytest.mark.parametrize("exercise_id", [f"m04.ex{i}" for i in range(1, 7)])
def test_every_exercise_has_three_hints(course_home, capsys, exercise_id):
    course.hint(exercise_id)
    out = capsys.readouterr().out
    assert out.startswith(f"Hint 1/3 for {exercise_id}: ") and out.count("\n") == 1
    course.hint(exercise_id, level=3)
    assert "more:" not in capsys.readouterr().out


def test_progress_lists_the_module(course_home, shop):
    course.check("m04.ex2", service=shop["service"], store=shop["store"])
    table = course.progress("m04")
    items = [f"m04.ex{i}" for i in range(1, 7)] + [f"m04.q{i}" for i in range(1, 5)]
    assert list(table.index) == items
    assert table.loc["m04.ex2", "status"] == "✓ correct"


# --- quiz --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "answer"),
    [("m04.q1", "d"), ("m04.q2", 2000), ("m04.q2", "2000"), ("m04.q3", "c"), ("m04.q4", " B ")],
)
def test_quiz_right_answer_passes(course_home, capsys, question, answer):
    course.quiz.check(question, answer)
    assert capsys.readouterr().out == f"✓ {question} correct\n"


@pytest.mark.parametrize(
    ("question", "answer"),
    [("m04.q1", "b"), ("m04.q2", 5), ("m04.q2", 2001), ("m04.q3", "b"), ("m04.q4", "c")],
)
def test_quiz_wrong_answer_fails(course_home, question, answer):
    with pytest.raises(course.CheckError, match="not quite") as excinfo:
        course.quiz.check(question, answer)
    assert not isinstance(excinfo.value, course.NotAttempted)


@pytest.mark.parametrize("question", ["m04.q1", "m04.q2", "m04.q3", "m04.q4"])
def test_quiz_none_is_not_attempted(course_home, question):
    with pytest.raises(course.NotAttempted, match="no answer yet"):
        course.quiz.check(question, None)
