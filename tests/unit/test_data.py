"""ShopFlow data: deterministic, documented schema, scenarios with the promised ground truth."""

from __future__ import annotations

import pandas as pd
import pytest

from course import data


def test_same_seed_same_frames_and_fresh_copies() -> None:
    a, b = data.activity(), data.activity()
    pd.testing.assert_frame_equal(a, b)
    a.loc[0, "sessions_7d"] = -1
    assert data.activity().loc[0, "sessions_7d"] != -1
    other = data.activity(seed=8)
    assert len(other) != len(b) or not other.equals(b)


def test_schema_and_label() -> None:
    frame = data.activity()
    for col in ("customer_id", "event_timestamp", "week", *data.FEATURES, data.TARGET):
        assert col in frame.columns
    assert set(frame[data.TARGET].unique()) == {0, 1}
    assert frame[list(data.NUMERIC_FEATURES)].notna().all().all()
    assert frame["event_timestamp"].dt.tz is not None
    assert not frame.duplicated(["customer_id", "week"]).any()
    joined = frame.merge(data.customers(), on="customer_id", suffixes=("", "_c"))
    assert (joined["event_timestamp"] >= joined["signup_date"]).all()


def test_split_is_by_time_and_skips_holidays() -> None:
    train, valid = data.split()
    assert train["week"].max() < valid["week"].min()
    assert not set(data.HOLIDAY_WEEKS) & (set(train["week"]) | set(valid["week"]))
    _, valid_h = data.split(holiday=True)
    assert set(data.HOLIDAY_WEEKS) <= set(valid_h["week"])


def test_holiday_scenario_drifts_the_documented_features() -> None:
    frame = data.activity()
    hol = frame["week"].isin(data.HOLIDAY_WEEKS)
    mobile = frame["device"] == "mobile"
    assert mobile[hol].mean() > mobile[~hol].mean() + 0.1
    for col in ("sessions_7d", "aov_30d"):
        assert frame.loc[hol, col].mean() > 1.2 * frame.loc[~hol, col].mean()
    assert frame.loc[hol, data.TARGET].mean() > frame.loc[~hol, data.TARGET].mean() + 0.05


@pytest.mark.parametrize("kind", ["ab", "aa", "srm"])
def test_ab_scenarios_carry_their_truth(kind: str) -> None:
    s = data.ab_test(kind)
    rates = s.frame.groupby("variant")["converted"].mean()
    lift = rates["treatment"] - rates["control"]
    assert abs(lift - s.true_lift) < 0.012
    share = (s.frame["variant"] == "treatment").mean()
    assert (abs(share - 0.5) > 0.01) == s.srm


def test_ab_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind must be"):
        data.ab_test("abc")


def test_quality_incident_breaks_what_it_documents() -> None:
    bad = data.quality_incident()
    inc = data.INCIDENT
    assert abs(bad[inc["null_column"]].isna().mean() - inc["null_share"]) < 0.02
    assert bad[inc["retyped_column"]].str.startswith("EUR ").all()
    col, code = inc["unknown_category"]
    assert (bad[col] == code).any()
    assert (bad[inc["negative_column"]] < 0).any()


def test_the_holiday_hurts_the_champions_ranking_and_its_probabilities() -> None:
    """Module 9's case for log loss: AUC falls in weeks 21-24 and the probabilities run low."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train, _ = data.split()
    features = list(data.NUMERIC_FEATURES)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(train[features], train[data.TARGET])
    frame = data.activity()
    for weeks, low, high in (((18, 19, 20), 0.76, 0.85), ((21, 22, 23, 24), 0.62, 0.72)):
        rows = frame[frame["week"].isin(weeks)]
        for _, week in rows.groupby("week"):
            auc = roc_auc_score(
                week[data.TARGET], model.predict_proba(week[features].fillna(0))[:, 1]
            )
            assert low < auc < high, (weeks, auc)
    holiday = frame[frame["week"].isin((21, 22, 23, 24))]
    predicted = model.predict_proba(holiday[features].fillna(0))[:, 1].mean()
    assert predicted < 0.75 * holiday[data.TARGET].mean()
