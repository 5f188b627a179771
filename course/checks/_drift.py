"""Drift scores recomputed with SciPy, as Evidently's preset computes them: the ground truth the
monitoring (m07) and continuous-training (m09) checks compare learners' results with."""

from __future__ import annotations

from typing import Any


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
