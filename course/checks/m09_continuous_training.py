"""Checks for m09 Continuous training: closing the loop.

Steps are graded by calling the learner's function on inputs the check chooses (windows of the
ShopFlow timeline, models it fits itself, a scratch registered model deleted afterwards) and
recomputing the result another way (as-of joins in pandas, drift scores with SciPy, log loss by
hand). The pipeline itself is graded from the state it leaves: the audit trail of weekly MLflow
runs and the registry, then a replay that must change nothing.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from .. import data
from .._errors import CheckError, NotAttempted
from . import _drift, _mlflow, _values
from ._expect import a_function, close, expect
from ._registry import Question, exercise, question

NUMERIC = list(data.NUMERIC_FEATURES)
CATEGORICAL = list(data.CATEGORICAL_FEATURES)
FEATURES = NUMERIC + CATEGORICAL
TIMELINE = tuple(range(18, 26))
MARGIN = 0.005
RUN_TAGS = ("decision", "reason", "data_fingerprint", "champion_version", "challenger_version")
LINEAGE = ("week", "data_fingerprint", "source_run", "challenger_log_loss", "champion_log_loss")


def _dict(value: Any, name: str, keys: tuple[str, ...]) -> dict[str, Any]:
    expect(isinstance(value, dict), f"{name} should return a dict, not {_values.show(value)}")
    missing = [k for k in keys if k not in value]
    expect(not missing, f"{name}'s dict has no key(s) {', '.join(missing)}")
    return value


# --- exercise 1: features from the store ------------------------------------------------------


def _requests() -> tuple[Any, Any]:
    """Requests at random times within the TTL after a snapshot, shuffled, plus three before any
    snapshot; and the feature values an as-of join must give them (NaN for the early ones)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(909)
    picks = _drift.weeks(3, 3).sample(60, random_state=1)
    picks = pd.concat(
        [
            picks,
            _drift.weeks(19).sample(60, random_state=2),
            _drift.weeks(23).sample(60, random_state=3),
        ]
    )
    offsets = pd.to_timedelta(rng.integers(0, 6 * 24 * 3600, len(picks)), unit="s")
    requests = pd.DataFrame(
        {
            "customer_id": picks["customer_id"].to_numpy(),
            "event_timestamp": (picks["event_timestamp"] + offsets).to_numpy(),
            "week": picks["week"].to_numpy(),
            "label": picks[data.TARGET].to_numpy(),
        }
    )
    expected = picks[FEATURES].reset_index(drop=True)
    early = _drift.weeks(0).head(3)
    before = pd.DataFrame(
        {
            "customer_id": early["customer_id"].to_numpy(),
            "event_timestamp": (early["event_timestamp"] - pd.Timedelta(days=3)).to_numpy(),
            "week": -1,
            "label": 0,
        }
    )
    requests = pd.concat([requests, before], ignore_index=True)
    expected = pd.concat(
        [expected, pd.DataFrame(index=range(3), columns=FEATURES)], ignore_index=True
    )
    order = rng.permutation(len(requests))
    requests["event_timestamp"] = pd.to_datetime(requests["event_timestamp"], utc=True)
    return requests.iloc[order].reset_index(drop=True), expected.iloc[order].reset_index(drop=True)


@exercise(
    "m09.ex1",
    "The features step",
    hints=(
        "Feast returns rows in its own order and drops requests with no snapshot inside the TTL: "
        "give each request a number before you ask, and put the answer back by that number.",
        "`keyed = requests.reset_index(drop=True).assign(request_id=...)`, then "
        "`store.get_historical_features(entity_df=keyed, features=FEATURE_REFS).to_df()`.",
        "Left-merge Feast's `request_id` and `FEATURES` columns onto `keyed` (`how='left'`), sort "
        "by `request_id` and drop it.",
    ),
)
def features(features_step: Any) -> str:
    import numpy as np
    import pandas as pd

    fn = a_function(features_step, "features_step")
    requests, expected = _requests()
    got = fn(requests.copy())
    expect(
        isinstance(got, pd.DataFrame),
        f"features_step should return a DataFrame, not {_values.show(got)}",
    )
    missing = [
        c for c in ["customer_id", "event_timestamp", "week", "label", *FEATURES] if c not in got
    ]
    expect(
        not missing,
        f"the result lacks column(s) {', '.join(missing)}: keep the request's columns, add FEATURES",
    )
    expect(
        len(got) == len(requests),
        f"{len(requests)} requests gave {len(got)} rows: Feast drops requests with no snapshot in "
        "the TTL window; merge its answer back onto the requests (how='left')",
    )
    got = got.reset_index(drop=True)
    same_order = (got["customer_id"].to_numpy() == requests["customer_id"].to_numpy()).all() and (
        pd.to_datetime(got["event_timestamp"], utc=True) == requests["event_timestamp"]
    ).all()
    expect(same_order, "the rows are not in the order of the requests: sort Feast's answer back")
    expect(
        (got["label"].to_numpy() == requests["label"].to_numpy()).all(),
        "the requests' extra columns (here `label`) did not ride along unchanged",
    )
    for col in NUMERIC:
        ok = np.allclose(
            pd.to_numeric(got[col], errors="coerce").to_numpy(float),
            expected[col].to_numpy(float),
            equal_nan=True,
        )
        expect(ok, f"{col} differs from the snapshot as of the request's time (or is not NaN "
               "for a request before any snapshot)")  # fmt: skip
    known = expected["country"].notna().to_numpy()
    for col in CATEGORICAL:
        expect(
            (
                got[col].astype(str).to_numpy()[known]
                == expected[col].astype(str).to_numpy()[known]
            ).all(),
            f"{col} differs from the snapshot as of the request's time",
        )
    return f"{len(requests)} shuffled requests, {int((~known).sum())} before any snapshot: all as of their time, in order"


# --- exercise 2: the drift trigger -----------------------------------------------------------


@exercise(
    "m09.ex2",
    "The drift step",
    hints=(
        "One DataDriftPreset report on the two frames; read the share from the DriftedColumnsCount "
        "entry and the columns from the ValueDrift entries.",
        "`snap = Report([DataDriftPreset()]).run(current_data=as_dataset(current), "
        "reference_data=as_dataset(reference))`, then walk `snap.dict()['metrics']`; "
        "`m['config']['type'].rsplit(':', 1)[-1]` names the metric.",
        "share = the DriftedColumnsCount entry's `value['share']`; a column drifted when its "
        "ValueDrift `value >= config['threshold']`; drifted = `share >= DRIFT_SHARE`.",
    ),
)
def drift(drift_step: Any) -> str:
    fn = a_function(drift_step, "drift_step")
    cases = (((16, 17), 20), ((16, 17), 23), ((22, 23), 24))
    verdicts = []
    for ref_weeks, week in cases:
        ref, cur = _drift.weeks(*ref_weeks), _drift.weeks(week)
        where = f"reference weeks {ref_weeks[0]}-{ref_weeks[1]} vs week {week}"
        got = _dict(fn(ref.copy(), cur.copy()), "drift_step", ("share", "drifted", "features"))
        share = _values.as_float(
            got["share"], f"'share' should be a number, not {_values.show(got['share'])}"
        )
        expect(
            _values.is_bool(got["drifted"]),
            f"'drifted' should be True or False, not {got['drifted']!r}",
        )
        names = got["features"]
        expect(
            isinstance(names, (list, tuple, set)) and all(isinstance(n, str) for n in names),
            f"'features' should be a list of column names, not {_values.show(names)}",
        )
        flags = _drift.flags(ref, cur)
        missed = sorted(flags.sure - set(names))
        extra = sorted(set(names) - flags.sure - flags.border)
        expect(
            not missed, f"on {where} 'features' misses {missed}, whose drift reaches its threshold"
        )
        expect(
            not extra, f"on {where} 'features' has {extra}, whose drift stays below its threshold"
        )
        expect(
            flags.allows_share(share),
            f"on {where} 'share' is {share:.2f}, not the drifted fraction of the {len(FEATURES)} columns",
        )
        expect(
            bool(got["drifted"]) == (share >= _drift.DRIFT_SHARE),
            f"on {where} 'drifted' is {got['drifted']} with share {share:.2f}: compare with DRIFT_SHARE",
        )
        verdicts.append(bool(got["drifted"]))
    expect(verdicts[1] and not verdicts[0], "a holiday week should trigger and a calm week not")
    return "calm weeks pass, the holiday triggers, and the shares match SciPy's drift scores"


# --- exercise 3: the gate ------------------------------------------------------------------


def _fit(frame: Any) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(frame[NUMERIC], frame[data.TARGET])


@lru_cache(maxsize=1)
def _gate_models() -> tuple[Any, Any]:
    return _fit(_drift.weeks(14, 17)), _fit(_drift.weeks(21, 22))


class _Overconfident:
    """A challenger whose 'probabilities' leave [0, 1]: a model test must catch it."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict_proba(self, X: Any) -> Any:
        import numpy as np

        p = self.model.predict_proba(X)[:, 1] * 3
        return np.column_stack([1 - p, p])


def _own_log_loss(model: Any, holdout: Any) -> float:
    import numpy as np

    p = np.clip(model.predict_proba(holdout[NUMERIC])[:, 1], 1e-15, 1 - 1e-15)
    y = holdout[data.TARGET].to_numpy()
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _verdict(fn: Any, challenger: Any, champion: Any, holdout: Any, label: str) -> dict[str, Any]:
    try:
        got = fn(challenger, champion, holdout.copy())
    except ValueError as exc:
        raise CheckError(
            f"with {label} gate_step raised ValueError ({str(exc)[:60]}): run the data and model "
            "tests before scoring, and return passed=False when they fail"
        ) from None
    keys = ("tests_passed", "challenger_log_loss", "champion_log_loss", "passed")
    got = _dict(got, "gate_step", keys)
    for key in ("tests_passed", "passed"):
        expect(_values.is_bool(got[key]), f"'{key}' should be True or False, not {got[key]!r}")
    return got


@exercise(
    "m09.ex3",
    "The gate step",
    hints=(
        "Three tests (no NaN features, no negative counts, probabilities in [0, 1]) before any "
        "log loss; then compare the two log losses on the same holdout.",
        "`holdout[FEATURES].isna().any().any()`, `(holdout[NUMERIC] < 0).any().any()`, "
        "`p = challenger.predict_proba(holdout[NUMERIC])[:, 1]`; `np.isfinite(p)` and the range.",
        "`log_loss(holdout[data.TARGET], p, labels=[0, 1])` for each model; passed = tests passed "
        "and challenger loss < champion loss - MARGIN.",
    ),
)
def gate(gate_step: Any) -> str:
    fn = a_function(gate_step, "gate_step")
    calm, holiday = _gate_models()
    frame = _drift.weeks(24)
    holdout = frame[frame["customer_id"] % 5 == 0].reset_index(drop=True)
    better = _verdict(fn, holiday, calm, holdout, "a holiday challenger on a holiday week")
    expect(better["tests_passed"], "clean data and a sound challenger failed the tests")
    for role, model in (("challenger", holiday), ("champion", calm)):
        raw = better[f"{role}_log_loss"]
        value = _values.as_float(
            raw, f"'{role}_log_loss' should be a number, not {_values.show(raw)}"
        )
        expect(
            close(value, _own_log_loss(model, holdout), 1e-4),
            f"'{role}_log_loss' ({value:.4f}) is not that model's log loss on the holdout given",
        )
    expect(better["passed"], "a challenger with a clearly lower log loss did not pass")
    worse = _verdict(fn, calm, holiday, holdout, "a calm challenger on a holiday week")
    expect(not worse["passed"], "a challenger with a higher log loss than the champion passed")
    same = _verdict(fn, calm, calm, holdout, "a challenger equal to the champion")
    expect(not same["passed"], "a challenger no better than the champion passed: mind MARGIN")
    faults = {
        "a missing feature value": holdout.assign(
            sessions_7d=holdout["sessions_7d"].astype(float)
        ).pipe(lambda f: f.assign(sessions_7d=f["sessions_7d"].where(f.index != 3))),
        "a negative count": holdout.assign(
            cart_adds_7d=holdout["cart_adds_7d"].where(holdout.index != 5, -2)
        ),
    }
    for label, broken in faults.items():
        got = _verdict(fn, holiday, calm, broken, f"a holdout with {label}")
        expect(
            not got["tests_passed"] and not got["passed"],
            f"a holdout with {label} passed: test the data before scoring",
        )
    got = _verdict(fn, _Overconfident(holiday), calm, holdout, "probabilities above 1")
    expect(
        not got["tests_passed"] and not got["passed"],
        "a challenger whose probabilities exceed 1 passed: test the model's output range",
    )
    return "better passes, worse and equal do not, broken data and a broken model fail the tests"


# --- exercises 4 and 5: registry steps on a scratch model -----------------------------------


@contextlib.contextmanager
def _scratch_versions(count: int) -> Iterator[str]:
    """A throw-away registered model with ``count`` versions and @champion -> v1. The versions
    come from a model logged in a deleted run: a tracking server refuses local folders."""
    import mlflow

    from ..stack import pip_requirements

    with _mlflow.scratch_run():
        info = mlflow.sklearn.log_model(
            _gate_models()[0], name="model", pip_requirements=pip_requirements()
        )
    try:
        with _mlflow.scratch_model([info.model_uri] * count, {"champion": 1}) as name:
            yield name
    finally:
        _mlflow.delete_logged_model(info.model_id)


@exercise(
    "m09.ex4",
    "The register step",
    hints=(
        "Log the model to the run that is already active (do not start another), register what "
        "you logged, then tag and alias the new version.",
        "`info = mlflow.sklearn.log_model(model, name='model', pip_requirements=...)`, "
        "`mlflow.register_model(info.model_uri, model_name)`; the run id is "
        "`mlflow.active_run().info.run_id`.",
        "For each key of `{**lineage, 'source_run': run_id}`: `client.set_model_version_tag(model_"
        "name, version.version, key, str(value))`; then `set_registered_model_alias(..., "
        "'challenger', ...)` and return the version.",
    ),
)
def register(register_step: Any) -> str:
    import mlflow
    import numpy as np

    fn = a_function(register_step, "register_step")
    model = _gate_models()[1]
    lineage = {"week": 23, "train_weeks": "22-23", "data_fingerprint": uuid.uuid4().hex[:16],
               "challenger_log_loss": 0.4123, "champion_log_loss": 0.4567}  # fmt: skip
    with _mlflow.dropped_model() as name, _mlflow.scratch_run() as run:
        returned = fn(name, model, dict(lineage))
        expect(
            mlflow.active_run() is not None and mlflow.active_run().info.run_id == run.info.run_id,
            "register_step ended or replaced the active run: log into the run it is called in",
        )
        found = _mlflow.versions(name) if _mlflow.model_exists(name) else []
        expect(found, "register_step registered nothing under the model_name it was given")
        mv = _mlflow.model_version(name, returned, "register_step's result")
        expect(
            mv.run_id == run.info.run_id,
            "the version was not logged in the active run: call log_model inside it",
        )
        tags = mv.tags
        expect(
            tags.get("source_run") == run.info.run_id,
            "the version's source_run tag is not the active run's id",
        )
        for key, value in lineage.items():
            expect(key in tags, f"the version has no {key!r} tag: tag every key of lineage")
            expect(tags[key] == str(value), f"tag {key}={tags[key]!r}, not the lineage value")
        aliases = _mlflow.client().get_registered_model(name).aliases
        expect(
            str(aliases.get("challenger")) == str(mv.version),
            "@challenger does not point at the new version",
        )
        loaded = mlflow.sklearn.load_model(f"models:/{name}/{mv.version}")
        rows = _drift.weeks(24).head(50)[NUMERIC]
        expect(
            np.allclose(loaded.predict_proba(rows), model.predict_proba(rows)),
            "the registered model does not predict like the model given",
        )
    return "logged in the week's run, registered, tagged with its lineage and @challenger"


def _reason(result: dict[str, Any], case: str) -> str:
    reason = result["reason"]
    expect(isinstance(reason, str) and reason.strip(), f"{case}: 'reason' should say why, in words")
    return reason


@exercise(
    "m09.ex5",
    "The decide step",
    hints=(
        "Three cases in order: no drift, a failed (or missing) gate, a passing gate. Only the last "
        "touches the registry.",
        "Before moving: `previous = client.get_model_version_by_alias(model_name, 'champion')"
        ".version`; tag the challenger `promoted_from`, then `client.set_registered_model_alias`.",
        "Put the numbers in the reasons: f\"no drift: share {drift['share']:.2f}\", and both "
        "`gate['...log_loss']` values with 4 decimals when the gate decides.",
    ),
)
def decide(decide_step: Any) -> str:
    fn = a_function(decide_step, "decide_step")
    client = _mlflow.client()
    calm = {"share": 0.23, "drifted": False, "features": ["tenure_days"]}
    holiday = {"share": 0.71, "drifted": True, "features": ["device", "aov_30d"]}
    failed = {"tests_passed": True, "challenger_log_loss": 0.4321, "champion_log_loss": 0.4298,
              "passed": False}  # fmt: skip
    broken = {"tests_passed": False, "challenger_log_loss": math.nan,
              "champion_log_loss": math.nan, "passed": False}  # fmt: skip
    passed = {"tests_passed": True, "challenger_log_loss": 0.3871, "champion_log_loss": 0.4412,
              "passed": True}  # fmt: skip

    def call(*args: Any, case: str) -> dict[str, Any]:
        got = _dict(fn(name, *args), "decide_step", ("decision", "reason"))
        expect(
            got["decision"] in ("promote", "keep"),
            f"{case}: 'decision' should be 'promote' or 'keep', not {got['decision']!r}",
        )
        return got

    def champion() -> str:
        return str(client.get_registered_model(name).aliases.get("champion"))

    with _scratch_versions(2) as name:
        quiet = call(None, calm, None, case="no drift")
        expect(quiet["decision"] == "keep" and champion() == "1", "a week without drift promoted")
        reason_quiet = _reason(quiet, "no drift")
        expect(
            "0.23" in reason_quiet or "23" in reason_quiet,
            "without drift the reason should give the drift share",
        )
        worse = call("2", holiday, failed, case="a failed gate")
        expect(worse["decision"] == "keep" and champion() == "1", "a failed gate moved @champion")
        reason_worse = _reason(worse, "a failed gate")
        expect(
            "0.43" in reason_worse,
            "when the gate fails the reason should give both log losses",
        )
        sick = call("2", holiday, broken, case="failed tests")
        expect(sick["decision"] == "keep" and champion() == "1", "failed tests moved @champion")
        _reason(sick, "failed tests")
        expect(
            "promoted_from" not in client.get_model_version(name, "2").tags,
            "a kept challenger got a promoted_from tag",
        )
        won = call("2", holiday, passed, case="a passing gate")
        expect(won["decision"] == "promote", "drift and a passing gate did not promote")
        expect(champion() == "2", "the decision is promote but @champion did not move")
        expect(
            client.get_model_version(name, "2").tags.get("promoted_from") == "1",
            "promoted_from should name the version that was champion before",
        )
        reason_won = _reason(won, "a passing gate")
        expect(
            len({reason_quiet, reason_worse, reason_won}) == 3,
            "the three cases give the same reason: say which one happened",
        )
    return (
        "no drift and failed gates keep, drift with a passing gate promotes, each with its reason"
    )


# --- exercise 6: the pipeline, from its audit trail ----------------------------------------


def _trail() -> list[Any]:
    exp = _mlflow.module_experiment("m09")
    if exp is None:
        return []
    return _mlflow.client().search_runs(
        [exp.experiment_id], "tags.pipeline = 'weekly'", max_results=1000
    )


def _count_runs() -> int:
    exp = _mlflow.module_experiment("m09")
    return (
        len(_mlflow.client().search_runs([exp.experiment_id], "", max_results=5000)) if exp else 0
    )


def _week(run: Any) -> int:
    raw = run.data.tags.get("week", "")
    expect(
        raw.lstrip("-").isdigit(), f"run {run.info.run_id[:8]} has week tag {raw!r}, not a number"
    )
    return int(raw)


@exercise(
    "m09.ex6",
    "Run a week, run the timeline",
    hints=(
        "First the skip: search the experiment for a FINISHED run tagged with this week; return its "
        "tags if there is one. Then one `mlflow.start_run` around all the steps.",
        '`mlflow.search_runs(experiment_names=[stack.experiment_name], filter_string="tags.'
        "pipeline = 'weekly' and tags.week = '18' and attributes.status = 'FINISHED'\", "
        "output_format='list')`.",
        "Inside the run: features_step -> drift_step; if drifted: split_customers, train_step, "
        "gate_step, register_step; then decide_step and `mlflow.set_tags` with decision, reason, "
        "data_fingerprint, champion_version, challenger_version.",
    ),
)
def pipeline(run_week: Any, model_name: Any) -> str:
    fn = a_function(run_week, "run_week")
    name = _mlflow.model_name(model_name, "the setup cell")
    runs = _trail()
    if not runs:
        raise NotAttempted("no pipeline runs yet: write run_week and run the timeline cell")
    finished = [r for r in runs if r.info.status == "FINISHED"]
    by_week: dict[int, list[Any]] = {}
    for run in finished:
        by_week.setdefault(_week(run), []).append(run)
    missing = [w for w in TIMELINE if w not in by_week]
    expect(
        not missing, f"the audit trail has no finished run for week(s) {missing}: run the timeline"
    )
    twice = [w for w, rs in by_week.items() if len(rs) > 1]
    expect(not twice, f"week(s) {twice} ran twice: skip a week that already has a finished run")
    champion = None
    promotions = []
    for week in TIMELINE:
        run = by_week[week][0]
        tags = run.data.tags
        lacking = [t for t in RUN_TAGS if t not in tags]
        expect(not lacking, f"week {week}'s run lacks tag(s) {', '.join(lacking)}")
        expect(
            tags["decision"] in ("promote", "keep"),
            f"week {week}'s decision is {tags['decision']!r}",
        )
        expect(tags["reason"].strip(), f"week {week}'s run has an empty reason")
        if tags["decision"] == "promote":
            expect(week in data.HOLIDAY_WEEKS, f"week {week} is calm, yet the pipeline promoted")
            expect(
                tags["champion_version"] == tags["challenger_version"],
                f"week {week} promoted, but champion_version is not the challenger_version",
            )
            promotions.append((week, run))
        elif champion is not None:
            expect(
                tags["champion_version"] == champion,
                f"@champion changed in week {week} (v{champion} -> v{tags['champion_version']}) "
                "without a promote decision",
            )
        champion = tags["champion_version"]
    expect(
        promotions, "no week of the holiday promoted a challenger: check the trigger and the gate"
    )
    now = _mlflow.alias_version(name, "champion")
    expect(
        str(now.version) == champion,
        f"@champion is v{now.version}, but the last week's run says v{champion}",
    )
    for week, run in promotions:
        mv = _mlflow.model_version(name, run.data.tags["champion_version"], "champion_version")
        tags = mv.tags
        lacking = [t for t in LINEAGE if t not in tags]
        expect(
            not lacking, f"v{mv.version} (promoted in week {week}) lacks lineage tag(s) {lacking}"
        )
        expect(tags["week"] == str(week), f"v{mv.version}'s week tag is not {week}, its run's week")
        expect(
            tags["source_run"] == run.info.run_id and mv.run_id == run.info.run_id,
            f"v{mv.version} was not logged in week {week}'s run",
        )
        expect(
            tags["data_fingerprint"] == run.data.tags["data_fingerprint"],
            f"v{mv.version}'s data_fingerprint differs from week {week}'s run",
        )
        for key in ("challenger_log_loss", "champion_log_loss"):
            _values.as_float(
                tags[key],
                f"v{mv.version}'s {key} tag should be a number, not {_values.show(tags[key])}",
            )
    n_runs, n_versions = _count_runs(), len(_mlflow.versions(name))
    for week in (TIMELINE[1], promotions[0][0]):
        again = fn(week)
        expect(isinstance(again, dict), f"run_week should return a dict, not {_values.show(again)}")
        expect(
            str(again.get("decision")) == by_week[week][0].data.tags["decision"],
            f"run_week({week}) again returns another decision than the recorded one",
        )
    expect(_count_runs() == n_runs, "running a processed week again started new runs: skip it")
    expect(len(_mlflow.versions(name)) == n_versions, "a processed week registered a new version")
    weeks = ", ".join(str(w) for w, _ in promotions)
    return (
        f"{len(TIMELINE)} weeks audited, promoted in week(s) {weeks} only, a replay changes nothing"
    )


question(
    Question(
        "m09.q1",
        "choice",
        "88e5415b5953b14bc98f",
        "Why the pipeline skips finished weeks",
        ("a", "b", "c"),
    )
)
question(
    Question(
        "m09.q2",
        "choice",
        "18011ea1f10d454eb225",
        "Why the gate uses log loss",
        ("a", "b", "c", "d"),
    )
)
question(Question("m09.q3", "number", "f57f063252fe07dcb404", "Promotions over the timeline", tolerance=0.5,
                  hint="count the rows of your audit trail whose decision is promote"))  # fmt: skip
question(
    Question(
        "m09.q4",
        "choice",
        "8e38a5773fbfd39c5d71",
        "What a step becomes on a platform",
        ("a", "b", "c"),
    )
)
