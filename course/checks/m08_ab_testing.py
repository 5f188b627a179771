"""Checks for m08 A/B testing: they call the learner's functions on ShopFlow experiments with
known truth (course.data.ab_test, several seeds) and recompute every number from closed forms."""

from __future__ import annotations

import math
import numbers
from typing import Any

from .. import data
from .._errors import CheckError
from ._expect import a_function, expect
from ._registry import Question, exercise, question
from ._values import is_bool, number

ARMS = ("control", "treatment")
SRM_ALPHA = 0.001  # the notebook's threshold for a broken split
DECISIONS = ("ship", "don't ship", "keep running")
ANALYSIS_KEYS = ("control_rate", "treatment_rate", "lift", "ci_low", "ci_high", "p_value")
GUARDRAIL_KEYS = ("diff", "ci_low", "ci_high", "passed")


# --- ground truth, recomputed without the notebook's libraries ------------------------------


def _scenario(kind: str, seed: int = data.SEED) -> Any:
    return data.ab_test(kind, seed=seed).frame


def _values(frame: Any, arm: str, column: str) -> Any:
    import numpy as np

    return np.asarray(frame.loc[frame["variant"] == arm, column], dtype=float)


def _normal_sf(x: float) -> float:
    return 0.5 * math.erfc(x / math.sqrt(2))


def _z(alpha: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - alpha / 2))


def _srm_reference(frame: Any, share: float) -> float:
    """Chi-square with one degree of freedom on two cells is the square of a binomial z."""
    total = len(frame)
    treated = int((frame["variant"] == "treatment").sum())
    z = (treated - total * share) / math.sqrt(total * share * (1 - share))
    return 2 * _normal_sf(abs(z))


def _two_proportions(frame: Any, alpha: float) -> dict[str, float]:
    """Rates, absolute lift, Wald interval (unpooled) and pooled two-sided z-test p-value."""
    c, t = _values(frame, "control", "converted"), _values(frame, "treatment", "converted")
    pc, pt = c.mean(), t.mean()
    half = _z(alpha) * math.sqrt(pc * (1 - pc) / len(c) + pt * (1 - pt) / len(t))
    pooled = (c.sum() + t.sum()) / (len(c) + len(t))
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / len(c) + 1 / len(t)))
    return {
        "control_rate": pc,
        "treatment_rate": pt,
        "lift": pt - pc,
        "ci_low": pt - pc - half,
        "ci_high": pt - pc + half,
        "p_value": 2 * _normal_sf(abs(pt - pc) / se0),
        "se": half / _z(alpha),
    }


def _welch(frame: Any, metric: str, alpha: float) -> dict[str, float]:
    """Welch interval for the difference in means per user (treatment - control)."""
    from scipy.stats import t as student

    c, t = _values(frame, "control", metric), _values(frame, "treatment", metric)
    vc, vt = c.var(ddof=1) / len(c), t.var(ddof=1) / len(t)
    dof = (vc + vt) ** 2 / (vc**2 / (len(c) - 1) + vt**2 / (len(t) - 1))
    half = float(student.ppf(1 - alpha / 2, dof)) * math.sqrt(vc + vt)
    diff = t.mean() - c.mean()
    return {"diff": diff, "ci_low": diff - half, "ci_high": diff + half, "se": math.sqrt(vc + vt)}


def _n_per_arm(base: float, mde: float, alpha: float, power: float) -> float:
    """The textbook normal-approximation sample size for two proportions, per arm."""
    from scipy.stats import norm

    p1, p2 = base, base + mde
    mean = (p1 + p2) / 2
    a = _z(alpha) * math.sqrt(2 * mean * (1 - mean))
    b = float(norm.ppf(power)) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return (a + b) ** 2 / mde**2


def peeking_theory(looks: int, alpha: float, step: float = 0.002) -> float:
    """P(some |Z_k| > z) for `looks` equally spaced looks at a null experiment (Armitage's
    recursion: the density of the running sum of N(0, 1) increments, cut at each boundary)."""
    import numpy as np
    from scipy.signal import fftconvolve
    from scipy.stats import norm

    z = _z(alpha)
    edge = z * math.sqrt(looks) + 8
    grid = np.arange(-edge, edge + step / 2, step)
    kernel = norm.pdf(np.arange(-8, 8 + step / 2, step)) * step
    density = norm.pdf(grid)
    for k in range(1, looks + 1):
        if k > 1:
            density = fftconvolve(density, kernel, mode="same")
        density = np.where(np.abs(grid) < z * math.sqrt(k), density, 0.0)
    return float(1 - density.sum() * step)


# --- shaping the learner's answers -----------------------------------------------------------


def _record(result: Any, keys: tuple[str, ...], name: str) -> dict[str, Any]:
    expect(
        isinstance(result, dict),
        f"{name} should return a dict with keys {', '.join(keys)}, not {type(result).__name__}",
    )
    missing = [k for k in keys if k not in result]
    expect(not missing, f"{name}'s dict lacks key(s) {', '.join(missing)}")
    return result


def _near(got: float, want: float, tol: float) -> bool:
    return abs(got - want) <= tol


# --- exercises -------------------------------------------------------------------------------


def _share(arms: list[str]) -> float:
    return sum(a == "treatment" for a in arms) / len(arms)


@exercise(
    "m08.ex1",
    "Deterministic, salted assignment",
    hints=(
        "Turn the pair (experiment, user) into a number in [0, 1) that looks random but is always "
        "the same, then compare it with share.",
        "`hashlib.sha256(f'{experiment}:{user_id}'.encode()).hexdigest()` is a hex string; the "
        "first 15 hex digits as an integer, divided by 16**15, is a bucket in [0, 1).",
        "Return 'treatment' when the bucket is below share, else 'control'. Do not use random or "
        "Python's hash(): the first is not stable, the second changes between processes.",
    ),
)
def assignment(assign: Any) -> str:
    import random

    fn = a_function(assign, "assign")
    ids = list(range(1, 10_001))
    n = len(ids)
    first = fn(ids[0], "check-exp-a", 0.5)
    expect(
        isinstance(first, str) and first in ARMS,
        f"assign should return 'control' or 'treatment', not {first!r:.40}",
    )
    half = [fn(u, "check-exp-a", 0.5) for u in ids]
    odd = sorted({a for a in half if a not in ARMS})
    if odd:
        raise CheckError(f"assign returned {odd[0]!r:.40}; return 'control' or 'treatment' only")

    def tol(share: float) -> float:
        return 4.5 * math.sqrt(share * (1 - share) / n)

    got = _share(half)
    expect(
        _near(got, 0.5, tol(0.5)),
        f"with share=0.5, {got:.1%} of {n:,} users got treatment: the split should be close "
        "to the share",
    )
    again = [fn(u, "check-exp-a", 0.5) for u in ids]
    moved = sum(a != b for a, b in zip(half, again, strict=True))
    expect(
        moved == 0,
        f"a second call moved {moved:,} users to the other arm: derive the arm from a hash of "
        "the experiment and the user id, never from random",
    )
    order = ids[:]
    random.Random(8).shuffle(order)
    shuffled = {}
    for u in order:
        fn(u, "check-exp-other", 0.5)  # calls for another experiment in between
        shuffled[u] = fn(u, "check-exp-a", 0.5)
    moved = sum(shuffled[u] != a for u, a in zip(ids, half, strict=True))
    expect(
        moved == 0,
        f"asking in another order moved {moved:,} users: the arm must depend only on "
        "(user_id, experiment, share), not on counters or earlier calls",
    )
    other = [fn(u, "check-exp-b", 0.5) for u in ids]
    agree = sum(a == b for a, b in zip(half, other, strict=True)) / n
    expect(
        _near(agree, 0.5, tol(0.5)),
        f"two experiments put {agree:.0%} of users in the same arm (independent splits agree on "
        "about half): salt the hash with the experiment name",
    )
    arms, shares = {}, {0.5: got}
    for share in (0.1, 0.3):
        arms[share] = [fn(u, "check-exp-a", share) for u in ids]
        got = shares[share] = _share(arms[share])
        expect(
            _near(got, share, tol(share)),
            f"with share={share}, {got:.1%} of users got treatment; 'treatment' should go to "
            "that share of users",
        )
    back = sum(
        a == "treatment" and b == "control" for a, b in zip(arms[0.1], arms[0.3], strict=True)
    )
    expect(
        back == 0,
        f"raising share from 0.1 to 0.3 sent {back:,} treated users back to control: compare one "
        "fixed bucket per user with share, so a ramp-up only adds users",
    )
    seen = ", ".join(f"{shares[s]:.1%}" for s in (0.1, 0.3, 0.5))
    return f"stable, salted, order-free; treated {seen} for share 0.1, 0.3, 0.5; ramps only add"


@exercise(
    "m08.ex2",
    "A sample-ratio-mismatch check",
    hints=(
        "Compare the number of users in each arm with what the intended share predicts; a "
        "goodness-of-fit test says how surprising the gap is.",
        "Observed: the counts of 'control' and 'treatment' in frame['variant']. Expected: "
        "len(frame) * (1 - share) and len(frame) * share.",
        "`scipy.stats.chisquare(observed, expected).pvalue`, as a float.",
    ),
)
def srm(srm_pvalue: Any) -> str:
    fn = a_function(srm_pvalue, "srm_pvalue")
    frames = {
        "the 'ab' experiment": (_scenario("ab"), 0.5),
        "the broken 'srm' split": (_scenario("srm"), 0.5),
        "the 'aa' experiment": (_scenario("aa"), 0.5),
        "an 'ab' log with another seed": (_scenario("ab", 11), 0.5),
        "an 'srm' log with another seed": (_scenario("srm", 12), 0.5),
    }
    skewed = _scenario("aa", 13)
    drop = (skewed["variant"] == "treatment") & (skewed["user_id"] % 4 != 0)
    skewed = skewed[~drop].reset_index(drop=True)  # a 20/80 split by design
    frames["a 20/80 split checked with share=0.2"] = (skewed, 0.2)
    frames["the same 20/80 split checked with share=0.5"] = (skewed, 0.5)
    got = {}
    for label, (frame, share) in frames.items():
        p = number(fn(frame.copy(), share), f"srm_pvalue on {label}", finite=True)
        expect(
            0 <= p <= 1,
            f"srm_pvalue returned {p:.3g} on {label}: a p-value lies in [0, 1]; return .pvalue, "
            "not the statistic",
        )
        ref = _srm_reference(frame, share)
        expect(
            _near(p, ref, max(0.005, 0.25 * ref)),
            f"on {label} srm_pvalue gives {p:.3g}, not the chi-square p-value of the arm sizes "
            "against the intended share: count users per arm (not conversions) and use share",
        )
        got[label] = p
    good, bad = got["the 'ab' experiment"], got["the broken 'srm' split"]
    expect(
        good >= SRM_ALPHA and bad < SRM_ALPHA, "the good and the broken split are not told apart"
    )
    return f"p = {good:.2f} for the good split, {bad:.1e} for the broken one: caught"


def _check_analysis(fn: Any, frame: Any, label: str, alpha: float) -> dict[str, float]:
    result = _record(fn(frame.copy(), alpha), ANALYSIS_KEYS, "analyse")
    got = {
        k: number(result[k], f"analyse(...)[{k!r}] on {label}", finite=True) for k in ANALYSIS_KEYS
    }
    ref = _two_proportions(frame, alpha)
    for arm in ("control_rate", "treatment_rate"):
        expect(
            _near(got[arm], ref[arm], 1e-9),
            f"{arm} on {label} is {got[arm]:.4f}; it is the share of converted users in that arm",
        )
    if ref["lift"] and _near(got["lift"], -ref["lift"], 1e-9):
        raise CheckError(f"lift on {label} has the wrong sign: treatment minus control")
    if _near(got["lift"], ref["lift"] / ref["control_rate"], 1e-9):
        raise CheckError(
            f"lift on {label} is relative; report the absolute difference in conversion rate"
        )
    expect(_near(got["lift"], ref["lift"], 1e-9), f"lift on {label} is not treatment - control")
    for side in ("ci_low", "ci_high"):
        expect(
            _near(got[side], ref[side], 2e-4),
            f"{side} on {label} ({got[side]:.4f}) is not the {1 - alpha:.0%} confidence interval "
            "of the difference in conversion rates (two-sided, uses alpha)",
        )
    if ref["p_value"] > 1e-3 and _near(got["p_value"], ref["p_value"] / 2, 2e-3):
        raise CheckError(f"p_value on {label} is one-sided; the test should be two-sided")
    expect(
        _near(got["p_value"], ref["p_value"], 2e-3),
        f"p_value on {label} ({got['p_value']:.4f}) is not the two-sided two-proportion z-test's",
    )
    return got


@exercise(
    "m08.ex3",
    "Lift, confidence interval and p-value",
    hints=(
        "Per arm you need two numbers: how many users converted and how many users there are.",
        "`proportions_ztest([conv_t, conv_c], [n_t, n_c])` gives (z, p); "
        "`confint_proportions_2indep(conv_t, n_t, conv_c, n_c, method='wald', alpha=alpha)` "
        "gives the interval for treatment - control.",
        "Group with `frame.groupby('variant')['converted'].agg(['sum', 'count'])`; return plain "
        "numbers under the six keys, lift = treatment rate - control rate.",
    ),
)
def analysis(analyse: Any) -> str:
    fn = a_function(analyse, "analyse")
    cases = [
        ("ab", data.SEED, 0.05, "the 'ab' experiment"),
        ("aa", data.SEED, 0.05, "the 'aa' experiment"),
        ("ab", 21, 0.05, "an 'ab' log with seed 21"),
        ("ab", data.SEED, 0.10, "the 'ab' experiment with alpha=0.1"),
    ]
    results = {}
    for kind, seed, alpha, label in cases:
        scenario = data.ab_test(kind, seed=seed)
        got = _check_analysis(fn, scenario.frame, label, alpha)
        se = _two_proportions(scenario.frame, alpha)["se"]
        expect(
            abs(got["lift"] - scenario.true_lift) <= 4.5 * se,
            f"the lift on {label} is far from the scenario's true lift",
        )
        results[label] = got
    swapped = _scenario("ab", 22)
    swapped["variant"] = swapped["variant"].map({"control": "treatment", "treatment": "control"})
    _check_analysis(fn, swapped, "a log where the challenger loses", 0.05)
    ab = results["the 'ab' experiment"]
    expect(
        ab["ci_low"] <= data.ab_test("ab").true_lift <= ab["ci_high"],
        "the interval on the 'ab' experiment misses the true lift",
    )
    return (
        f"lift {ab['lift']:+.4f}, 95 % CI [{ab['ci_low']:+.4f}, {ab['ci_high']:+.4f}] covers "
        f"the true {data.ab_test('ab').true_lift:+.3f}; p = {ab['p_value']:.3f}"
    )


@exercise(
    "m08.ex4",
    "Sample size for a minimum detectable effect",
    hints=(
        "Power analysis: how many users per arm so that a real lift of mde is found with "
        "probability `power` by a two-sided test at level alpha.",
        "statsmodels measures the effect of two proportions as Cohen's h: "
        "`proportion_effectsize(base + mde, base)`; `NormalIndPower().solve_power(effect_size=h, "
        "alpha=alpha, power=power, ratio=1.0)` solves for users per arm.",
        "solve_power returns a float: round it up with math.ceil and return an int.",
    ),
)
def sample_size(sample_size: Any) -> str:
    fn = a_function(sample_size, "sample_size")
    cases = [(0.10, 0.015, 0.05, 0.8), (0.10, 0.03, 0.05, 0.9), (0.05, 0.01, 0.01, 0.8),
             (0.30, 0.02, 0.10, 0.8)]  # fmt: skip
    sizes = []
    for base, mde, alpha, power in cases:
        call = f"sample_size({base}, {mde}, alpha={alpha}, power={power})"
        n = fn(base, mde, alpha=alpha, power=power)
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise CheckError(
                f"{call} returned {n!r:.40}: return a whole number of users (round up with "
                "math.ceil, then int)"
            )
        ref = _n_per_arm(base, mde, alpha, power)
        ratio = int(n) / ref
        if _near(ratio, 2, 0.06):
            raise CheckError(f"{call} looks like the total of both arms; return users per arm")
        if _near(ratio, 0.5, 0.03):
            raise CheckError(f"{call} is half of what each arm needs")
        one_sided = _n_per_arm(base, mde, 2 * alpha, power)
        if _near(int(n), one_sided, 0.01 * one_sided):
            raise CheckError(f"{call} is the size for a one-sided test; use a two-sided one")
        expect(
            _near(ratio, 1, 0.02),
            f"{call} returned {int(n):,}, {ratio - 1:+.0%} off the two-sided two-proportion "
            "sample size per arm; pass alpha and power through",
        )
        sizes.append(int(n))
    return f"{sizes[0]:,} users per arm find +1.5 points over 10 % with 80 % power"


def _rates(fn: Any, n_per_arm: int, looks: int, alpha: float, seed: int) -> dict[str, float]:
    call = f"peeking_fpr({n_per_arm}, {looks}, alpha={alpha}, n_sims=4000, seed={seed})"
    result = _record(
        fn(n_per_arm, looks, alpha=alpha, n_sims=4000, seed=seed), ("fixed", "peeking"), call
    )
    got = {k: number(result[k], f"{call}[{k!r}]", finite=True) for k in ("fixed", "peeking")}
    for key, value in got.items():
        expect(0 <= value <= 1, f"{call}[{key!r}] = {value:.3g} is not a rate between 0 and 1")
    return got


@exercise(
    "m08.ex5",
    "The peeking problem, simulated",
    hints=(
        "Simulate many A/A tests at once: arrays of shape (n_sims, looks), one row per test, one "
        "column per look. Draw the conversions that arrive between two looks with "
        "rng.binomial, then cumsum along the looks.",
        "At each look compute the pooled two-proportion z from the running totals; a look is "
        "significant when |z| > norm.isf(alpha / 2).",
        "fixed = the share of rows significant at the last look; peeking = the share of rows "
        "significant at any look (`.any(axis=1).mean()`). Seed with np.random.default_rng(seed).",
    ),
)
def peeking(peeking_fpr: Any) -> str:
    fn = a_function(peeking_fpr, "peeking_fpr")
    sims = 4000
    seen = {}
    for n_per_arm, looks, alpha, seed in ((5000, 10, 0.05, 1), (3000, 3, 0.05, 2),
                                         (4000, 1, 0.05, 3), (5000, 5, 0.01, 4)):  # fmt: skip
        got = _rates(fn, n_per_arm, looks, alpha, seed)
        sd_fixed = math.sqrt(alpha * (1 - alpha) / sims)
        expect(
            _near(got["fixed"], alpha, 4.5 * sd_fixed + 0.003),
            f"with {looks} looks and alpha={alpha} the fixed-horizon rate is {got['fixed']:.3f}; "
            "one test at the end of an A/A experiment is wrong about alpha of the time",
        )
        theory = peeking_theory(looks, alpha)
        sd = math.sqrt(theory * (1 - theory) / sims)
        expect(
            _near(got["peeking"], theory, 4.5 * sd + 0.008),
            f"with {looks} looks and alpha={alpha} the peeking rate is {got['peeking']:.3f}, far "
            "from the rate of stopping at the first significant look: count a simulated test "
            "once if any of its looks is significant",
        )
        if looks == 1:
            expect(
                got["peeking"] == got["fixed"],
                "with one look, peeking and the fixed horizon are the same test and should agree",
            )
        seen[(looks, alpha)] = got
    again = _rates(fn, 5000, 10, 0.05, 1)
    expect(again == seen[(10, 0.05)], "the same seed gave different rates: seed the generator")
    ten = seen[(10, 0.05)]
    return (
        f"10 looks at an A/A test: {ten['peeking']:.1%} false positives vs "
        f"{ten['fixed']:.1%} with one look (theory {peeking_theory(10, 0.05):.1%} and 5 %)"
    )


def _revenue_cut(seed: int, factor: float) -> Any:
    """A challenger that converts more but sells smaller baskets."""
    frame = _scenario("ab", seed)
    treated = frame["variant"] == "treatment"
    frame.loc[treated, "revenue"] = (frame.loc[treated, "revenue"] * factor).round(2)
    return frame


def _check_guardrail(fn: Any, frame: Any, label: str, metric: str, alpha: float) -> bool:
    result = _record(fn(frame.copy(), metric=metric, alpha=alpha), GUARDRAIL_KEYS, "guardrail")
    passed = result["passed"]
    expect(
        is_bool(passed),
        f"guardrail(...)['passed'] should be True or False, not {passed!r:.40}",
    )
    got = {
        k: number(result[k], f"guardrail(...)[{k!r}] on {label}", finite=True)
        for k in GUARDRAIL_KEYS[:3]
    }
    ref = _welch(frame, metric, alpha)
    expect(
        not (ref["diff"] and _near(got["diff"], -ref["diff"], 1e-9)),
        f"diff on {label} has the wrong sign: treatment minus control",
    )
    expect(
        _near(got["diff"], ref["diff"], 1e-9),
        f"diff on {label} is not the difference in mean {metric} per user (all users, "
        "converted or not) between treatment and control",
    )
    for side in ("ci_low", "ci_high"):
        expect(
            _near(got[side], ref[side], 0.02 * ref["se"]),
            f"{side} on {label} is not the {1 - alpha:.0%} Welch interval of the difference "
            "(two-sided, uses alpha)",
        )
    drop = ref["ci_high"] < 0
    expect(
        bool(passed) != drop,
        f"on {label} the guardrail says passed={bool(passed)}; it fails exactly when the "
        f"interval lies below zero (a significant drop) and passes otherwise, also on a rise",
    )
    return bool(passed)


def _converts_less(seed: int) -> Any:
    """Arms swapped, so the challenger converts less, with baskets big enough that revenue per
    user still rises 5 %: only the sign of the conversion lift says no."""
    frame = _scenario("ab", seed)
    frame["variant"] = frame["variant"].map({"control": "treatment", "treatment": "control"})
    treated = frame["variant"] == "treatment"
    per_user = frame.groupby("variant")["revenue"].mean()
    scale = 1.05 * per_user["control"] / per_user["treatment"]
    frame.loc[treated, "revenue"] = (frame.loc[treated, "revenue"] * scale).round(2)
    return frame


def _frames_for_decide() -> list[tuple[str, Any, int, float]]:
    ab = _scenario("ab")
    return [
        ("the 'ab' experiment (plan 6,700 per arm)", ab, 6700, 0.05),
        ("the 'ab' experiment after 8,000 users", ab.head(8000), 6700, 0.05),
        ("the broken 'srm' split", _scenario("srm"), 6700, 0.05),
        ("the 'aa' experiment", _scenario("aa"), 6700, 0.05),
        ("a challenger that cuts revenue per user by a third", _revenue_cut(1, 0.65), 6700, 0.05),
        ("a challenger that converts less", _converts_less(2), 6700, 0.05),
        ("an 'ab' log with seed 1 (plan 6,700)", _scenario("ab", 1), 6700, 0.05),
        ("an 'ab' log with seed 1 planned for 12,000 per arm", _scenario("ab", 1), 12000, 0.05),
        ("the 'ab' experiment at alpha=0.01", ab, 6700, 0.01),
    ]


def expected_decision(frame: Any, n_per_arm: int, alpha: float) -> str:
    """The rules of the notebook, in order, on the check's own statistics."""
    if _srm_reference(frame, 0.5) < SRM_ALPHA:
        return "don't ship"
    if frame["variant"].value_counts().reindex(list(ARMS), fill_value=0).min() < n_per_arm:
        return "keep running"
    if _welch(frame, "revenue", alpha)["ci_high"] < 0:
        return "don't ship"
    ref = _two_proportions(frame, alpha)
    return "ship" if ref["p_value"] < alpha and ref["lift"] > 0 else "don't ship"


_WHY = {
    "the broken 'srm' split": "a broken split makes every other number untrustworthy",
    "the 'ab' experiment after 8,000 users": "fewer users than planned per arm: no decision yet",
    "a challenger that cuts revenue per user by a third": "revenue per user fails the guardrail",
    "a challenger that converts less": "a significant lift in the wrong direction is no win",
    "an 'ab' log with seed 1 planned for 12,000 per arm": "use n_per_arm, the planned size",
    "the 'ab' experiment at alpha=0.01": "use alpha",
}


@exercise(
    "m08.ex6",
    "A guardrail and the decision",
    hints=(
        "guardrail is a Welch t-test on the metric per user; decide applies the rules in order: "
        "broken split, not enough users, guardrail, then the conversion result.",
        "`stats.ttest_ind(t, c, equal_var=False).confidence_interval(1 - alpha)` gives "
        "(low, high) for mean(t) - mean(c); passed is False only when high < 0.",
        'In decide: srm_pvalue(frame) < SRM_ALPHA -> "don\'t ship"; the smaller arm under '
        "n_per_arm -> 'keep running'; guardrail fails -> \"don't ship\"; analyse's p_value < "
        "alpha and lift > 0 -> 'ship'; else \"don't ship\".",
    ),
)
def decision(guardrail: Any, decide: Any) -> str:
    guard = a_function(guardrail, "guardrail")
    fn = a_function(decide, "decide")
    ab = _scenario("ab")
    _check_guardrail(guard, ab, "the 'ab' experiment", "revenue", 0.05)
    cut = _revenue_cut(1, 0.65)
    _check_guardrail(guard, cut, "a challenger that cuts revenue per user", "revenue", 0.05)
    _check_guardrail(guard, cut, "the same log, metric='converted'", "converted", 0.05)
    _check_guardrail(guard, _scenario("aa"), "the 'aa' experiment at alpha=0.01", "revenue", 0.01)
    for label, frame, n_per_arm, alpha in _frames_for_decide():
        got = fn(frame.copy(), n_per_arm, alpha=alpha)
        expect(
            isinstance(got, str) and got in DECISIONS,
            f"decide should return one of {', '.join(repr(d) for d in DECISIONS)}, not {got!r:.40}",
        )
        want = expected_decision(frame, n_per_arm, alpha)
        why = f": {_WHY[label]}" if label in _WHY else ""
        expect(got == want, f"on {label} decide says {got!r}{why}")
    return "ships the challenger, and holds back broken, early, harmful or losing experiments"


question(
    Question(
        "m08.q1", "choice", "4baf1f15f8d86eadc764", "Why hash-based assignment", ("a", "b", "c")
    )
)
question(
    Question("m08.q2", "number", "7a19cfda05a5cbd7b2e6", "False positives with 10 looks", tolerance=0.02,
             hint="run your peeking_fpr with looks=10; a rate, not a percent")
)  # fmt: skip
question(
    Question("m08.q3", "number", "3478e1bfda4774ee334d", "Users per arm for +1 point", tolerance=300,
             hint="sample_size(0.10, 0.01): users per arm, not in total")
)  # fmt: skip
question(
    Question(
        "m08.q4",
        "choice",
        "0384020e5e5d01431efc",
        "What to do when the SRM check fires",
        ("a", "b", "c"),
    )
)
