"""Week windows of the ShopFlow timeline and their drift, recomputed with SciPy as Evidently's
preset computes it: the ground truth the monitoring (m07) and continuous-training (m09) checks
compare learners' results with, in one place so that the two modules agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .. import data

THRESHOLD = 0.1  # the preset's per-column distance threshold (higher = drift)
BORDER = 0.005  # a score this close to the threshold may fall either way: accept both
DRIFT_SHARE = 0.5  # the preset's dataset drift: at least this share of the columns drifted


@lru_cache(maxsize=1)
def _activity() -> Any:
    return data.activity()


def weeks(first: int, last: int | None = None) -> Any:
    """The snapshots of weeks first..last (one week if last is None), a new frame on each call:
    learners' code may modify it."""
    frame = _activity()
    last = first if last is None else last
    return frame[(frame["week"] >= first) & (frame["week"] <= last)].reset_index(drop=True)


def normed_wasserstein(ref: Any, cur: Any) -> float:
    """Wasserstein distance in units of the reference's standard deviation (numeric columns)."""
    import numpy as np
    from scipy.stats import wasserstein_distance

    ref, cur = np.asarray(ref, dtype=float), np.asarray(cur, dtype=float)
    return float(wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001))


def frequency_distance(ref: Any, cur: Any) -> float:
    """Jensen-Shannon distance of the two frequency tables (categories of either window)."""
    import numpy as np
    from scipy.spatial.distance import jensenshannon

    categories = sorted(set(ref.dropna()) | set(cur.dropna()))
    p = np.array([(ref == c).sum() for c in categories], dtype=float) / len(ref)
    q = np.array([(cur == c).sum() for c in categories], dtype=float) / len(cur)
    return float(jensenshannon(p, q))


def column_score(ref: Any, cur: Any, categorical: bool) -> float:
    """The preset's default method on references over 1000 rows: Wasserstein for numeric
    columns with more than 5 values in the two windows, Jensen-Shannon for the rest."""
    import pandas as pd

    if not categorical and pd.concat([ref, cur]).nunique() > 5:
        return normed_wasserstein(ref, cur)
    return frequency_distance(ref, cur)


@dataclass(frozen=True)
class Flags:
    """Which columns drift between two windows; ``border`` ones may be called either way."""

    sure: frozenset[str]
    border: frozenset[str]
    columns: int

    @property
    def share(self) -> float:
        return len(self.sure) / self.columns

    def allows_share(self, share: float) -> bool:
        """Whether ``share`` is the drifted fraction, counting border columns or not."""
        high = (len(self.sure) + len(self.border)) / self.columns
        return self.share - 1e-9 <= share <= high + 1e-9


def flags(
    ref: Any,
    cur: Any,
    numeric: Sequence[str] = data.NUMERIC_FEATURES,
    categorical: Sequence[str] = data.CATEGORICAL_FEATURES,
) -> Flags:
    """The columns whose score reaches THRESHOLD, apart from those within BORDER of it."""
    sure, border = set(), set()
    for col in [*numeric, *categorical]:
        score = column_score(ref[col], cur[col], col in categorical)
        if abs(score - THRESHOLD) < BORDER:
            border.add(col)
        elif score >= THRESHOLD:
            sure.add(col)
    return Flags(frozenset(sure), frozenset(border), len(numeric) + len(categorical))
