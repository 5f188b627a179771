"""ShopFlow, the course's fictional online store, generated locally and deterministically.

Every module uses the same store so that learners meet the same customers from training to
monitoring. Nothing is downloaded: the same seed gives the same frames, byte for byte, on every
machine. The scenarios carry known ground truth (which weeks drift, which features, the true A/B
lift), so checks can compare a learner's result with what really happened.

Tables
------
customers():  customer_id, signup_date, country, device, channel
activity():   one weekly snapshot per customer and week after signup, taken at the end of the week
              (``event_timestamp``, Sunday 23:59:59 UTC); features describe the past, the label the
              next 7 days:
              week, sessions_7d, page_views_7d, cart_adds_7d, purchases_30d, aov_30d,
              days_since_last_purchase, device, country, channel, tenure_days,
              converted_next_7d (label: purchased in the 7 days after the snapshot)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SEED",
    "N_CUSTOMERS",
    "N_WEEKS",
    "START",
    "HOLIDAY_WEEKS",
    "HOLIDAY_DRIFTED_FEATURES",
    "LABEL_HORIZON_WEEKS",
    "EMBARGO_WEEKS",
    "FEATURES",
    "NUMERIC_FEATURES",
    "CATEGORICAL_FEATURES",
    "TARGET",
    "customers",
    "activity",
    "split",
    "ABScenario",
    "ab_test",
    "quality_incident",
    "INCIDENT",
]

SEED = 7
N_CUSTOMERS = 2_000
N_WEEKS = 26
START = "2025-06-02"  # a Monday; week w covers START + 7w .. START + 7w + 6 days
HOLIDAY_WEEKS: tuple[int, ...] = (22, 23, 24, 25)  # late November to December
# Ground truth of the holiday scenario: the features whose distribution shifts in HOLIDAY_WEEKS.
HOLIDAY_DRIFTED_FEATURES: tuple[str, ...] = ("device", "sessions_7d", "page_views_7d", "aov_30d")
# A snapshot's label is a purchase in the weeks after it: the calm week just before the holiday
# carries a holiday label (base rate about 0.24 against 0.12). The calm split leaves such weeks
# out, an embargo on the label horizon, so that validation measures calm weeks only.
LABEL_HORIZON_WEEKS = 1
EMBARGO_WEEKS: tuple[int, ...] = tuple(
    sorted(
        {w - k for w in HOLIDAY_WEEKS for k in range(1, LABEL_HORIZON_WEEKS + 1)}
        - set(HOLIDAY_WEEKS)
    )
)

NUMERIC_FEATURES: tuple[str, ...] = (
    "sessions_7d",
    "page_views_7d",
    "cart_adds_7d",
    "purchases_30d",
    "aov_30d",
    "days_since_last_purchase",
    "tenure_days",
)
CATEGORICAL_FEATURES: tuple[str, ...] = ("country", "device", "channel")
FEATURES: tuple[str, ...] = NUMERIC_FEATURES + CATEGORICAL_FEATURES
TARGET = "converted_next_7d"

_COUNTRIES = ("DE", "FR", "ES", "NL", "PL")
_COUNTRY_P = (0.35, 0.25, 0.18, 0.12, 0.10)
_DEVICES = ("desktop", "mobile", "tablet")
_DEVICE_P = (0.50, 0.40, 0.10)
_HOLIDAY_DEVICE_P = (0.25, 0.65, 0.10)
_CHANNELS = ("organic", "search", "social", "email")
_CHANNEL_P = (0.40, 0.30, 0.20, 0.10)


def _weeks_start() -> pd.Timestamp:
    import pandas as pd

    return pd.Timestamp(START, tz="UTC")


@lru_cache(maxsize=4)
def _customers(n: int, seed: int) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng([seed, 0])
    start = _weeks_start()
    # Two thirds signed up in the year before the timeline, the rest during it.
    offset_days = np.where(
        rng.random(n) < 2 / 3,
        -rng.integers(1, 365, n),
        rng.integers(0, 7 * (N_WEEKS - 4), n),
    )
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1, dtype="int64"),
            "signup_date": (start + pd.to_timedelta(offset_days, unit="D")).normalize(),
            "country": rng.choice(_COUNTRIES, n, p=_COUNTRY_P),
            "device": rng.choice(_DEVICES, n, p=_DEVICE_P),
            "channel": rng.choice(_CHANNELS, n, p=_CHANNEL_P),
        }
    )


def customers(n: int = N_CUSTOMERS, seed: int = SEED) -> pd.DataFrame:
    """The customer table (a fresh copy: changing it never changes the next call)."""
    return _customers(n, seed).copy()


@lru_cache(maxsize=4)
def _activity(n: int, seed: int) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    cust = _customers(n, seed)
    rng = np.random.default_rng([seed, 1])
    start = _weeks_start()
    signup_week = ((cust["signup_date"] - start).dt.days // 7).to_numpy()
    taste = rng.normal(0.0, 1.0, n)  # persistent per customer: makes the future predictable
    engagement = np.exp(0.7 * taste)
    country_value = (
        cust["country"].map(dict(zip(_COUNTRIES, (48, 42, 35, 45, 30), strict=True))).to_numpy()
    )
    home_device = cust["device"].to_numpy()

    n_total = N_WEEKS + 1  # one extra week simulated to label the last snapshot
    sessions = np.zeros((n_total, n))
    purchases = np.zeros((n_total, n))
    values = np.zeros((n_total, n))
    views = np.zeros((n_total, n))
    carts = np.zeros((n_total, n))
    devices = np.empty((n_total, n), dtype=object)
    for w in range(n_total):
        holiday = w in HOLIDAY_WEEKS
        season = 1.6 if holiday else 1.0
        s = rng.poisson(1.8 * engagement * season)
        v = s * (3 + rng.poisson(2.0, n))
        c = rng.binomial(v, 0.06 if holiday else 0.04)
        recent = purchases[max(0, w - 4) : w].sum(axis=0)
        # Concept drift: in the holiday weeks carts convert more, engagement matters less.
        if holiday:
            logit = -2.0 + 0.4 * taste + 0.2 * np.log1p(s) + 0.45 * np.minimum(c, 4) + 0.1 * recent
        else:
            logit = -3.4 + 1.1 * taste + 0.5 * np.log1p(s) + 0.3 * np.minimum(c, 4) + 0.2 * recent
        p = 1 / (1 + np.exp(-logit))
        p = np.where(w >= signup_week, p, 0.0)
        bought = rng.random(n) < p
        basket = rng.lognormal(np.log(country_value * (1.45 if holiday else 1.0)), 0.35)
        sessions[w], views[w], carts[w] = s, v, c
        purchases[w], values[w] = bought, np.where(bought, basket, 0.0)
        device_p = _HOLIDAY_DEVICE_P if holiday else _DEVICE_P
        roam = rng.random(n) < 0.35  # sometimes shop on another device than the usual one
        devices[w] = np.where(roam, rng.choice(_DEVICES, n, p=device_p), home_device)
        if holiday:  # the holiday device mix shifts for everyone, not just the roamers
            switch = rng.random(n) < 0.30
            devices[w] = np.where(switch & (devices[w] == "desktop"), "mobile", devices[w])

    frames = []
    last_purchase = np.full(n, np.nan)
    for w in range(N_WEEKS):
        week_end = start + pd.Timedelta(days=7 * w + 6, hours=23, minutes=59, seconds=59)
        last_purchase = np.where(purchases[w] > 0, 7 * w + 6, last_purchase)
        lo = max(0, w - 3)
        n30 = purchases[lo : w + 1].sum(axis=0)
        v30 = values[lo : w + 1].sum(axis=0)
        alive = w >= signup_week
        tenure = (week_end.normalize() - cust["signup_date"]).dt.days.to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": cust["customer_id"].to_numpy()[alive],
                    "event_timestamp": week_end,
                    "week": w,
                    "sessions_7d": sessions[w][alive].astype("int64"),
                    "page_views_7d": views[w][alive].astype("int64"),
                    "cart_adds_7d": carts[w][alive].astype("int64"),
                    "purchases_30d": n30[alive].astype("int64"),
                    "aov_30d": np.round(np.where(n30 > 0, v30 / np.maximum(n30, 1), 0.0), 2)[alive],
                    "days_since_last_purchase": np.where(
                        np.isnan(last_purchase), 365.0, np.minimum(7 * w + 6 - last_purchase, 365)
                    )[alive],
                    "tenure_days": tenure[alive].astype("int64"),
                    "country": cust["country"].to_numpy()[alive],
                    "device": devices[w][alive].astype(str),
                    "channel": cust["channel"].to_numpy()[alive],
                    TARGET: purchases[w + 1][alive].astype("int64"),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    for col in CATEGORICAL_FEATURES:
        out[col] = out[col].astype("string")
    return out


def activity(n: int = N_CUSTOMERS, seed: int = SEED) -> pd.DataFrame:
    """Weekly activity snapshots with the next-7-days conversion label (a fresh copy)."""
    return _activity(n, seed).copy()


def split(
    frame: pd.DataFrame | None = None, valid_weeks: int = 4, holiday: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Time-based train/valid split of the calm weeks: the last ``valid_weeks`` weeks validate.

    The split is by time, not at random: a customer's snapshots of the same weeks are strongly
    alike, so a random split lets the model see the validation period while training. The calm
    weeks exclude the holiday and the embargo before it (``EMBARGO_WEEKS``: weeks whose label
    falls in the holiday). ``holiday=True`` keeps both (modules that study drift want them).
    """
    frame = activity() if frame is None else frame
    if not holiday:
        frame = frame[~frame["week"].isin(HOLIDAY_WEEKS + EMBARGO_WEEKS)]
    last = int(frame["week"].max())
    cut = last - valid_weeks + 1
    train = frame[frame["week"] < cut].reset_index(drop=True)
    valid = frame[frame["week"] >= cut].reset_index(drop=True)
    return train, valid


@dataclass(frozen=True)
class ABScenario:
    """An experiment log with its ground truth: what a checker needs to grade an analysis."""

    frame: pd.DataFrame  # user_id, variant ("control" | "treatment"), converted, revenue
    kind: str
    control_rate: float  # true conversion probability in control
    true_lift: float  # true absolute lift (treatment - control)
    intended_share: float  # share of users meant for treatment
    srm: bool  # True when the split is broken


def ab_test(kind: str = "ab", n_users: int = 20_000, seed: int = SEED) -> ABScenario:
    """Experiment logs with known truth.

    kind: "ab"  the challenger lifts conversion from 10.0 % to 11.5 % (absolute +1.5 points);
          "aa"  both arms are the same model (no lift: any "win" is a false positive);
          "srm" like "ab", but a redirect bug drops 6 % of treatment users (sample-ratio mismatch).
    """
    import numpy as np
    import pandas as pd

    if kind not in ("ab", "aa", "srm"):
        raise ValueError(f"kind must be 'ab', 'aa' or 'srm', not {kind!r}")
    rng = np.random.default_rng([seed, 2, ("ab", "aa", "srm").index(kind)])
    base, lift = 0.10, (0.0 if kind == "aa" else 0.015)
    treat = rng.random(n_users) < 0.5
    keep = np.ones(n_users, bool)
    if kind == "srm":
        keep = ~(treat & (rng.random(n_users) < 0.06))
    p = np.where(treat, base + lift, base)
    converted = rng.random(n_users) < p
    revenue = np.where(converted, np.round(rng.lognormal(np.log(42), 0.4, n_users), 2), 0.0)
    frame = pd.DataFrame(
        {
            "user_id": np.arange(1, n_users + 1, dtype="int64"),
            "variant": np.where(treat, "treatment", "control"),
            "converted": converted.astype("int64"),
            "revenue": revenue,
        }
    )[keep].reset_index(drop=True)
    return ABScenario(frame, kind, base, lift, 0.5, kind == "srm")


# Ground truth of the data-quality incident: what quality_incident() breaks.
INCIDENT = {
    "null_column": "sessions_7d",  # 8 % of rows lose their value
    "null_share": 0.08,
    "retyped_column": "aov_30d",  # numbers arrive as strings like "EUR 41.20"
    "unknown_category": ("country", "XX"),  # a country code the model never saw
    "negative_column": "page_views_7d",  # a tracking bug logs negative counts
}


def quality_incident(frame: pd.DataFrame | None = None, seed: int = SEED) -> pd.DataFrame:
    """A copy of ``frame`` (default: the calm validation weeks) hit by the incident in INCIDENT."""
    import numpy as np

    frame = (split()[1] if frame is None else frame).copy()
    rng = np.random.default_rng([seed, 3])
    n = len(frame)
    nulls = rng.random(n) < INCIDENT["null_share"]
    frame[INCIDENT["null_column"]] = frame[INCIDENT["null_column"]].astype("Float64")
    frame.loc[nulls, INCIDENT["null_column"]] = None
    frame[INCIDENT["retyped_column"]] = "EUR " + frame[INCIDENT["retyped_column"]].map(
        "{:.2f}".format
    )
    col, bad = INCIDENT["unknown_category"]
    frame[col] = frame[col].astype(object)
    frame.loc[rng.random(n) < 0.02, col] = bad
    neg = rng.random(n) < 0.01
    frame.loc[neg, INCIDENT["negative_column"]] = -frame.loc[neg, INCIDENT["negative_column"]] - 1
    return frame
