"""The ground truths the checks share (course/checks/_drift, _metrics, _values), tested directly."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from course import _names, _setup
from course._errors import CheckError
from course.checks import _drift, _metrics, _values


def _windows(shift: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)

    def window(n: int, moved: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "steady": rng.normal(10, 2, n),
                "moved": rng.normal(10 + moved, 2, n),
                "few": rng.integers(0, 3, n),
                "colour": rng.choice(["red", "green", "blue"], n),
            }
        )

    return window(3000, 0.0), window(2000, shift)


def test_a_shifted_numeric_column_drifts_and_an_unshifted_one_does_not() -> None:
    ref, cur = _windows(shift=2.0)
    flags = _drift.flags(ref, cur, numeric=["steady", "moved", "few"], categorical=["colour"])
    assert flags.sure == {"moved"}
    assert not flags.border
    assert flags.share == 0.25
    assert flags.allows_share(0.25) and not flags.allows_share(0.5)


def test_no_shift_flags_nothing() -> None:
    ref, cur = _windows(shift=0.0)
    flags = _drift.flags(ref, cur, numeric=["steady", "moved", "few"], categorical=["colour"])
    assert flags.sure == set() and flags.share == 0.0


def test_column_score_uses_the_presets_method() -> None:
    ref, cur = _windows(shift=2.0)
    moved = _drift.column_score(ref["moved"], cur["moved"], categorical=False)
    assert moved == pytest.approx(_drift.normed_wasserstein(ref["moved"], cur["moved"]))
    assert moved > _drift.THRESHOLD
    # a numeric column with 5 values or fewer is scored on its frequencies, like a category
    few = _drift.column_score(ref["few"], cur["few"], categorical=False)
    assert few == pytest.approx(_drift.frequency_distance(ref["few"], cur["few"]))


def test_a_score_near_the_threshold_may_go_either_way() -> None:
    ref = pd.DataFrame({"x": np.linspace(0, 1, 2001)})
    std = float(np.std(ref["x"]))
    cur = ref.assign(x=ref["x"] + _drift.THRESHOLD * std)  # normed Wasserstein = THRESHOLD
    flags = _drift.flags(ref, cur, numeric=["x"], categorical=[])
    assert flags.border == {"x"} and not flags.sure
    assert flags.allows_share(0.0) and flags.allows_share(1.0)


@pytest.mark.parametrize("seed", range(5))
def test_rank_auc_is_sklearns_roc_auc_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 500)
    scores = np.round(rng.random(500) + 0.3 * labels, 1)  # rounded: many ties
    assert len(np.unique(scores)) < 30
    assert _metrics.rank_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    as_series = pd.Series(labels.astype(bool))
    assert _metrics.rank_auc(as_series, scores) == pytest.approx(roc_auc_score(labels, scores))


def test_rank_auc_of_one_class_is_nan() -> None:
    assert math.isnan(_metrics.rank_auc([1, 1, 1], [0.2, 0.5, 0.9]))


@pytest.mark.parametrize(
    "value, expected",
    [(3, 3.0), (0.25, 0.25), (np.float64(0.5), 0.5), (np.int64(7), 7.0), (np.array(1.5), 1.5)],
)
def test_number_accepts_real_numbers(value, expected) -> None:
    assert _values.number(value, "x") == expected


@pytest.mark.parametrize(
    "value, shown",
    [("0.3", "a str ('0.3')"), (True, "a bool (True)"), (None, "a NoneType (None)"),
     ([0.1], "a list ([0.1])"), ({"p": 0.3}, "a dict ({'p': 0.3})")],
)  # fmt: skip
def test_number_refuses_what_is_not_a_number(value, shown) -> None:
    with pytest.raises(CheckError, match=r"^drift_share should be a number, not ") as caught:
        _values.number(value, "drift_share")
    assert str(caught.value).endswith(shown)
    with pytest.raises(CheckError, match=r"^prediction_drift should return a number"):
        _values.number(value, "prediction_drift", verb="return")


def test_number_can_insist_on_a_finite_value() -> None:
    assert math.isnan(_values.number(math.nan, "p"))
    with pytest.raises(CheckError, match=r"^p is nan: expected a finite number$"):
        _values.number(math.nan, "p", finite=True)


def test_as_float_reads_text_and_says_the_callers_message() -> None:
    assert _values.as_float("0.25", "unused") == 0.25
    assert _values.as_float(np.float32(2), "unused") == 2.0
    for bad in ("abc", None, [1, 2]):
        with pytest.raises(CheckError, match=r"^tag auc='x' is not a number$"):
            _values.as_float(bad, "tag auc='x' is not a number")


@pytest.mark.parametrize("value", [True, False, np.bool_(True), np.array([1.0]) > 0])
def test_is_bool_takes_python_and_numpy_bools(value) -> None:
    assert _values.is_bool(value if not isinstance(value, np.ndarray) else value[0])


@pytest.mark.parametrize("value", [1, 0, 1.0, "True", None, np.int64(1)])
def test_is_bool_refuses_the_rest(value) -> None:
    assert not _values.is_bool(value)


def test_show_keeps_one_short_line() -> None:
    shown = _values.show(pd.DataFrame({"a": range(100)}))
    assert shown.startswith("a DataFrame (") and "\n" not in shown and len(shown) < 80


def test_names_live_apart_from_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_names.STUDENT_ENV, "ada")
    assert _names.experiment_name("m07") == "ada/shopflow-m07"
    assert _names.model_name() == "ada.shopflow-conversion"
    assert _setup.experiment_name is _names.experiment_name  # the old import path still works
