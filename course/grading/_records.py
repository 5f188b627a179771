"""The grader's own cells in the student's kernel: a reset of IPython's machinery, and records.

Everything in the kernel belongs to the student, so nothing here is trusted on its own: the
records only say which values the clean process (_verify.py) should check. What these cells do
make hard is cheap forgery. Each grader cell is self-contained (no global the student could
redefine), first puts back IPython's hooks, input and AST transformers, custom exception
handler and excepthook, and prints its record to its own output under a fresh nonce; the worker
reads only that cell's outputs and takes the last record (nothing written before the cell ran,
no file in the sandbox, can pre-empt it).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

# Put IPython back as it starts: the student's hooks, transformers and handlers stop here.
RESET = """\
def _course_grader_reset():
    import sys
    ip = get_ipython()
    for name in ("run_cell", "run_cell_async", "run_code", "run_ast_nodes", "transform_cell",
                 "showtraceback", "_showtraceback", "showsyntaxerror", "should_run_async"):
        ip.__dict__.pop(name, None)
    for event in list(ip.events.callbacks):
        ip.events.callbacks[event] = []
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        ip.input_transformer_manager = TransformerManager()
    except Exception:
        pass
    ip.input_transformers_post = []
    ip.ast_transformers = []
    ip.set_custom_exc((), None)
    sys.excepthook = sys.__excepthook__
    sys.settrace(None)
    sys.setprofile(None)
_course_grader_reset()
del _course_grader_reset
"""

_HARVEST = """\
def _course_grader_record(exprs, nonce, ns):
    import json, sys, pathlib, types
    fn_types = (types.FunctionType, types.MethodType, types.BuiltinFunctionType)
    libs = ("mlflow", "sklearn", "pandas", "numpy", "feast", "scipy")
    class Unplain(Exception):
        pass
    def real(t):
        # A class the library really exports, not one that claims its name.
        mod = sys.modules.get(t.__module__)
        if t.__module__.split(".")[0] not in libs or mod is None:
            return False
        obj = mod
        for part in t.__qualname__.split("."):
            obj = getattr(obj, part, None)
        return obj is t
    def plain(x, depth=0):
        t = type(x)
        if x is None or t in (bool, int, float, str):
            return x
        if isinstance(x, pathlib.PurePath):
            text = x.__fspath__()
            if type(text) is str:
                return text
        if t.__module__ == "numpy" and real(t) and getattr(x, "ndim", 1) == 0:
            return plain(x.item(), depth + 1)
        if t is list and depth < 8:
            return [plain(v, depth + 1) for v in x]
        if t is tuple and depth < 8:
            return {"\\x00tuple": [plain(v, depth + 1) for v in x]}
        if t is dict and depth < 8 and all(type(k) is str for k in x):
            return {k: plain(v, depth + 1) for k, v in x.items()}
        raise Unplain(f"{t.__module__}.{t.__qualname__}", t in fn_types or real(t))
    refs = ns.get("_course_grader_refs")
    refs = refs if type(refs) is dict else {}
    ns["_course_grader_refs"] = refs
    out = []
    for i, (name, expr) in enumerate(exprs):
        try:
            value = eval(expr, ns)
            out.append({"value": plain(value)})
        except Unplain as exc:
            # Kept here for the clean process, which fetches or calls it over a socket.
            key = f"{nonce[::-1]}{i}"  # not the nonce itself: the record line holds it
            refs[key] = value
            out.append({"type": str(exc.args[0])[:200], "real": bool(exc.args[-1]), "ref": key,
                        "callable": callable(value) and not isinstance(value, type),
                        "name": str(getattr(value, "__name__", name))[:80]})
        except Exception as exc:
            out.append({"missing": type(exc).__name__})
    sys.stdout.write("\\n" + nonce + json.dumps(out) + "\\n")
    sys.stdout.flush()
"""

TUPLE_TAG = "\x00tuple"


def record_cell(exprs: list[tuple[str, str]]) -> tuple[str, str]:
    """(source, nonce) of the grader cell that records the values of `exprs` (name, expr)."""
    nonce = "RECORD" + secrets.token_hex(12) + ":"
    call = f"_course_grader_record({[list(e) for e in exprs]!r}, {nonce!r}, globals())"
    return f"{RESET}{_HARVEST}{call}\ndel _course_grader_record\n", nonce


def reset_cell() -> str:
    return RESET


def serve_cell(path: str) -> str:
    """The grader cell that answers the clean process's requests on the socket at `path`."""
    from ._remote import SERVE

    return f"{RESET}{SERVE}_course_grader_serve({path!r})\ndel _course_grader_serve\n"


def read_record(cell: Any, nonce: str, count: int) -> list[dict] | None:
    """The last record under `nonce` in this cell's own stream outputs, if well formed."""
    found = None
    for out in cell.get("outputs", []) if isinstance(cell, dict) else []:
        if out.get("output_type") != "stream" or out.get("name") != "stdout":
            continue
        text = out.get("text", "")
        start = text.rfind(nonce)
        while start >= 0:
            line = text[start + len(nonce) :].split("\n", 1)[0]
            try:
                rec = json.loads(line)
            except ValueError:
                start = text.rfind(nonce, 0, start)
                continue
            if (
                isinstance(rec, list)
                and len(rec) == count
                and all(isinstance(r, dict) for r in rec)
            ):
                found = rec
            break
    return found


def untag(value: Any) -> Any:
    """Tuples recorded as {"\\x00tuple": [...]} back to tuples."""
    if isinstance(value, dict):
        if set(value) == {TUPLE_TAG} and isinstance(value[TUPLE_TAG], list):
            return tuple(untag(v) for v in value[TUPLE_TAG])
        return {k: untag(v) for k, v in value.items()}
    if isinstance(value, list):
        return [untag(v) for v in value]
    return value
