"""Values that only the student's kernel holds (a function, a data frame, a model), checked
from the clean process without running student code in it.

The clean process listens on a Unix socket in the submission's scratch folder; a grader cell in
the kernel (SERVE) connects and answers two requests until told to stop: "get" a recorded value
(the kernel pickles it) and "call" a recorded function with arguments the clean process pickled
(the kernel runs it and pickles the result). What comes back is read with the restricted
unpickler (_unpickle.py): data types only, so no student code ever runs in the clean process.
A function stays in the kernel; the clean process holds a `Remote` that calls it there. Anything
that cannot cross (an object of the student's own class, an open store) is `Unverifiable`.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import pickle
import socket
import struct
from pathlib import Path
from typing import Any

from . import _unpickle

__all__ = ["REF_TAG", "SERVE", "Channel", "Remote", "Unverifiable", "kernel_names", "resolve"]

REF_TAG = "\x00ref"  # a recorded value the kernel keeps: {"\x00ref": {"ref", "type", "callable"}}
_HEADER = struct.Struct("!Q")
_MAX_REPLY = 256 << 20


class Unverifiable(Exception):
    """The value cannot be checked outside the kernel; the item goes to review."""


class Channel:
    """The clean process's end: one connection from the kernel, a request at a time."""

    def __init__(self, path: Path, accept_timeout: float = 30.0, call_timeout: float = 120.0):
        self.path = path
        self.call_timeout = call_timeout
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with _in(path.parent):  # a short name: socket paths stop at 108 bytes
            self._server.bind(path.name)
        path.chmod(0o666)
        self._server.listen(1)
        self._server.settimeout(accept_timeout)
        self._conn: socket.socket | None = None
        self.failed = ""  # why a value could not cross, once one could not

    def _fail(self, reason: str) -> Unverifiable:
        self.failed = reason[:200]
        return Unverifiable(self.failed)

    def _connection(self) -> socket.socket:
        if self._conn is None:
            try:
                self._conn, _ = self._server.accept()
            except OSError as exc:
                raise self._fail(f"the kernel did not answer ({type(exc).__name__})") from None
            self._conn.settimeout(self.call_timeout)
        return self._conn

    def request(self, *message: Any) -> Any:
        """Send one request, return the kernel's reply (restricted unpickling)."""
        try:
            buffer = io.BytesIO()
            _Pickler(buffer, protocol=5).dump(message)
            body = buffer.getvalue()
        except Exception as exc:
            raise self._fail(f"cannot send {type(exc).__name__}: {exc}") from None
        conn = self._connection()
        try:
            conn.sendall(_HEADER.pack(len(body)) + body)
            (size,) = _HEADER.unpack(_read(conn, _HEADER.size))
            if size > _MAX_REPLY:
                raise self._fail(f"the kernel's reply has {size} bytes")
            raw = _read(conn, size)
        except OSError as exc:
            raise self._fail(f"the kernel stopped answering ({type(exc).__name__})") from None
        try:
            reply = _unpickle.loads(raw, max_bytes=_MAX_REPLY)
        except _unpickle.Refused as exc:
            raise self._fail(str(exc)) from None
        if not (isinstance(reply, tuple) and reply and isinstance(reply[0], str)):
            raise self._fail("the kernel's reply is malformed")
        return reply

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                body = pickle.dumps(("bye",))
                self._conn.sendall(_HEADER.pack(len(body)) + body)
            with contextlib.suppress(OSError):
                self._conn.close()
        with contextlib.suppress(OSError):
            self._server.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


class _Pickler(pickle.Pickler):
    """Arguments for the kernel; a feature store goes as its repo path and is opened there."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj).__module__.startswith("feast.") and hasattr(obj, "get_feature_view"):
            from ._feast_values import open_store

            return open_store, (
                str(obj.repo_path),
                obj.config.model_dump(mode="json", by_alias=True, exclude_none=True),
            )
        return NotImplemented


@contextlib.contextmanager
def _in(folder: Path) -> Any:
    here = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(here)


def _read(conn: socket.socket, n: int) -> bytes:
    parts, left = [], n
    while left:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("closed")
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


class Remote:
    """A function that stays in the kernel: calling it runs it there."""

    def __init__(self, channel: Channel, ref: str, name: str) -> None:
        self._channel, self._ref, self.__name__ = channel, ref, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = ("call", self._ref, args, kwargs, _active_run())
        return _value(self._channel, self._channel.request(*request))

    def __repr__(self) -> str:
        return f"<function {self.__name__} (in the kernel)>"


def _active_run() -> str:
    """A check that calls a function inside its MLflow run: the call runs in that run there."""
    import sys

    mlflow = sys.modules.get("mlflow")
    run = mlflow.active_run() if mlflow is not None else None
    return run.info.run_id if run is not None else ""


def _value(channel: Channel, reply: tuple) -> Any:
    kind = reply[0]
    if kind == "ok" and len(reply) == 2:
        return reply[1]
    if kind == "callable" and len(reply) == 3:
        return Remote(channel, str(reply[1]), str(reply[2]))
    if kind == "raise" and len(reply) == 3:
        exc_type = getattr(builtins, str(reply[1]), None)
        message = str(reply[2])[:2000]
        if isinstance(exc_type, type) and issubclass(exc_type, Exception):
            try:
                raise exc_type(message)
            except TypeError:  # an exception class with other arguments
                pass
        raise RuntimeError(f"{reply[1]}: {message}")
    if kind in ("feast_store", "feast_proto"):
        return _feast(channel, reply)
    if kind == "unpicklable" and len(reply) == 2:
        raise channel._fail(str(reply[1]))
    raise channel._fail("the kernel's reply is malformed")


def _feast(channel: Channel, reply: tuple) -> Any:
    from .. import _paths
    from . import _feast_values

    try:
        if reply[0] == "feast_store" and len(reply) == 2:
            return _feast_values.store(str(reply[1]), _paths.home())
        if len(reply) == 3 and isinstance(reply[2], bytes):
            return _feast_values.from_proto(str(reply[1]), reply[2])
    except Exception as exc:  # a config the course does not use, bytes that are not a proto
        raise channel._fail(f"feast {reply[0][6:]}: {exc}".splitlines()[0]) from None
    raise channel._fail("the kernel's reply is malformed")


def resolve(channel: Channel | None, value: Any) -> Any:
    """A recorded value with its kernel-held parts in place: data fetched, functions `Remote`."""
    if isinstance(value, dict):
        if set(value) == {REF_TAG} and isinstance(value[REF_TAG], dict):
            ref = value[REF_TAG]
            if channel is None:
                raise Unverifiable(f"a {str(ref.get('type'))[:80]} held by the kernel")
            if ref.get("callable"):
                return Remote(channel, str(ref.get("ref")), str(ref.get("name") or "function"))
            return _value(channel, channel.request("get", str(ref.get("ref"))))
        return {k: resolve(channel, v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(channel, v) for v in value]
    if isinstance(value, tuple):
        return tuple(resolve(channel, v) for v in value)
    return value


def kernel_names(channel: Channel | None, code: str, known: dict[str, Any]) -> dict[str, Any]:
    """The notebook variables `code` reads that `known` lacks (`train`, a helper), fetched
    from the kernel like recorded values; a name the kernel lacks is left out."""
    import ast

    if channel is None:
        return {}
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return {}
    loaded, stored = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else stored).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            stored.add(node.name)
        elif isinstance(node, ast.alias):
            stored.add((node.asname or node.name).split(".")[0])
    found: dict[str, Any] = {}
    for name in sorted(loaded - stored - set(known) - set(dir(builtins))):
        try:
            reply = channel.request("global", name)
            if reply[0] != "raise":  # KeyError: not a name in the kernel either
                found[name] = _value(channel, reply)
        except Unverifiable:  # a module, an open store: the test that needs it is skipped
            channel.failed = ""
    return found


# The kernel's end: a self-contained grader cell body (after the reset of IPython's hooks).
SERVE = """\
def _course_grader_serve(path):
    import pickle, socket, struct, types
    refs = globals().get("_course_grader_refs")
    refs = refs if type(refs) is dict else {}
    header = struct.Struct("!Q")
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    import os
    here = os.getcwd()
    os.chdir(os.path.dirname(path))  # a short name: socket paths stop at 108 bytes
    try:
        conn.connect(os.path.basename(path))
    finally:
        os.chdir(here)
    def read(n):
        parts = []
        while n:
            chunk = conn.recv(min(n, 1 << 20))
            if not chunk:
                raise ConnectionError
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)
    def send(reply):
        try:
            body = pickle.dumps(reply, protocol=5)
        except BaseException as exc:
            body = pickle.dumps(("unpicklable", f"{type(reply[1]).__module__}.{type(reply[1]).__qualname__} cannot be sent ({type(exc).__name__})"))
        conn.sendall(header.pack(len(body)) + body)
    fn_types = (types.FunctionType, types.MethodType, types.BuiltinFunctionType)
    count = 0
    while True:
        try:
            msg = pickle.loads(read(header.unpack(read(header.size))[0]))
        except ConnectionError:
            return
        except BaseException as exc:  # arguments this kernel cannot rebuild
            send(("raise", type(exc).__name__, str(exc)[:2000]))
            continue
        if msg[0] == "bye":
            return
        try:
            obj = globals()[msg[1]] if msg[0] == "global" else refs[msg[1]]
            if msg[0] == "call" and len(msg) > 4 and msg[4]:  # the check's active MLflow run
                import mlflow
                with mlflow.start_run(run_id=msg[4]):
                    obj = obj(*msg[2], **msg[3])
            elif msg[0] == "call":
                obj = obj(*msg[2], **msg[3])
        except BaseException as exc:
            send(("raise", type(exc).__name__, str(exc)[:2000]))
            continue
        if type(obj).__module__.startswith("feast."):  # rebuilt there from data (_feast_values)
            if hasattr(obj, "repo_path") and hasattr(obj, "get_feature_view"):
                send(("feast_store", str(obj.repo_path)))
                continue
            if hasattr(obj, "to_proto"):
                send(("feast_proto", type(obj).__name__, obj.to_proto().SerializeToString()))
                continue
        if isinstance(obj, fn_types):
            count += 1
            key = f"{msg[1]}.{count}"
            refs[key] = obj
            globals()["_course_grader_refs"] = refs
            send(("callable", key, getattr(obj, "__name__", "function")))
        else:
            send(("ok", obj))
"""
