"""Read values that a student's kernel pickled, without running code the student chose.

The clean verification process receives pickle bytes from an untrusted kernel. A plain
`pickle.loads` calls whatever the bytes name (`os.system`, `builtins.eval`, a class of the
student's own), so every global a pickle names goes through an allow-list first:

* an explicit set of (module, name) pairs: builtin and datetime types, and the few helper
  functions numpy, pandas, scikit-learn, pytz and zoneinfo really emit when they pickle data;
* types only (the object named must be a class) from a few library families: numpy scalar and
  dtype classes and `numpy.ndarray` itself; pandas frames, series, indexes, arrays, dtypes,
  internals and the parts of `pandas._libs` they need; scikit-learn estimators (subclasses of
  `BaseEstimator`) and their loss/link helpers; MLflow entities, model info, signatures, schemas.

A module is imported only once its name is on the list, and names in the type families must be
public. Loaded values are then checked for nesting deep enough to break `repr` or `==` later.
Protocols 3 to 5 are supported (protocol 2 spells bytes through `_codecs.encode`; refused).
"""

from __future__ import annotations

import importlib
import io
import itertools
import pickle
from collections.abc import Collection, Iterable, Iterator
from typing import Any

__all__ = ["Refused", "loads"]

_MAX_DEPTH = 200  # containers nested deeper than this break repr/== in the grader
_SHOWN = 160  # characters of a name or message quoted back

# Loaded as named: callables and classes whose use in a pickle we have checked.
_EXACT: frozenset[tuple[str, str]] = frozenset(
    {("builtins", n) for n in ("bool", "int", "float", "complex", "str", "bytes", "bytearray")}
    | {("builtins", n) for n in ("list", "tuple", "dict", "set", "frozenset", "slice", "range")}
    | {("builtins", "object")}
    | {("datetime", n) for n in ("datetime", "date", "time", "timedelta", "timezone")}
    | {("pathlib", n) for n in ("Path", "PosixPath", "PurePath", "PurePosixPath")}
    | {("collections", "OrderedDict"), ("copyreg", "_reconstructor"), ("copyreg", "__newobj__")}
    # numpy arrays and scalars (numpy 2 spells numpy._core, numpy 1 numpy.core)
    | {(f"numpy.{core}.multiarray", "_reconstruct") for core in ("core", "_core")}
    | {(f"numpy.{core}.multiarray", "scalar") for core in ("core", "_core")}
    | {(f"numpy.{core}.numeric", "_frombuffer") for core in ("core", "_core")}
    # numpy.random: RandomState / Generator and their bit generators
    | {
        ("numpy.random._pickle", f"__{n}_ctor")
        for n in ("bit_generator", "generator", "randomstate")
    }
    | {
        ("numpy.random._mt19937", "MT19937"),
        ("numpy.random._pcg64", "PCG64"),
        ("numpy.random._pcg64", "PCG64DXSM"),
        ("numpy.random._philox", "Philox"),
        ("numpy.random._sfc64", "SFC64"),
        ("numpy.random.bit_generator", "SeedSequence"),
        ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    }
    # pandas unpickle helpers (pandas 2.x) and the NA singleton
    | {
        ("pandas.core.indexes.base", "_new_Index"),
        ("pandas.core.indexes.datetimes", "_new_DatetimeIndex"),
        ("pandas.core.indexes.interval", "_new_IntervalIndex"),
        ("pandas._libs.internals", "_unpickle_block"),
        ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"),
        ("pandas._libs.interval", "__pyx_unpickle_IntervalMixin"),
        ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
        ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"),
        ("pandas._libs.tslibs.nattype", "__nat_unpickle"),
        ("pandas._libs.missing", "NA"),
    }
    # time zones of tz-aware values: pytz (pandas 2 with a zone name), zoneinfo
    | {("pytz", "_p"), ("pytz", "_UTC"), ("zoneinfo", "ZoneInfo")}
    # scikit-learn internals fitted estimators hold
    | {
        ("sklearn.tree._tree", "Tree"),
        ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor"),
        ("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper"),
        ("sklearn._loss._loss", "__pyx_unpickle_CyHalfMultinomialLoss"),
        # a fitted search: its scorer, and the masked arrays of cv_results_
        ("sklearn.metrics._scorer", "_Scorer"),
        ("numpy.ma.core", "MaskedArray"),
        ("numpy.ma", "MaskedArray"),
        ("numpy.ma.core", "_mareconstruct"),
    }
)

# Module families whose public classes may be loaded (a module and its submodules).
_PANDAS = (
    "pandas.core.frame",
    "pandas.core.series",
    "pandas.core.indexes",
    "pandas.core.internals",
    "pandas.core.arrays",
    "pandas.core.dtypes",
    "pandas._libs.tslibs",
    "pandas._libs.interval",
    "pandas._libs.missing",
    "pandas._libs.arrays",
    "pandas._libs.internals",
    "pandas._libs.sparse",
)
_NUMPY = frozenset({"numpy", "numpy.dtypes"})  # these modules exactly, not numpy.*
_SKLEARN_HELPERS = ("sklearn._loss.loss", "sklearn._loss.link", "sklearn._loss._loss")
_MLFLOW = ("mlflow.entities", "mlflow.types", "mlflow.models.model", "mlflow.models.signature")
# In a family, but refused: Model's `resources` setter reads a YAML file named by a string.
_DENIED = frozenset({("mlflow.models.model", "Model")})
_NOT_IMPORTED = ("tests", "conftest")  # test modules run code on import


class Refused(Exception):
    """The bytes were not loaded: too large, malformed, or naming something not allowed."""


def _shown(text: str) -> str:
    """One line, at most _SHOWN characters: pickles choose their names, exceptions wrap."""
    line = " ".join(str(text).split())
    return line if len(line) <= _SHOWN else line[: _SHOWN - 3] + "..."


def _within(module: str, families: Iterable[str]) -> bool:
    return any(module == f or module.startswith(f + ".") for f in families)


def _family(module: str) -> str | None:
    """Which type family may name classes in this module (None: none may)."""
    parts = module.split(".")
    if not all(p.isidentifier() for p in parts):
        return None
    if any(p.startswith("__") or p in _NOT_IMPORTED or p.startswith("test_") for p in parts):
        return None  # never import __main__ (runs a CLI) or test modules
    if module in _NUMPY:
        return "numpy"
    if _within(module, _PANDAS):
        return "pandas"
    if _within(module, ("sklearn",)):
        return "sklearn"
    if _within(module, _MLFLOW):
        return "mlflow"
    return None


def _resolve(module: str, name: str, *, listed: bool) -> Any:
    """Import a module already allowed and walk the dotted name; missing parts refuse.

    Names in a type family must be in the module's namespace: a module-level __getattr__
    (numpy's, for one) would import further submodules on the pickle's say.
    """
    try:
        obj: Any = importlib.import_module(module)
        parts = name.split(".")
        if not listed:
            if parts[0] not in vars(obj):
                raise AttributeError(f"module {module!r} defines no {parts[0]!r}")
            obj, parts = vars(obj)[parts[0]], parts[1:]
        for part in parts:
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise Refused(f"refused to load {_shown(f'{module}.{name}')}: {_shown(str(exc))}") from exc
    return obj


def _type_allowed(family: str, module: str, cls: type) -> bool:
    """Whether a class found in an allowed module is one of the family's data types."""
    home = getattr(cls, "__module__", None)
    if not isinstance(home, str):
        return False
    if any((c.__module__, c.__qualname__) in _DENIED for c in cls.__mro__):
        return False
    if family == "numpy":
        import numpy as np

        return cls is np.ndarray or issubclass(cls, (np.generic, np.dtype))
    if family == "pandas":
        return _within(home, _PANDAS)
    if family == "sklearn":
        if not home.startswith("sklearn."):
            return False
        if _within(module, _SKLEARN_HELPERS):
            return _within(home, _SKLEARN_HELPERS)
        from sklearn.base import BaseEstimator
        from sklearn.model_selection import BaseCrossValidator
        from sklearn.model_selection._split import BaseShuffleSplit

        # Estimators, and the splitters a search holds (cv=StratifiedKFold(...)).
        return issubclass(cls, (BaseEstimator, BaseCrossValidator, BaseShuffleSplit))
    return family == "mlflow" and _within(home, _MLFLOW)


def _getattr_zoneinfo(obj: object, name: str) -> Any:
    """builtins.getattr, as ZoneInfo pickles use it: `ZoneInfo._unpickle` and nothing else."""
    import zoneinfo

    if obj is zoneinfo.ZoneInfo and name == "_unpickle":
        return zoneinfo.ZoneInfo._unpickle
    what = f"{obj.__module__}.{obj.__qualname__}" if isinstance(obj, type) else type(obj).__name__
    raise Refused(
        f"refused to call builtins.getattr({_shown(what)}, {_shown(repr(name))}): "
        "only zoneinfo.ZoneInfo._unpickle is accepted"
    )


class _Unpickler(pickle.Unpickler):
    """An unpickler whose find_class only hands out what the allow-list names."""

    def find_class(self, module: str, name: str) -> Any:
        dotted = _shown(f"{module}.{name}")
        if (module, name) == ("builtins", "getattr"):
            return _getattr_zoneinfo
        if (module, name) in _EXACT:
            return _resolve(module, name, listed=True)
        if _metric(module, name):  # a scorer's score function: a pure computation
            return _resolve(module, name, listed=True)
        family = _family(module)
        if family is None or not all(p and not p.startswith("_") for p in name.split(".")):
            raise Refused(f"refused to load {dotted}: not a data type the grader accepts")
        obj = _resolve(module, name, listed=False)
        if not isinstance(obj, type) or not _type_allowed(family, module, obj):
            raise Refused(f"refused to load {dotted}: not a data type the grader accepts")
        return obj

    def persistent_load(self, pid: Any) -> Any:
        raise Refused("refused: a persistent id (the grader sends no out-of-band objects)")


def _metric(module: str, name: str) -> bool:
    """A public scikit-learn metric function (``roc_auc_score``), as a scorer pickles it."""
    if not module.startswith("sklearn.metrics.") or module.split(".")[2].startswith("__"):
        return False
    import sklearn.metrics

    if name not in sklearn.metrics.__all__:
        return False
    obj = getattr(sklearn.metrics, name, None)
    return callable(obj) and not isinstance(obj, type) and obj.__module__ == module


_LEAVES = frozenset({type(None), bool, int, float, complex, str, bytes, bytearray, range, slice})
_DEEP = f"refused: values nested more than {_MAX_DEPTH} deep"


def _children(obj: Any) -> tuple[Collection[Any], ...]:
    """What a nested repr/== would recurse into: container items and instance attributes."""
    kind = type(obj)
    if issubclass(kind, dict):
        return (dict.keys(obj), dict.values(obj))
    if issubclass(kind, list | tuple | set | frozenset):
        return (obj,)
    if issubclass(kind, type):
        return ()
    try:
        attrs = object.__getattribute__(obj, "__dict__")  # not obj.__dict__: no __getattr__
    except AttributeError:
        return ()
    return (dict.values(attrs),) if type(attrs) is dict else ()


def _flat(parts: tuple[Collection[Any], ...]) -> bool:
    """Whether nothing in these parts nests further (checked at C speed, the common case)."""
    return all(all(map(_LEAVES.__contains__, map(type, part))) for part in parts)


def _check_depth(value: Any) -> None:
    """Refuse values nested deeper than _MAX_DEPTH (longest chain, shared parts counted once).

    The unpickler builds nesting with a loop, so a million nested lists load fine and only
    blow up later in the grader's repr or ==; this walk uses no recursion either.
    """
    parts = _children(value)
    if _flat(parts):
        return
    height: dict[int, int] = {}  # id -> containers below it, once fully walked
    active = {id(value)}  # the current path: an object met again on it is a cycle
    frames: list[tuple[int, Iterator[Any]]] = [(id(value), itertools.chain(*parts))]
    best = [0]  # per frame: the most containers below it seen so far
    while frames:
        oid, it = frames[-1]
        for child in it:
            kind = type(child)
            if kind in _LEAVES:
                continue
            if (kind is list or kind is tuple) and all(map(_LEAVES.__contains__, map(type, child))):
                if len(frames) >= _MAX_DEPTH:
                    raise Refused(_DEEP)
                if not best[-1]:
                    best[-1] = 1  # a flat list or tuple: one level, nothing to remember
                continue
            cid = id(child)
            if cid in height:
                best[-1] = max(best[-1], height[cid] + 1)
                if len(frames) + height[cid] > _MAX_DEPTH:
                    raise Refused(_DEEP)
                continue
            if cid in active:
                continue
            sub = _children(child)
            if not sub:
                continue
            if len(frames) >= _MAX_DEPTH:
                raise Refused(_DEEP)
            if _flat(sub):
                best[-1] = max(best[-1], 1)
                continue
            active.add(cid)
            frames.append((cid, itertools.chain(*sub)))
            best.append(0)
            break
        else:
            frames.pop()
            active.discard(oid)
            height[oid] = done = best.pop()
            if best:
                best[-1] = max(best[-1], done + 1)


def loads(data: bytes, *, max_bytes: int = 256 << 20) -> Any:
    """Unpickle bytes from an untrusted kernel; raise Refused rather than run its code.

    Every failure is a Refused with a one-line message, so the grader can report it as the
    student's answer being unreadable instead of crashing on an exception it did not expect.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise Refused(f"refused: expected bytes, got {type(data).__name__}")
    size = memoryview(data).nbytes
    if size > max_bytes:
        raise Refused(f"refused: {size} bytes is more than the {max_bytes} the grader reads")
    try:
        value = _Unpickler(io.BytesIO(data)).load()
        _check_depth(value)
    except Refused:
        raise
    except Exception as exc:  # MemoryError and RecursionError included
        raise Refused(
            f"refused: not a readable pickle ({type(exc).__name__}: {_shown(str(exc))})"
        ) from exc
    return value
