"""The grader's restricted unpickler: what a kernel legitimately sends comes back equal, and
pickles that name anything else (the student's code, os.system, file readers) are refused
before it runs. Pure and fast: no sandbox, no kernel, no MLflow server.
"""

from __future__ import annotations

import builtins
import collections
import datetime as dt
import importlib
import os
import pathlib
import pickle
import struct
import subprocess
import sys
import zoneinfo
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from course.grading._unpickle import Refused, loads


def _round_trip(value: Any) -> Any:
    return loads(pickle.dumps(value, protocol=5))


def _dotted(obj: Any) -> str:
    """The name pickle writes for a function or class."""
    return f"{obj.__module__}.{obj.__qualname__}"


class _Reduce:
    """Pickles as an arbitrary call, as a student's crafted object would."""

    def __init__(self, *reduced: Any) -> None:
        self.reduced = reduced

    def __reduce__(self) -> tuple[Any, ...]:
        return self.reduced


def _refused(data: bytes, *expected: str) -> str:
    with pytest.raises(Refused) as info:
        loads(data)
    message = str(info.value)
    assert "\n" not in message and message.startswith("refused")
    for text in expected:
        assert text in message, (text, message)
    return message


def _global(module: str, name: str) -> bytes:
    """A protocol-4 pickle that only looks up module.name (STACK_GLOBAL)."""
    m, n = module.encode(), name.encode()
    return b"\x80\x04\x8c" + bytes([len(m)]) + m + b"\x8c" + bytes([len(n)]) + n + b"\x93."


# --------------------------------------------------------------------------- accepted kinds


def test_plain_python_data_round_trips() -> None:
    values = [
        None,
        True,
        -(2**70),
        1.5,
        float("inf"),
        2 - 3j,
        "text é",
        b"\x00bytes",
        bytearray(b"ba"),
        [1, [2, [3]]],
        (1, "a", (None,)),
        {"k": [1, 2], 3: {"n": None}},
        {1, 2, "x"},
        frozenset({("a", 1)}),
        slice(1, 10, 2),
        range(3, 30, 3),
    ]
    for value in values:
        back = _round_trip(value)
        assert back == value and type(back) is type(value), value
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    back = _round_trip(cyclic)
    assert back[1] is back
    assert type(_round_trip(object())) is object
    # protocol 3 and 4 as well (protocol 3 spells set and bytearray through builtins)
    for protocol in (3, 4):
        assert loads(pickle.dumps(values, protocol=protocol)) == values


def test_datetimes_and_ordered_dict_round_trip() -> None:
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    values = [
        dt.datetime(2024, 5, 17, 12, 30, 1, 5),
        dt.datetime(2024, 5, 17, tzinfo=dt.UTC),
        dt.datetime(2024, 5, 17, tzinfo=dt.timezone(dt.timedelta(hours=-3), "X")),
        dt.datetime(2024, 5, 17, tzinfo=berlin),
        dt.date(2024, 2, 29),
        dt.time(23, 59, 58),
        dt.timedelta(days=2, microseconds=7),
        dt.UTC,
        collections.OrderedDict([("b", 1), ("a", [2])]),
        pathlib.Path("/state/work/m04/feature_repo"),  # a notebook's REPO, read by hidden tests
    ]
    for value in values:
        back = _round_trip(value)
        assert back == value and type(back) is type(value), value
    assert _round_trip(values[3]).tzinfo is berlin


def test_numpy_arrays_scalars_and_dtypes_round_trip() -> None:
    arrays = [
        np.arange(12, dtype=np.int64).reshape(3, 4),
        np.asfortranarray(np.linspace(0, 1, 6).reshape(2, 3)),
        np.array(3.5),
        np.array([True, False]),
        np.array(["ab", "c"]),
        np.array([{"a": 1}, None, "s"], dtype=object),
        np.array([(1, 2.0)], dtype=[("i", "i4"), ("f", "f8")]),
        np.array(["2024-01-01", "NaT"], dtype="datetime64[ns]"),
        np.array([1, 2], dtype="timedelta64[s]"),
        np.zeros((0, 3), dtype=np.float32),
    ]
    for array in arrays:
        back = _round_trip(array)
        assert type(back) is np.ndarray and back.dtype == array.dtype
        np.testing.assert_array_equal(back, array)
    scalars = [np.float64(1.25), np.float32(2), np.int8(-3), np.uint64(7), np.bool_(True)]
    scalars += [
        np.complex128(1j),
        np.str_("s"),
        np.datetime64("2024-03-01"),
        np.timedelta64(5, "m"),
    ]
    for scalar in scalars:
        back = _round_trip(scalar)
        assert back == scalar and type(back) is type(scalar)
    for dtype in [np.dtype("f8"), np.dtype("<U3"), np.dtype("M8[ns]"), np.dtype([("a", "i4")])]:
        assert _round_trip(dtype) == dtype
    # numpy 1 spelled its helpers numpy.core.*: such pickles load too
    old = pickle.dumps(arrays[1], protocol=3).replace(b"numpy._core.", b"numpy.core.")
    assert b"numpy.core.multiarray" in old
    np.testing.assert_array_equal(loads(old), arrays[1])


def test_numpy_random_states_round_trip() -> None:
    states: list[Any] = [np.random.RandomState(3), np.random.default_rng(4)]
    bits = (np.random.MT19937, np.random.PCG64, np.random.PCG64DXSM, np.random.Philox)
    states += [np.random.Generator(bit(5)) for bit in (*bits, np.random.SFC64)]
    for state in states:
        back = _round_trip(state)
        assert type(back) is type(state)
        np.testing.assert_array_equal(back.random(4), state.random(4))


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": [1, 2, 3],
            "f": [0.5, np.nan, 2.5],
            "s": ["x", "y", None],
            "b": [True, False, True],
            "cat": pd.Categorical(["u", "v", "u"], categories=["v", "u"], ordered=True),
            "when": pd.date_range("2024-01-01", periods=3, freq="h"),
            "when_utc": pd.date_range("2024-01-01", periods=3, tz="UTC"),
            "when_zone": pd.date_range("2024-03-30", periods=3, tz="Europe/Berlin"),
            "when_zoneinfo": pd.date_range("2024-03-30", periods=3, tz=zoneinfo.ZoneInfo("UTC")),
            "took": pd.to_timedelta([1, 2, 3], unit="s"),
            "nullable": pd.array([1, None, 3], dtype="Int64"),
            "string": pd.array(["a", None, "c"], dtype="string"),
            "period": pd.period_range("2024-01", periods=3, freq="M"),
            "interval": pd.arrays.IntervalArray.from_breaks([0, 1, 2, 3]),
        }
    )


def test_pandas_frames_series_and_indexes_round_trip() -> None:
    df = _frame()
    frames = [
        df,
        df.set_index("s"),
        df.set_index(["s", "i"]),
        df.set_index("when"),
        df.set_index("when_zone"),
        df.set_index("cat"),
        pd.DataFrame(np.arange(6.0).reshape(2, 3), columns=pd.RangeIndex(3), index=["r", "s"]),
        df.groupby("s", dropna=False)[["i", "f"]].sum(),
    ]
    for frame in frames:
        pd.testing.assert_frame_equal(_round_trip(frame), frame)
    for name in df.columns:
        pd.testing.assert_series_equal(_round_trip(df[name]), df[name])
    indexes = [
        pd.RangeIndex(2, 20, 3, name="r"),
        pd.Index([1.5, 2.5]),
        pd.Index(["a", "b"], name="n"),
        pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "v"]),
        pd.DatetimeIndex(["2024-01-01", "2024-01-03"]),
        pd.DatetimeIndex(["2024-01-01"], tz="America/New_York"),
        pd.CategoricalIndex(["x", "y", "x"]),
        pd.TimedeltaIndex(["1D", "2h"]),
        pd.PeriodIndex(["2024-01", "2024-02"], freq="M"),
        pd.IntervalIndex.from_breaks([0, 1, 2]),
    ]
    for index in indexes:
        pd.testing.assert_index_equal(_round_trip(index), index, exact=True)


def test_pandas_scalars_round_trip() -> None:
    values = [
        pd.Timestamp("2024-05-17 12:00"),
        pd.Timestamp("2024-05-17", tz="UTC"),
        pd.Timestamp("2024-05-17", tz="Europe/Berlin"),
        pd.Timedelta("1 days 2 hours"),
        pd.Period("2024-05", freq="M"),
        pd.Interval(0, 1, closed="left"),
        pd.Categorical(["a", "b", "a"]),
        pd.CategoricalDtype(["a", "b"], ordered=True),
        pd.DatetimeTZDtype(tz="UTC"),
    ]
    for value in values:
        back = _round_trip(value)
        if isinstance(value, pd.Categorical):
            pd.testing.assert_extension_array_equal(back, value)
        else:
            assert back == value and type(back) is type(value), value
    assert _round_trip(pd.NaT) is pd.NaT
    assert _round_trip(pd.NA) is pd.NA


def _estimators() -> tuple[pd.DataFrame, list[Any]]:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.RandomState(0)
    x = pd.DataFrame({"a": rng.randn(60), "b": rng.randn(60), "c": rng.choice(["p", "q", "r"], 60)})
    x.loc[3, "a"] = np.nan
    y = (x["b"] + rng.randn(60) > 0).astype(int)
    y3 = rng.choice([0, 1, 2], 60)
    num = x[["a", "b"]].fillna(0.0)
    pre = ColumnTransformer(
        [
            ("num", Pipeline([("imp", SimpleImputer()), ("sc", StandardScaler())]), ["a", "b"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["c"]),
        ]
    )
    fitted = [
        (Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(x, y), x),
        (
            Pipeline(
                [("pre", pre), ("rf", RandomForestClassifier(n_estimators=4, random_state=0))]
            ).fit(x, y),
            x,
        ),
        (RandomForestClassifier(n_estimators=3, random_state=rng).fit(num, y3), num),
        (
            GradientBoostingClassifier(n_estimators=4, subsample=0.7, random_state=1).fit(num, y),
            num,
        ),
        (GradientBoostingClassifier(n_estimators=4).fit(num, y3), num),
        (GradientBoostingRegressor(n_estimators=4).fit(num, y), num),
        (HistGradientBoostingClassifier(max_iter=4).fit(num, y3), num),
        (StandardScaler().fit(num), num),
        (OneHotEncoder(sparse_output=False).fit(x[["c"]]), x[["c"]]),
        (SimpleImputer(add_indicator=True).fit(x[["a"]]), x[["a"]]),
    ]
    unfitted = [
        Pipeline([("pre", pre), ("clf", LogisticRegression(C=0.3))]),
        RandomForestClassifier(random_state=np.random.RandomState(2)),
        GradientBoostingClassifier(learning_rate=0.2),
    ]
    return fitted, unfitted


def test_sklearn_estimators_round_trip() -> None:
    fitted, unfitted = _estimators()
    for estimator, x in fitted:
        back = _round_trip(estimator)
        assert type(back) is type(estimator)
        rows = x.iloc[:7]
        for method in ("predict", "predict_proba", "transform"):
            if hasattr(estimator, method):
                np.testing.assert_allclose(
                    getattr(back, method)(rows), getattr(estimator, method)(rows)
                )
    for estimator in unfitted:
        back = _round_trip(estimator)
        assert type(back) is type(estimator)
        params, back_params = estimator.get_params(), back.get_params()
        assert params.keys() == back_params.keys()
        for name, value in params.items():
            if isinstance(value, np.random.RandomState):
                assert back_params[name].randint(1 << 30) == value.randint(1 << 30)
            else:
                assert repr(back_params[name]) == repr(value), name
    # A search holds its splitter (m10's RandomizedSearchCV(cv=StratifiedKFold(...))).
    from sklearn.model_selection import StratifiedKFold, TimeSeriesSplit

    for splitter in (StratifiedKFold(4, shuffle=True, random_state=0), TimeSeriesSplit(3)):
        assert repr(_round_trip(splitter)) == repr(splitter)


def test_a_fitted_search_round_trips_with_its_scorer_and_results() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold

    rng = np.random.default_rng(0)
    x = rng.random((120, 3))
    y = (x[:, 0] > 0.5).astype(int)
    search = RandomizedSearchCV(LogisticRegression(), {"C": [0.1, 1.0, 10.0]}, n_iter=2,
                                scoring="roc_auc", cv=StratifiedKFold(3), random_state=0)  # fmt: skip
    back = _round_trip(search.fit(x, y))
    assert back.best_params_ == search.best_params_
    assert list(back.cv_results_["param_C"]) == list(search.cv_results_["param_C"])  # masked
    assert back.score(x, y) == search.score(x, y)  # the scorer's roc_auc_score came along


def test_mlflow_entities_round_trip() -> None:
    from mlflow.entities import (
        Dataset,
        DatasetInput,
        Experiment,
        ExperimentTag,
        InputTag,
        Metric,
        Param,
        Run,
        RunData,
        RunInfo,
        RunInputs,
        RunTag,
    )
    from mlflow.entities.model_registry import ModelVersion, ModelVersionTag, RegisteredModel
    from mlflow.models.model import ModelInfo
    from mlflow.models.signature import ModelSignature, infer_signature
    from mlflow.types.schema import ColSpec, DataType, ParamSchema, ParamSpec, Schema, TensorSpec

    version = ModelVersion(
        "churn",
        "3",
        1,
        2,
        "desc",
        "me",
        "runs:/r1/model",
        "r1",
        "READY",
        tags=[ModelVersionTag("stage", "audited")],
        aliases=["champion"],
    )
    back = _round_trip(version)
    assert back == version and back.aliases == ["champion"] and back.tags == {"stage": "audited"}
    assert _round_trip(RegisteredModel("churn", latest_versions=[version])).latest_versions == [
        version
    ]

    run = Run(
        RunInfo("r1", "0", "me", "FINISHED", 1, 2, "active", "baseline", "file:///tmp/a"),
        RunData(
            metrics=[Metric("acc", 0.9, 1, 0)], params=[Param("C", "1")], tags=[RunTag("t", "v")]
        ),
        RunInputs([DatasetInput(Dataset("train", "d1", "src", "local"), [InputTag("k", "v")])]),
    )
    back = _round_trip(run)
    assert type(back) is Run and back.to_dictionary() == run.to_dictionary()
    assert (
        back.data.metrics == {"acc": 0.9} and back.inputs.dataset_inputs[0].dataset.name == "train"
    )

    experiment = Experiment("0", "Default", "file:///tmp", "active", [ExperimentTag("a", "b")])
    assert dict(_round_trip(experiment)) == dict(experiment)

    signature = infer_signature(
        pd.DataFrame({"a": [1.0], "b": ["x"], "c": [True]}), np.array([0.5])
    )
    tensors = ModelSignature(
        Schema([TensorSpec(np.dtype("float32"), (-1, 4), "x")]),
        Schema([ColSpec(DataType.long, "y")]),
        ParamSchema([ParamSpec("k", DataType.string, "d")]),
    )
    for sig in (signature, tensors):
        assert _round_trip(sig) == sig
    assert _round_trip(DataType.double) is DataType.double

    info = ModelInfo(
        artifact_path="model",
        flavors={"sklearn": {"pickled_model": "model.pkl"}},
        model_uri="runs:/r1/model",
        model_uuid="u1",
        run_id="r1",
        saved_input_example_info=None,
        signature=signature,
        utc_time_created="2024-05-17",
        mlflow_version="3",
        registered_model_version=3,
    )
    back = _round_trip(info)
    for name in ("artifact_path", "flavors", "model_uri", "run_id", "signature"):
        assert getattr(back, name) == getattr(info, name), name
    assert back.registered_model_version == 3


# --------------------------------------------------------------------------------- refusals


def test_handcrafted_os_system_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    command = f"touch {marker}".encode()
    _refused(b"cos\nsystem\n(V" + command + b"\ntR.", "os.system")
    _refused(b"\x80\x04" + _global("os", "system")[2:-1] + b"\x8c\x04echo\x85R.", "os.system")
    assert not marker.exists()


def test_reduce_to_code_or_files_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    modules = set(sys.modules)
    script = f"open({str(marker)!r}, 'w').write('x')"
    np.save(tmp_path / "evil.npy", np.array([_Reduce(os.system, ("true",))], dtype=object))
    (tmp_path / "data.csv").write_text("a\n1\n")
    attacks: list[tuple[Any, tuple[Any, ...]]] = [
        (os.system, (f"touch {marker}",)),
        (builtins.eval, (script,)),
        (builtins.exec, (script,)),
        (subprocess.Popen, (["touch", str(marker)],)),
        (np.memmap, (str(marker), "uint8", "w+", 0, (4,))),
        (np.load, (str(tmp_path / "evil.npy"), None, True)),  # allow_pickle: runs evil.npy
        (pd.read_csv, (str(tmp_path / "data.csv"),)),
        (importlib.import_module, ("this",)),
        (open, (str(marker), "w")),
    ]
    for func, args in attacks:
        _refused(pickle.dumps(_Reduce(func, args), protocol=5), _dotted(func))
    # a refused name nested deep inside accepted data still refuses the whole value
    nested = {"ok": pd.DataFrame({"a": [1]}), "bad": [(_Reduce(os.system, ("true",)),)]}
    _refused(pickle.dumps(nested, protocol=5), _dotted(os.system))
    assert not marker.exists()
    assert "this" not in set(sys.modules) - modules


class StudentModel:
    """A class of the student's own: its __setstate__ would run the student's code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["marker"]).write_text("ran")


def test_a_students_own_class_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    data = pickle.dumps({"model": StudentModel(str(marker))}, protocol=5)
    _refused(data, f"{__name__}.StudentModel")
    assert not marker.exists()


def test_getattr_is_refused_except_for_zoneinfo(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    marker.write_bytes(b"TZif")
    for target, name in [(pd.DataFrame, "to_csv"), (zoneinfo.ZoneInfo, "from_file"), ("", "join")]:
        data = pickle.dumps(_Reduce(getattr, (target, name)), protocol=5)
        _refused(data, "builtins.getattr", repr(name))
    assert _round_trip(zoneinfo.ZoneInfo("Asia/Tokyo")) is zoneinfo.ZoneInfo("Asia/Tokyo")


def test_library_classes_off_the_list_are_refused() -> None:
    import mlflow.models.model
    from sklearn.preprocessing import FunctionTransformer

    refused = [
        ("numpy", "memmap"),  # an ndarray subclass that opens files
        ("numpy", "vectorize"),
        ("numpy", "recarray"),
        ("numpy.lib.npyio", "NpzFile"),
        ("pandas.io.parsers.readers", "TextFileReader"),
        ("pandas.core.computation.eval", "eval"),
        ("pandas.plotting._core", "PlotAccessor"),
        ("pandas.core.frame", "DataFrame.to_csv"),  # a method, not a type
        ("pandas.core.frame", "DataFrame.__class__"),  # resolves to `type`
        ("pandas.core.frame", "np.memmap"),  # a numpy class reached through pandas
        ("pandas.core.frame", "DataFrame.plot"),  # resolves to pandas.plotting's accessor
        ("numpy", "testing"),  # a module, and numpy's __getattr__ would import it
        ("pandas.core.indexes.base", "_new_Index.__globals__"),
        ("sklearn.utils._bunch", "Bunch"),  # not an estimator
        ("sklearn.utils", "Bunch"),
        ("mlflow.models.model", "Model"),  # its resources setter reads a YAML file
        ("mlflow.tracking.client", "MlflowClient"),
        ("mlflow.pyfunc", "load_model"),
        ("copyreg", "_extension_registry"),
        ("builtins", "type"),
        ("builtins", "__import__"),
        ("pickle", "loads"),
        ("zoneinfo", "ZoneInfo.from_file"),
        ("pytz", "timezone"),
    ]
    for module, name in refused:
        _refused(_global(module, name), f"{module}.{name}")
    data = pickle.dumps(mlflow.models.model.Model(artifact_path="m", run_id="r"), protocol=5)
    _refused(data, "mlflow.models.model.Model")
    data = pickle.dumps(FunctionTransformer(func=os.system), protocol=5)
    _refused(data, _dotted(os.system))
    # numpy's random-state helper takes a constructor: still only an allowed one
    ctor = np.random.RandomState(0).__reduce__()[0]
    _refused(pickle.dumps(_Reduce(ctor, ("true", os.system)), protocol=5), _dotted(os.system))


def test_modules_are_not_imported_unless_allowed() -> None:
    names = [
        ("sklearn.__main__", "Cli"),
        ("sklearn.utils.tests.test_unpickle_probe", "Probe"),
        ("mlflow.__main__", "cli"),
        ("numpy.f2py.__main__", "main"),
        ("pandas.io.clipboards", "read_clipboard"),
        ("this", "s"),
    ]
    before = set(sys.modules)
    for module, name in names:
        _refused(_global(module, name), f"{module}.{name}")
    assert not {module for module, _ in names} & (set(sys.modules) - before)


def test_oversize_input_is_refused_before_reading() -> None:
    data = pickle.dumps(b"x" * 1000, protocol=5)
    with pytest.raises(Refused, match="more than the 100"):
        loads(data, max_bytes=100)
    with pytest.raises(Refused, match="more than the 100"):
        loads(b"\xff" * 1000, max_bytes=100)  # never parsed at all
    assert loads(data, max_bytes=len(data)) == b"x" * 1000


def test_malformed_bytes_are_refused_in_one_line() -> None:
    frame = pickle.dumps(_frame(), protocol=5)
    bad = [
        b"",
        b"not a pickle at all",
        frame[: len(frame) // 2],
        frame[:-1],
        b"\x80\x05\x95",
        b"\x80\x05\x8c\x01x\x94Q.",  # a persistent id
        b"\x80\x05\x97.",  # an out-of-band buffer that was never sent
        b"\x80\x05\x8c\x01a\x8c\x01b\x93.",  # a global of a nonexistent module
        b"\x80\x05K\x01\x8c\x01b\x93.",  # STACK_GLOBAL with an int
        b"(((((((((",
        b"\x80\x02c__builtin__\nlist\n)R.",  # python 2 spelling: not mapped, refused
    ]
    for data in bad:
        _refused(data)
    # protocols 0-2 spell bytes as _codecs.encode(str, encoding): not accepted
    _refused(pickle.dumps(np.arange(3), protocol=2), "_codecs.encode")
    with pytest.raises(Refused):
        loads("a str, not bytes")  # type: ignore[arg-type]


def _nested_list_pickle(depth: int) -> bytes:
    """[[[...]]] `depth` deep, built without recursion (pickle.dumps itself would overflow)."""
    return b"\x80\x05" + b"]" * depth + b"a" * (depth - 1) + b"."


def _chain_pickle(depth: int, roots: list[int]) -> bytes:
    """Lists nested `depth` deep, built inner to outer through the memo so the pickle never
    holds a deep stack; the value is a list of the levels named in `roots` (level i is i+1
    lists deep, level 0 is [])."""
    ops = [b"\x80\x05]\x940"]
    for level in range(1, depth + 1):
        ops.append(b"]j" + struct.pack("<I", level - 1) + b"a\x940")
    ops.append(b"]")
    ops += [b"j" + struct.pack("<I", level) + b"a" for level in roots]
    return b"".join(ops) + b"."


def test_deep_nesting_is_refused() -> None:
    _refused(_nested_list_pickle(100_000), "nested more than")
    _refused(_chain_pickle(100_000, [100_000]), "nested more than")
    # depth only visible through shared parts: each chain is short, together they are deep
    _refused(_chain_pickle(1500, list(range(150, 1501, 150))), "nested more than")
    value = loads(_chain_pickle(150, [150, 10]))
    node = value[0]
    for _ in range(140):
        node = node[0]
    assert node is value[1]  # shared, not copied
