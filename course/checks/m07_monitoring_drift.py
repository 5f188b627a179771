"""Checks for m07 Monitoring and drift detection.

The checks call the learner's functions on windows of their own choosing and recompute every
number with SciPy and NumPy (not Evidently, not the notebook's code), so a hard-coded answer or a
fixed window fails. They rely on ShopFlow's holiday ground truth in `course.data`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import data
from .._errors import CheckError, NotAttempted
from . import _drift, _metrics, _values
from ._expect import a_function, attempted, close, expect
from ._registry import Question, exercise, question

NUMERIC = list(data.NUMERIC_FEATURES)
CATEGORICAL = list(data.CATEGORICAL_FEATURES)
FEATURES = NUMERIC + CATEGORICAL
CALM_REF = (13, 16)  # the notebook's reference: the last four training weeks
GAUGES = (
    "shopflow_monitored_week",
    "shopflow_drift_share",
    "shopflow_prediction_drift",
    "shopflow_roc_auc",
    "shopflow_retrain_required",
)


def _label(ref: tuple[int, int], week: int) -> str:
    kind = "a holiday week" if week in data.HOLIDAY_WEEKS else "a calm week"
    return f"reference weeks {ref[0]}-{ref[1]} vs week {week} ({kind})"


def _model(model: Any) -> Any:
    attempted(model, "model")
    expect(
        hasattr(model, "predict_proba"),
        f"`model` should be the fitted classifier from the setup cell, not a {type(model).__name__}",
    )
    return model


def _probabilities(model: Any, frame: Any) -> Any:
    columns = list(getattr(model, "feature_names_in_", NUMERIC))
    return model.predict_proba(frame[columns])[:, 1]


# --- what the learner's functions return -------------------------------------------------------


def _names(value: Any, name: str) -> set[str]:
    import pandas as pd

    ok = isinstance(value, (list, tuple, set, pd.Index)) and all(isinstance(v, str) for v in value)
    expect(ok, f"{name} should return a list of feature names, not {_values.show(value)}")
    return set(value)


def _frame(value: Any, name: str, columns: Iterable[str]) -> Any:
    import pandas as pd

    expect(
        isinstance(value, pd.DataFrame),
        f"{name} should return a DataFrame, not {_values.show(value)}",
    )
    missing = [c for c in columns if c not in value.columns]
    expect(not missing, f"{name}'s DataFrame has no column(s) {', '.join(missing)}")
    return value


# --- exercises ---------------------------------------------------------------------------------


@exercise(
    "m07.ex1",
    "Which features drifted",
    hints=(
        "Run the preset once on the two windows, then walk through `snap.dict()['metrics']`: the "
        "per-column entries are the ValueDrift ones.",
        "`Report([DataDriftPreset()]).run(current_data=as_dataset(current), "
        "reference_data=as_dataset(reference))`; each ValueDrift entry has `config['column']`, "
        "`config['threshold']` and `value`.",
        "Keep `config['column']` where `config['type'].endswith(':ValueDrift')` and "
        "`value >= config['threshold']`; use the arguments, not the global `reference`.",
    ),
)
def drifted(drifted_features: Any) -> str:
    fn = a_function(drifted_features, "drifted_features")
    cases = ((CALM_REF, 23), (CALM_REF, 19), ((10, 13), 20))
    for ref_weeks, week in cases:
        ref, cur = _drift.weeks(*ref_weeks), _drift.weeks(week)
        got = _names(fn(ref.copy(), cur.copy()), "drifted_features")
        where = _label(ref_weeks, week)
        unknown = sorted(got - set(FEATURES))
        expect(not unknown, f"on {where} drifted_features returns non-features: {unknown}")
        if week in data.HOLIDAY_WEEKS:
            missed = sorted(set(data.HOLIDAY_DRIFTED_FEATURES) - got)
            expect(
                not missed, f"on {where} drifted_features misses {missed}, shifted by the holiday"
            )
        flags = _drift.flags(ref, cur)
        missed = sorted(flags.sure - got)
        expect(
            not missed,
            f"on {where} drifted_features misses {missed}, whose drift score reaches its threshold",
        )
        extra = sorted(got - flags.sure - flags.border)
        expect(
            not extra,
            f"on {where} drifted_features flags {extra}, whose drift score is below its threshold: "
            "a distance means drift when it reaches the threshold; use the windows you are given",
        )
    return "drifted_features agrees with the drift scores on a holiday week, a calm week and another reference"


_EXPECTED_METHODS = {
    "ks": "Kolmogorov-Smirnov p-value",
    "wasserstein": "normed Wasserstein distance",
}


def _direction(method: str, score: float, threshold: float) -> bool:
    return score <= threshold if method == "ks" else score >= threshold


@exercise(
    "m07.ex2",
    "Drift scores by method",
    hints=(
        "`ValueDrift(column=c, method=method)` for each numeric column, all in one Report; its "
        "value is the score, `config['threshold']` the threshold of that method.",
        "The direction depends on the method: for methods in P_VALUE_METHODS drift means "
        "score <= threshold, for distances (wasserstein, psi, jensenshannon) score >= threshold.",
        "Collect `{column: {'score': ..., 'drifted': ...}}` and return "
        "`pd.DataFrame.from_dict(rows, orient='index')`.",
    ),
)
def scores(drift_scores: Any) -> str:
    from scipy.stats import ks_2samp

    fn = a_function(drift_scores, "drift_scores")
    cases = ((CALM_REF, 20, "ks"), (CALM_REF, 20, "wasserstein"), ((10, 13), 24, "ks"))
    cases += ((CALM_REF, 23, "psi"),)
    for ref_weeks, week, method in cases:
        ref, cur = _drift.weeks(*ref_weeks), _drift.weeks(week)
        call = f"drift_scores(..., method={method!r}) on {_label(ref_weeks, week)}"
        table = _frame(fn(ref.copy(), cur.copy(), method), "drift_scores", ("score", "drifted"))
        missing = [c for c in NUMERIC if c not in table.index]
        expect(not missing, f"{call} has no row for {missing}: index the DataFrame by feature name")
        for col in NUMERIC:
            score = _values.number(
                table.loc[col, "score"], f"{call}'s score of {col}", verb="return"
            )
            flag = table.loc[col, "drifted"]
            expect(
                _values.is_bool(flag),
                f"{call}: drifted should be True or False, not {_values.show(flag)}",
            )
            if method == "ks":
                truth = float(ks_2samp(ref[col], cur[col]).pvalue)
            elif method == "wasserstein":
                truth = _drift.normed_wasserstein(ref[col], cur[col])
            else:
                truth = None
            if truth is not None:
                expect(
                    abs(score - truth) <= 1e-9 + 1e-6 * abs(truth),
                    f"{call}: the score of {col} is {score:.4g}, not the "
                    f"{_EXPECTED_METHODS[method]}; pass method=method to ValueDrift",
                )
            threshold = 0.05 if method == "ks" else _drift.THRESHOLD
            kind = (
                "a p-value: drift at or below"
                if method == "ks"
                else "a distance: drift at or above"
            )
            expect(
                bool(flag) == _direction(method, score, threshold),
                f"{call}: {col} has score {score:.3g} and drifted={bool(flag)}; with {method!r} the "
                f"score is {kind} the threshold ({threshold})",
            )
    return "drift_scores reads p-values and distances each in their own direction"


@exercise(
    "m07.ex3",
    "Prediction drift",
    hints=(
        "Prediction drift is data drift of one column: the model's output.",
        "`model.predict_proba(frame[NUMERIC])[:, 1]` for each window, wrapped as "
        "`pd.DataFrame({'prediction': scores})`.",
        "`Report([ValueDrift(column='prediction', method='wasserstein')]).run(current_data=cur, "
        "reference_data=ref)`, then `float(snap.dict()['metrics'][0]['value'])`.",
    ),
)
def prediction(prediction_drift: Any, model: Any) -> str:
    fn = a_function(prediction_drift, "prediction_drift")
    clf = _model(model)
    found = {}
    for ref_weeks, week in ((CALM_REF, 24), (CALM_REF, 19), ((10, 13), 22)):
        ref, cur = _drift.weeks(*ref_weeks), _drift.weeks(week)
        got = _values.number(fn(ref.copy(), cur.copy()), "prediction_drift", verb="return")
        truth = _drift.normed_wasserstein(_probabilities(clf, ref), _probabilities(clf, cur))
        expect(
            close(got, truth, 1e-6),
            f"on {_label(ref_weeks, week)} prediction_drift is {got:.4f}, not the normed "
            "Wasserstein distance between the model's predicted probabilities (predict_proba, "
            "not predict) on the two windows",
        )
        found[week] = got
    expect(
        found[19] < _drift.THRESHOLD < found[24],
        "prediction drift does not separate a calm week from a holiday week: is `model` the "
        "calm-weeks model from the setup cell?",
    )
    return f"prediction drift {found[19]:.2f} in calm week 19, {found[24]:.2f} in holiday week 24"


@exercise(
    "m07.ex4",
    "Performance on a labelled window",
    hints=(
        "Score the snapshots you are given with `model`, then compare with their labels.",
        "The scores are `model.predict_proba(snapshots[NUMERIC])[:, 1]` (probabilities, not "
        "`predict`'s 0/1); the labels are `snapshots[data.TARGET]`.",
        "Return `{'roc_auc': roc_auc_score(labels, scores), 'predicted_rate': scores.mean(), "
        "'actual_rate': labels.mean()}`.",
    ),
)
def decay(performance: Any, model: Any) -> str:
    fn = a_function(performance, "performance")
    clf = _model(model)
    found = {}
    for weeks in ((17, 17), (22, 22), (18, 21)):
        window = _drift.weeks(*weeks)
        label = f"week {weeks[0]}" if weeks[0] == weeks[1] else f"weeks {weeks[0]}-{weeks[1]}"
        got = fn(window.copy())
        keys = ("roc_auc", "predicted_rate", "actual_rate")
        expect(
            isinstance(got, dict) and all(k in got for k in keys),
            f"performance should return a dict with {', '.join(keys)}, not {_values.show(got)}",
        )
        scores, labels = _probabilities(clf, window), window[data.TARGET].to_numpy()
        truth = {
            "roc_auc": (
                _metrics.rank_auc(labels, scores),
                "the ROC AUC of the predicted probabilities",
            ),
            "predicted_rate": (float(scores.mean()), "the mean predicted probability"),
            "actual_rate": (float(labels.mean()), "the share of snapshots that converted"),
        }
        for key, (value, what) in truth.items():
            number = _values.number(got[key], f"performance's {key}", verb="return")
            expect(
                close(number, value, 1e-6),
                f"on {label} performance's {key} is {number:.4f}, not {what} "
                "(use predict_proba(...)[:, 1], not predict, and the snapshots given)",
            )
        found[label] = got["roc_auc"]
    return (
        f"ROC AUC {found['week 17']:.3f} in calm week 17, {found['week 22']:.3f} in holiday week 22"
    )


@exercise(
    "m07.ex5",
    "The weekly monitoring job",
    hints=(
        "Loop over `weeks`; build one dict per week and make a DataFrame of the list at the end.",
        "drift_share is `len(drifted_features(reference, window(w))) / len(FEATURES)`; "
        "prediction_drift is your function on the same two windows.",
        "The labels of week w's snapshots are the purchases of week w + 1: at the end of week w "
        "the latest complete labels are week w - 1's, so use `performance(window(w - 1))`.",
    ),
)
def monitoring(monitor: Any, model: Any) -> str:
    fn = a_function(monitor, "monitor")
    clf = _model(model)
    columns = ("week", "drift_share", "prediction_drift", "roc_auc")
    checked = 0
    for ref_weeks, weeks in ((CALM_REF, [21, 22]), ((10, 13), [24])):
        ref = _drift.weeks(*ref_weeks)
        table = _frame(fn(ref.copy(), list(weeks)), "monitor", columns)
        got_weeks = [int(w) for w in table["week"]]
        expect(
            got_weeks == weeks,
            f"monitor(reference, {weeks}) returns weeks {got_weeks}: one row per week asked, in order",
        )
        ref_scores = _probabilities(clf, ref)
        for (_, row), week in zip(table.iterrows(), weeks, strict=True):
            cur, where = _drift.weeks(week), _label(ref_weeks, week)
            share = _values.number(row["drift_share"], "drift_share", verb="return")
            expect(
                _drift.flags(ref, cur).allows_share(share),
                f"on {where} drift_share is {share:.2f}, not the share of the {len(FEATURES)} "
                "features whose drift score reaches its threshold",
            )
            drift = _values.number(row["prediction_drift"], "prediction_drift", verb="return")
            expect(
                close(drift, _drift.normed_wasserstein(ref_scores, _probabilities(clf, cur)), 1e-6),
                f"on {where} prediction_drift is {drift:.4f}, not the normed Wasserstein distance "
                "of the model's scores",
            )
            auc = _values.number(row["roc_auc"], "roc_auc", verb="return")
            labelled = _drift.weeks(week - 1)
            available = _metrics.rank_auc(labelled[data.TARGET], _probabilities(clf, labelled))
            future = _metrics.rank_auc(cur[data.TARGET], _probabilities(clf, cur))
            expect(
                not close(auc, future, 1e-9) or close(future, available, 1e-9),
                f"the row of week {week} has the AUC of week {week}'s own snapshots, whose labels "
                f"(purchases in week {week + 1}) do not exist yet at the end of week {week}",
            )
            expect(
                close(auc, available, 1e-6),
                f"the row of week {week} has roc_auc {auc:.4f}, not the ROC AUC on the snapshots "
                f"of week {week - 1}, the latest labelled ones",
            )
            checked += 1
    return f"monitor matches drift, prediction drift and delayed-label AUC on {checked} weeks"


def _row(**values: float) -> Any:
    import pandas as pd

    return pd.Series({"week": 30, **values}, dtype=float)


def _monitoring_rows(clf: Any) -> list[Any]:
    """The notebook's monitoring table, weeks 18-25, recomputed here."""
    ref = _drift.weeks(*CALM_REF)
    ref_scores = _probabilities(clf, ref)
    rows = []
    for week in range(18, 26):
        cur, labelled = _drift.weeks(week), _drift.weeks(week - 1)
        row = _row(
            drift_share=_drift.flags(ref, cur).share,
            prediction_drift=_drift.normed_wasserstein(ref_scores, _probabilities(clf, cur)),
            roc_auc=_metrics.rank_auc(labelled[data.TARGET], _probabilities(clf, labelled)),
        )
        row["week"] = week
        rows.append(row)
    return rows


def _fires(fn: Any, row: Any) -> bool:
    got = fn(row.copy())
    expect(
        _values.is_bool(got), f"should_retrain should return True or False, not {_values.show(got)}"
    )
    return bool(got)


@exercise(
    "m07.ex6",
    "A retraining trigger",
    hints=(
        "Two ways to fire: drift that reaches the model, or measured decay. Read the values "
        "with `row['drift_share']` and so on.",
        "Drift that reaches the model needs both `drift_share >= DRIFT_SHARE_ALERT` and "
        "`prediction_drift >= PREDICTION_DRIFT_ALERT`; decay is `roc_auc < AUC_FLOOR`.",
        "A NaN roc_auc compares False with `<`, so the decay half stays quiet until labels "
        "arrive; return `bool(drift_part or decay_part)`.",
    ),
)
def trigger(should_retrain: Any, model: Any) -> str:
    fn = a_function(should_retrain, "should_retrain")
    clf = _model(model)
    for row in _monitoring_rows(clf):
        week = int(row["week"])
        values = (
            f"drift_share {row['drift_share']:.1f}, prediction_drift {row['prediction_drift']:.2f}, "
            f"roc_auc {row['roc_auc']:.3f}"
        )
        if week in data.HOLIDAY_WEEKS:
            expect(
                _fires(fn, row), f"should_retrain does not fire in holiday week {week} ({values})"
            )
        else:
            expect(not _fires(fn, row), f"should_retrain fires in calm week {week} ({values})")
    nan = math.nan
    made_up = (
        (
            _row(drift_share=0.8, prediction_drift=0.02, roc_auc=nan),
            False,
            "features drifted but the predictions did not move and no labels are in",
        ),
        (
            _row(drift_share=0.8, prediction_drift=0.4, roc_auc=nan),
            True,
            "drift reached the predictions before any label arrived (roc_auc NaN)",
        ),
        (
            _row(drift_share=0.1, prediction_drift=0.02, roc_auc=0.6),
            True,
            "the AUC fell to 0.60 without feature drift",
        ),
        (
            _row(drift_share=0.1, prediction_drift=0.3, roc_auc=0.8),
            False,
            "only the predictions moved; few features drifted and the AUC is fine",
        ),
    )
    for row, wanted, story in made_up:
        verb = "should fire" if wanted else "should not fire"
        expect(_fires(fn, row) == wanted, f"should_retrain {verb} when {story}")
    return "should_retrain fires in the 4 holiday weeks, stays quiet in the 4 calm ones"


def _results(weeks: list[int], latest: dict[str, float]) -> Any:
    import pandas as pd

    calm = {"drift_share": 0.1, "prediction_drift": 0.02, "roc_auc": 0.8}
    rows = [{"week": w, **(latest if w == max(weeks) else calm)} for w in weeks]
    return pd.DataFrame.from_records(rows)


def _parsed(text: Any) -> dict[str, Any]:
    from prometheus_client.parser import text_string_to_metric_families

    expect(
        not isinstance(text, bytes),
        "exposition returns bytes: return `generate_latest(registry).decode()`",
    )
    expect(
        isinstance(text, str),
        f"exposition should return the text (a str), not {_values.show(text)}",
    )
    try:
        return {family.name: family for family in text_string_to_metric_families(text)}
    except Exception as exc:
        first = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise CheckError(f"exposition's text is not Prometheus text format ({first})") from None


@exercise(
    "m07.ex7",
    "Expose the latest results",
    hints=(
        "Pick the latest row, make a new `CollectorRegistry()`, one `Gauge` per value, then "
        "`generate_latest(registry)`.",
        "`latest = results.loc[results['week'].idxmax()]`; "
        "`Gauge('shopflow_drift_share', 'help text', registry=registry).set(value)`.",
        "shopflow_retrain_required is `int(should_retrain(latest))`; return "
        "`generate_latest(registry).decode()` (it returns bytes).",
    ),
)
def prometheus(exposition: Any) -> str:
    fn = a_function(exposition, "exposition")
    cases = (
        ([30, 31, 32], {"drift_share": 0.8, "prediction_drift": 0.45, "roc_auc": 0.66}, 1.0),
        ([5, 7, 6], {"drift_share": 0.0, "prediction_drift": 0.03, "roc_auc": 0.81}, 0.0),
    )
    for call, (weeks, latest, retrain) in enumerate(cases):
        frame = _results(weeks, latest)
        try:
            text = fn(frame.copy())
        except ValueError as exc:
            if "Duplicated" not in str(exc):
                raise
            raise CheckError(
                "calling exposition again fails with 'Duplicated timeseries': make a new "
                "CollectorRegistry() in each call and pass registry= to every Gauge"
            ) from None
        families = _parsed(text)
        wanted = {f"shopflow_{key}": value for key, value in latest.items()}
        wanted["shopflow_monitored_week"] = float(max(weeks))
        for name in GAUGES:
            expect(name in families, f"exposition has no metric {name}")
            family = families[name]
            expect(family.type == "gauge", f"{name} is a {family.type}, not a gauge")
            samples = [s for s in family.samples if s.name == name]
            expect(len(samples) == 1, f"{name} has {len(samples)} series; expose one value")
            value = samples[0].value
            if name == "shopflow_monitored_week":
                expect(
                    close(value, wanted[name], 1e-9),
                    f"exposition reports week {value:g}, but the latest week in the table is "
                    f"{wanted[name]:g}: use the row with the largest week, not the last row",
                )
            elif name == "shopflow_retrain_required":
                expect(
                    close(value, retrain, 1e-9),
                    f"shopflow_retrain_required is {value:g} for a week with "
                    f"drift_share {latest['drift_share']} and roc_auc {latest['roc_auc']}: "
                    "set it to int(should_retrain(row)) of the latest row",
                )
            else:
                expect(
                    close(value, wanted[name], 1e-9),
                    f"{name} is {value:g}, not the latest week's value (call {call + 1})",
                )
    return f"exposition gives {len(GAUGES)} gauges of the latest week, in Prometheus text format"


# --- m07.ex8 alert rules ------------------------------------------------------------------------

DRIFT_ALERT = "ShopflowDataDrift"
LATENCY_ALERT = "ShopflowSlowPredictions"
LATENCY = 'serving_latency_seconds{quantile="0.95"}'
# The check's own scenarios: one value per week (drift share) and per minute (p95 latency).
DRIFT_WEEKS = (0.2, 0.2, 0.7, 0.3, 0.8, 0.9, 0.55, 0.45)
LATENCY_MINUTES = (0.1,) * 10 + (0.4,) * 2 + (0.1,) * 3 + (0.4,) * 12


def _yaml_file(value: Any, name: str) -> tuple[Path, Any]:
    import yaml

    attempted(value, name)
    expect(isinstance(value, str | Path), f"`{name}` should be a path, not {_values.show(value)}")
    path = Path(value)
    expect(path.is_file(), f"no file at {path}: run its %%writefile cell first")
    text = path.read_text(encoding="utf-8", errors="replace")[:200_000]
    if "raise NotImplementedError()" in text:
        raise NotAttempted(f"{path.name} is still the stub: write it in its cell")
    try:
        return path, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise CheckError(f"{path.name} is not valid YAML{where}: check the indentation") from None


def _alert_rules(doc: Any, name: str) -> dict[str, dict]:
    groups = doc.get("groups") if isinstance(doc, dict) else None
    expect(isinstance(groups, list) and groups, f"{name} needs groups: with a list of rule groups")
    found = {}
    for group in groups:
        for rule in (group.get("rules") or []) if isinstance(group, dict) else []:
            if isinstance(rule, dict) and "alert" in rule:
                found[str(rule["alert"])] = rule
    for alert in (DRIFT_ALERT, LATENCY_ALERT):
        expect(alert in found, f"{name} has no alert named {alert}")
    return found


def _duration_s(raw: Any) -> float:
    import re

    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", str(raw or "0s"))
    return float(sum(int(n) * units[u] for n, u in parts))


def _structure_only(rules: dict[str, dict]) -> None:
    """Without promtool: what can be read off the YAML."""
    drift, slow = rules[DRIFT_ALERT], rules[LATENCY_ALERT]
    expr = str(drift.get("expr", ""))
    expect("shopflow_drift_share" in expr and ">" in expr, f"{DRIFT_ALERT} should compare "
           "shopflow_drift_share with > and the threshold")  # fmt: skip
    expect(
        604800 <= _duration_s(drift.get("for")) < 2 * 604800,
        f"{DRIFT_ALERT} should hold for one weekly run (for: 1w) before it fires",
    )
    expr = str(slow.get("expr", ""))
    expect("serving_latency_seconds" in expr and "0.95" in expr, f"{LATENCY_ALERT} should "
           'watch serving_latency_seconds{quantile="0.95"}')  # fmt: skip
    expect(_duration_s(slow.get("for")) >= 120, f"{LATENCY_ALERT} fires on a blip: add for: 5m")


def _drift_behaviour(rules_path: Path) -> None:
    from .. import promtool

    weeks = (2, 5, 6, 7)  # a lone drifted week, two in a row, 0.55 after them, then 0.45
    fired = set(
        promtool.firing(rules_path, DRIFT_ALERT, {"shopflow_drift_share": DRIFT_WEEKS}, at=weeks)
    )
    expect(
        7 not in fired,
        f"{DRIFT_ALERT} fires at a drift share of 0.45: alert above 0.5 only",
    )
    expect(
        2 not in fired,
        f"{DRIFT_ALERT} fires after a single drifted week: hold it for a week (for: 1w), so that "
        "two weekly runs in a row must agree",
    )
    expect(
        5 in fired,
        f"{DRIFT_ALERT} stays quiet after two drifted weeks in a row (0.8, then 0.9): it should "
        "fire at the second",
    )
    expect(
        6 in fired,
        f"{DRIFT_ALERT} goes quiet at a drift share of 0.55 after drifted weeks: the threshold "
        "is 0.5",
    )


def _latency_behaviour(rules_path: Path) -> None:
    from .. import promtool

    minutes = (9, 11, 14, 26)
    fired = set(
        promtool.firing(rules_path, LATENCY_ALERT, {LATENCY: LATENCY_MINUTES}, "1m", minutes)
    )
    expect(9 not in fired, f"{LATENCY_ALERT} fires while p95 is 0.1 s: alert above 0.25 s")
    expect(not fired & {11, 14}, f"{LATENCY_ALERT} fires on a 2-minute blip: add for: 5m")
    expect(26 in fired, f"{LATENCY_ALERT} stays quiet after 12 minutes of p95 at 0.4 s")


def _mutant(rules_doc: Any, alert: str, change: dict[str, Any]) -> Any:
    import copy

    doc = copy.deepcopy(rules_doc)
    for group in doc["groups"]:
        for rule in group.get("rules") or []:
            if isinstance(rule, dict) and rule.get("alert") == alert:
                rule.update(change)
                if "for" in change and change["for"] is None:
                    del rule["for"]
    return doc


def _tests_catch(tests_path: Path, tests_doc: Any, rules_doc: Any) -> None:
    """The learner's tests fail on rules that break what they should pin down."""
    import tempfile

    import yaml

    from .. import promtool

    expect(isinstance(tests_doc, dict) and tests_doc.get("tests"), f"{tests_path.name} needs "
           "tests: with at least one test (see the example in its cell)")  # fmt: skip
    mutants = (
        (_mutant(rules_doc, DRIFT_ALERT, {"for": None}),
         f"your tests still pass when {DRIFT_ALERT} fires after a single drifted week: add a "
         "case where one drifted week stays quiet"),
        (_mutant(rules_doc, DRIFT_ALERT, {"expr": "shopflow_drift_share > 1000"}),
         f"your tests still pass when {DRIFT_ALERT} never fires: expect it to fire after two "
         "drifted weeks"),
        (_mutant(rules_doc, LATENCY_ALERT, {"expr": f"{LATENCY} > 1000"}),
         f"your tests still pass when {LATENCY_ALERT} never fires: expect it to fire after "
         "5 minutes above 0.25 s"),
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="course-mutant-") as tmp:
        tests = dict(tests_doc, rule_files=["mutant.yml"])
        (Path(tmp) / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
        for doc, message in mutants:
            (Path(tmp) / "mutant.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
            expect(not promtool.test_rules(Path(tmp) / "tests.yml")[0], message)


@exercise(
    "m07.ex8",
    "Alert rules, tested",
    hints=(
        "Two rules in one group: `expr:` is the condition, `for:` how long it must hold before "
        "the alert fires. The monitoring job runs weekly, so `for: 1w` means two runs in a row.",
        "`expr: shopflow_drift_share > 0.5` with `for: 1w`; `expr: "
        'serving_latency_seconds{quantile="0.95"} > 0.25` with `for: 5m`.',
        'In the tests, one input series per case: `values: "0.2x167 0.7x167 0.2x167"` is three '
        "weeks of hourly samples; `exp_alerts: []` at the end of the single drifted week, one "
        "alert at the end of the second of two drifted weeks.",
    ),
)
def alert_rules(rules_file: Any, tests_file: Any) -> str:
    from .. import promtool

    rules_path, rules_doc = _yaml_file(rules_file, "rules_file")
    tests_path, tests_doc = _yaml_file(tests_file, "tests_file")
    rules = _alert_rules(rules_doc, rules_path.name)
    if not promtool.available():
        _structure_only(rules)
        return (
            "both rules read right (promtool is not installed here, so only their structure was "
            "checked; `make system-deps` installs it)"
        )
    valid, why = promtool.check_rules(rules_path)
    expect(valid, f"promtool check rules rejects {rules_path.name}: {why}")
    passed, why = promtool.test_rules(tests_path)
    expect(passed, f"your tests fail on your rules: {why}")
    _drift_behaviour(rules_path)
    _latency_behaviour(rules_path)
    _tests_catch(tests_path, tests_doc, rules_doc)
    return (
        f"{DRIFT_ALERT} fires on the second drifted week only, {LATENCY_ALERT} after 5 minutes; "
        f"your tests catch rules that do not{_live(rules_path)}"
    )


def _live(rules_path: Path) -> str:
    """When the stack runs Prometheus, it must load the rules too: ask its API how it took them."""
    from .. import _paths, _prometheus
    from .._errors import CourseError

    home = _paths.home()
    if _prometheus.running(home)[0] is None:
        return ""
    try:
        line = _prometheus.load_rules(home, rules_path, wait=False)
    except CourseError as exc:
        raise CheckError(str(exc)) from None
    expect(DRIFT_ALERT in line and "health err" not in line, line)
    return "; Prometheus loaded them"


question(
    Question(
        "m07.q1", "choice", "3d470863005241899db6", "What a drift score means", ("a", "b", "c", "d")
    )
)
question(
    Question(
        "m07.q2", "choice", "a1e26616258cad5d0c6b", "Significant but small drift", ("a", "b", "c")
    )
)
question(Question("m07.q3", "number", "f86d92dd339329c4fe58", "Drift share of week 23", tolerance=0.05,
                  hint="read the drift_share of week 23 in your monitoring table"))  # fmt: skip
question(Question("m07.q4", "number", "f9731293f0fb186b036f", "Whose labels in week 22's row", tolerance=0.4,
                  hint="a snapshot's label is the purchases of the week after it"))  # fmt: skip
question(
    Question(
        "m07.q5",
        "choice",
        "9f42558d53f2cd095af1",
        "Prometheus metric type for a share",
        ("a", "b", "c"),
    )
)
