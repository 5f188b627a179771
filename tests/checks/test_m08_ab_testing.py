"""m08 checks, called as the A/B-testing notebook calls them, with the notebook's solutions,
plausible mistakes and the untouched stubs. No MLflow needed: the checks use course.data."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pandas as pd
import pytest
from _assert import assert_one_tick, assert_wrong
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

import course
from course.checks import m08_ab_testing as m08

BASE = 0.10
SRM_ALPHA = 0.001


def stub(*args, **kwargs):
    raise NotImplementedError()


# --- the notebook's solutions ----------------------------------------------------------------


def bucket(key: str) -> float:
    return int(hashlib.sha256(key.encode()).hexdigest()[:15], 16) / 16**15


def assign(user_id: int, experiment: str, share: float = 0.5) -> str:
    return "treatment" if bucket(f"{experiment}:{user_id}") < share else "control"


def srm_pvalue(frame: pd.DataFrame, share: float = 0.5) -> float:
    counts = frame["variant"].value_counts()
    observed = [counts.get("control", 0), counts.get("treatment", 0)]
    return float(stats.chisquare(observed, [len(frame) * (1 - share), len(frame) * share]).pvalue)


def analyse(frame: pd.DataFrame, alpha: float = 0.05) -> dict:
    arms = frame.groupby("variant")["converted"].agg(["sum", "count"]).loc[["treatment", "control"]]
    conv, nobs = arms["sum"].to_numpy(), arms["count"].to_numpy()
    _, p = proportions_ztest(conv, nobs)
    low, high = confint_proportions_2indep(
        conv[0], nobs[0], conv[1], nobs[1], method="wald", alpha=alpha
    )
    t, c = conv / nobs
    return {"control_rate": c, "treatment_rate": t, "lift": t - c, "ci_low": low,
            "ci_high": high, "p_value": p}  # fmt: skip


def sample_size(base: float, mde: float, alpha: float = 0.05, power: float = 0.8) -> int:
    h = proportion_effectsize(base + mde, base)
    return int(np.ceil(NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power)))


def significant_looks(n_per_arm, looks, alpha, n_sims, seed, half_alpha=True):
    rng = np.random.default_rng(seed)
    batch = n_per_arm // looks
    n = batch * np.arange(1, looks + 1)
    c = rng.binomial(batch, BASE, (n_sims, looks)).cumsum(axis=1)
    t = rng.binomial(batch, BASE, (n_sims, looks)).cumsum(axis=1)
    pooled = (c + t) / (2 * n)
    z = (t - c) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    return np.abs(z) > stats.norm.isf(alpha / 2 if half_alpha else alpha)


def peeking_fpr(n_per_arm, looks, alpha=0.05, n_sims=2000, seed=0) -> dict:
    sig = significant_looks(n_per_arm, looks, alpha, n_sims, seed)
    return {"fixed": float(sig[:, -1].mean()), "peeking": float(sig.any(axis=1).mean())}


def guardrail(frame: pd.DataFrame, metric: str = "revenue", alpha: float = 0.05) -> dict:
    c = frame.loc[frame["variant"] == "control", metric]
    t = frame.loc[frame["variant"] == "treatment", metric]
    ci = stats.ttest_ind(t, c, equal_var=False).confidence_interval(1 - alpha)
    return {"diff": t.mean() - c.mean(), "ci_low": ci.low, "ci_high": ci.high,
            "passed": bool(ci.high >= 0)}  # fmt: skip


def make_decide(srm=True, plan=True, guard=True, sign=True, use_alpha=True, guard_fn=guardrail):
    """The notebook's decide, with one of its rules switched off for the wrong answers."""

    def decide(frame: pd.DataFrame, n_per_arm: int, alpha: float = 0.05) -> str:
        a = alpha if use_alpha else 0.05
        if srm and srm_pvalue(frame) < SRM_ALPHA:
            return "don't ship"
        if frame["variant"].value_counts().min() < (n_per_arm if plan else 6700):
            return "keep running"
        if guard and not guard_fn(frame, "revenue", a)["passed"]:
            return "don't ship"
        r = analyse(frame, a)
        return "ship" if r["p_value"] < a and (r["lift"] > 0 or not sign) else "don't ship"

    return decide


decide = make_decide()


def passes(capsys, exercise_id: str, **answers) -> None:
    capsys.readouterr()
    course.check(exercise_id, **answers)
    assert_one_tick(capsys, exercise_id)


def not_attempted(exercise_id: str, **answers) -> None:
    with pytest.raises(course.NotAttempted):
        course.check(exercise_id, **answers)


# --- m08.ex1 assign --------------------------------------------------------------------------


def test_ex1_solution_passes_with_one_line(course_home, capsys):
    passes(capsys, "m08.ex1", assign=assign)


def test_ex1_wrong_answers(course_home):
    def unstable(user_id, experiment, share=0.5):
        return "treatment" if random.random() < share else "control"

    def unsalted(user_id, experiment, share=0.5):
        return assign(user_id, "one-salt-for-all", share)

    def modulo(user_id, experiment, share=0.5):
        return "treatment" if user_id % 100 < share * 100 else "control"

    def inverted(user_id, experiment, share=0.5):
        return "control" if bucket(f"{experiment}:{user_id}") < share else "treatment"

    def salted_by_share(user_id, experiment, share=0.5):
        return "treatment" if bucket(f"{experiment}:{share}:{user_id}") < share else "control"

    calls = iter(range(10**9))

    def alternating(user_id, experiment, share=0.5):
        return ("control", "treatment")[next(calls) % 2]

    assert_wrong("m08.ex1", "a second call moved", assign=unstable)
    assert_wrong("m08.ex1", "salt the hash", assign=unsalted)
    assert_wrong("m08.ex1", "salt the hash", assign=modulo)
    assert_wrong("m08.ex1", "with share=0.1", assign=inverted)
    assert_wrong("m08.ex1", "ramp-up only adds", assign=salted_by_share)
    assert_wrong("m08.ex1", "another order", assign=alternating)
    assert_wrong("m08.ex1", "'control' or 'treatment'", assign=lambda u, e, s=0.5: u % 2 == 0)
    assert_wrong("m08.ex1", "should be a function", assign="assign")


def test_ex1_not_attempted(course_home):
    not_attempted("m08.ex1", assign=None)
    not_attempted("m08.ex1", assign=stub)


# --- m08.ex2 srm_pvalue ----------------------------------------------------------------------


def test_ex2_solution_passes_with_one_line(course_home, capsys):
    passes(capsys, "m08.ex2", srm_pvalue=srm_pvalue)


def test_ex2_an_exact_binomial_test_passes_too(course_home, capsys):
    def exact(frame, share=0.5):
        k = int((frame["variant"] == "treatment").sum())
        return stats.binomtest(k, len(frame), share).pvalue

    passes(capsys, "m08.ex2", srm_pvalue=exact)


def test_ex2_wrong_answers(course_home):
    def fifty_fifty(frame, share=0.5):
        return srm_pvalue(frame, 0.5)

    def statistic(frame, share=0.5):
        counts = frame["variant"].value_counts()
        expected = [len(frame) * (1 - share), len(frame) * share]
        return stats.chisquare([counts["control"], counts["treatment"]], expected).statistic

    def conversions(frame, share=0.5):
        return stats.chi2_contingency(pd.crosstab(frame["variant"], frame["converted"])).pvalue

    assert_wrong("m08.ex2", "20/80 split checked with share=0.2", srm_pvalue=fifty_fifty)
    assert_wrong("m08.ex2", "return .pvalue, not the statistic", srm_pvalue=statistic)
    assert_wrong("m08.ex2", "count users per arm", srm_pvalue=conversions)
    assert_wrong("m08.ex2", "should be a number", srm_pvalue=lambda f, s=0.5: {"p": 0.3})


def test_ex2_not_attempted(course_home):
    not_attempted("m08.ex2", srm_pvalue=None)
    not_attempted("m08.ex2", srm_pvalue=stub)


# --- m08.ex3 analyse -------------------------------------------------------------------------


def test_ex3_solution_passes_with_one_line(course_home, capsys):
    passes(capsys, "m08.ex3", analyse=analyse)


def altered(**change):
    def wrong(frame, alpha=0.05):
        result = analyse(frame, alpha)
        return result | {k: f(result, frame, alpha) for k, f in change.items()}

    return wrong


def test_ex3_wrong_answers(course_home):
    relative = altered(lift=lambda r, f, a: r["lift"] / r["control_rate"])
    flipped = altered(lift=lambda r, f, a: -r["lift"])
    one_sided = altered(p_value=lambda r, f, a: r["p_value"] / 2)
    fixed_alpha = altered(
        ci_low=lambda r, f, a: analyse(f, 0.05)["ci_low"],
        ci_high=lambda r, f, a: analyse(f, 0.05)["ci_high"],
    )

    def t_interval(frame, alpha=0.05):  # the lift's interval from a t-test on revenue
        ci = guardrail(frame, "revenue", alpha)
        return analyse(frame, alpha) | {"ci_low": ci["ci_low"], "ci_high": ci["ci_high"]}

    assert_wrong("m08.ex3", "is relative", analyse=relative)
    assert_wrong("m08.ex3", "wrong sign", analyse=flipped)
    assert_wrong("m08.ex3", "one-sided", analyse=one_sided)
    assert_wrong("m08.ex3", "with alpha=0.1.*uses alpha", analyse=fixed_alpha)
    assert_wrong("m08.ex3", "confidence interval of the difference", analyse=t_interval)
    assert_wrong("m08.ex3", "lacks key.*p_value", analyse=lambda f, a=0.05: {"lift": 0.01})


def test_ex3_not_attempted(course_home):
    not_attempted("m08.ex3", analyse=None)
    not_attempted("m08.ex3", analyse=stub)


# --- m08.ex4 sample_size ---------------------------------------------------------------------


def test_ex4_solution_passes_with_one_line(course_home, capsys):
    passes(capsys, "m08.ex4", sample_size=sample_size)


def test_ex4_wrong_answers(course_home):
    def total(base, mde, alpha=0.05, power=0.8):
        return 2 * sample_size(base, mde, alpha, power)

    def one_sided(base, mde, alpha=0.05, power=0.8):
        return sample_size(base, mde, 2 * alpha, power)

    def fixed_power(base, mde, alpha=0.05, power=0.8):
        return sample_size(base, mde, alpha, 0.8)

    def unrounded(base, mde, alpha=0.05, power=0.8):
        h = proportion_effectsize(base + mde, base)
        return NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power)

    assert_wrong("m08.ex4", "total of both arms", sample_size=total)
    assert_wrong("m08.ex4", "one-sided", sample_size=one_sided)
    assert_wrong("m08.ex4", r"power=0.9\) returned .* off", sample_size=fixed_power)
    assert_wrong("m08.ex4", "whole number of users", sample_size=unrounded)


def test_ex4_not_attempted(course_home):
    not_attempted("m08.ex4", sample_size=None)
    not_attempted("m08.ex4", sample_size=stub)


# --- m08.ex5 peeking_fpr ---------------------------------------------------------------------


def test_ex5_solution_passes_with_one_line(course_home, capsys):
    passes(capsys, "m08.ex5", peeking_fpr=peeking_fpr)


@pytest.mark.parametrize("looks", [1, 2, 3, 5, 10, 20])
def test_peeking_theory_matches_the_published_rates(looks):
    # Armitage, McPherson and Rowe (1969): repeated significance tests at alpha 0.05.
    published = {1: 0.05, 2: 0.083, 3: 0.107, 5: 0.142, 10: 0.193, 20: 0.248}
    assert abs(m08.peeking_theory(looks, 0.05) - published[looks]) < 0.001


def test_ex5_wrong_answers(course_home):
    def averaged(n_per_arm, looks, alpha=0.05, n_sims=2000, seed=0):
        sig = significant_looks(n_per_arm, looks, alpha, n_sims, seed)
        return {"fixed": float(sig[:, -1].mean()), "peeking": float(sig.mean())}

    def one_sided_quantile(n_per_arm, looks, alpha=0.05, n_sims=2000, seed=0):
        sig = significant_looks(n_per_arm, looks, alpha, n_sims, seed, half_alpha=False)
        return {"fixed": float(sig[:, -1].mean()), "peeking": float(sig.any(axis=1).mean())}

    def ten_looks(n_per_arm, looks, alpha=0.05, n_sims=2000, seed=0):
        return peeking_fpr(n_per_arm, 10, alpha, n_sims, seed)

    def unseeded(n_per_arm, looks, alpha=0.05, n_sims=2000, seed=0):
        return peeking_fpr(n_per_arm, looks, alpha, n_sims, seed=None)

    def percent(n_per_arm, looks, alpha=0.05, n_sims=2000, seed=0):
        return {k: 100 * v for k, v in peeking_fpr(n_per_arm, looks, alpha, n_sims, seed).items()}

    assert_wrong("m08.ex5", "any of its looks is significant", peeking_fpr=averaged)
    assert_wrong("m08.ex5", "with 3 looks", peeking_fpr=ten_looks)
    assert_wrong("m08.ex5", "seed the generator", peeking_fpr=unseeded)
    assert_wrong("m08.ex5", "not a rate between 0 and 1", peeking_fpr=percent)
    assert_wrong("m08.ex5", "the fixed-horizon rate", peeking_fpr=one_sided_quantile)


def test_ex5_not_attempted(course_home):
    not_attempted("m08.ex5", peeking_fpr=None)
    not_attempted("m08.ex5", peeking_fpr=stub)


# --- m08.ex6 guardrail and decide ------------------------------------------------------------


def test_ex6_solution_passes_with_one_line(course_home, capsys):
    passes(capsys, "m08.ex6", guardrail=guardrail, decide=decide)


def test_ex6_decisions_are_clear_cut():
    """Each log of the check is far from every threshold, so no sound method flips a decision."""
    for label, frame, n_per_arm, alpha in m08._frames_for_decide():
        assert decide(frame, n_per_arm, alpha) == m08.expected_decision(frame, n_per_arm, alpha)
        srm = m08._srm_reference(frame, 0.5)
        assert srm < SRM_ALPHA / 10 or srm > 0.05, label
        if srm > SRM_ALPHA and frame["variant"].value_counts().min() >= n_per_arm:
            r = analyse(frame, alpha)
            assert r["p_value"] < alpha / 1.5 or r["p_value"] > 1.5 * alpha, label


def test_ex6_wrong_guardrails(course_home):
    def two_sided(frame, metric="revenue", alpha=0.05):
        g = guardrail(frame, metric, alpha)
        return g | {"passed": g["ci_low"] <= 0 <= g["ci_high"]}

    def per_order(frame, metric="revenue", alpha=0.05):
        return guardrail(frame[frame["converted"] == 1], metric, alpha)

    def always_revenue(frame, metric="revenue", alpha=0.05):
        return guardrail(frame, "revenue", alpha)

    def flipped(frame, metric="revenue", alpha=0.05):
        g = guardrail(frame, metric, alpha)
        return g | {"diff": -g["diff"]}

    def fixed_alpha(frame, metric="revenue", alpha=0.05):
        return guardrail(frame, metric, 0.05)

    def text(frame, metric="revenue", alpha=0.05):
        return guardrail(frame, metric, alpha) | {"passed": "yes"}

    for wrong, match in [
        (two_sided, "also on a rise"),
        (per_order, "all users, converted or not"),
        (always_revenue, "metric='converted'"),
        (flipped, "wrong sign"),
        (fixed_alpha, "alpha=0.01.*uses alpha"),
        (text, "True or False"),
    ]:
        assert_wrong("m08.ex6", match, guardrail=wrong, decide=decide)


def test_ex6_wrong_decisions(course_home):
    def shout(frame, n_per_arm, alpha=0.05):
        return decide(frame, n_per_arm, alpha).upper()

    for wrong, match in [
        (make_decide(srm=False), "broken 'srm' split decide says 'ship'"),
        (make_decide(plan=False), "use n_per_arm"),
        (make_decide(guard=False), "fails the guardrail"),
        (make_decide(sign=False), "wrong direction"),
        (make_decide(use_alpha=False), "at alpha=0.01 decide says 'ship': use alpha"),
        (shout, "should return one of"),
    ]:
        assert_wrong("m08.ex6", match, guardrail=guardrail, decide=wrong)


def test_ex6_not_attempted(course_home):
    not_attempted("m08.ex6", guardrail=None, decide=None)
    not_attempted("m08.ex6", guardrail=stub, decide=stub)
    not_attempted("m08.ex6", guardrail=guardrail, decide=stub)
    not_attempted("m08.ex6", guardrail=guardrail, decide=None)


# --- quiz and hints --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qid", "right", "wrong"),
    [("m08.q1", "c", "b"), ("m08.q2", 0.19, 0.05), ("m08.q3", 14745, 29490), ("m08.q4", "a", "c")],
)
def test_quiz(course_home, capsys, qid, right, wrong):
    course.quiz.check(qid, right)
    assert_one_tick(capsys, qid)
    with pytest.raises(course.CheckError):
        course.quiz.check(qid, wrong)
    with pytest.raises(course.NotAttempted):
        course.quiz.check(qid, None)


def test_numeric_answers_accept_the_noise_of_a_simulation(course_home):
    for rate in (0.18, 0.2, peeking_fpr(10_000, 10, n_sims=4000)["peeking"]):
        course.quiz.check("m08.q2", round(rate, 2))
    course.quiz.check("m08.q3", sample_size(BASE, 0.01))
    course.quiz.check("m08.q3", round(m08._n_per_arm(BASE, 0.01, 0.05, 0.8)))
