"""Model metrics the checks recompute themselves (not with the learner's library calls), so
that a check and the answer it grades never share a bug."""

from __future__ import annotations

import math
from typing import Any


def rank_auc(labels: Any, scores: Any) -> float:
    """ROC AUC as the Mann-Whitney statistic with mid-ranks (ties count one half): the chance
    a positive outranks a negative. NaN when only one class is present."""
    import numpy as np
    from scipy.stats import rankdata

    positive = np.asarray(labels) == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(np.asarray(scores, dtype=float))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
