"""The clean process's socket to the kernel (course.grading._remote), against a real second
Python process running the kernel's end (SERVE) as a grader cell would: no kernel, no sandbox.

Data comes back through the restricted unpickler; functions stay where they live and are
called there; whatever cannot cross is Unverifiable, and nothing the other side sends runs
code on this side.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pandas as pd
import pytest

from course.grading import _remote

# The student's side: values recorded under refs, then the grader's serve cell.
KERNEL = textwrap.dedent(
    """
    import os, sys
    import pandas as pd

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + sys.argv[2],))

    class Own:
        pass

    def double(x):
        return 2 * x

    def fails(x):
        raise ValueError(f"bad value {x}")

    def maker():
        return double

    frame = pd.DataFrame({"a": [1, 2]})
    _course_grader_refs = {
        "frame": pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
        "double": double, "fails": fails, "maker": maker,
        "evil": lambda: Evil(), "own": lambda: Own(), "lock": lambda: __import__("threading").Lock(),
    }
    """
)


@pytest.fixture
def kernel(tmp_path: Path):
    """A Channel and the process serving it; the marker file the evil value would create."""
    marker = tmp_path / "pwned"
    path = tmp_path / "rpc.sock"
    channel = _remote.Channel(path, accept_timeout=20, call_timeout=20)
    code = KERNEL + _remote.SERVE + "_course_grader_serve(sys.argv[1])\n"
    proc = subprocess.Popen([sys.executable, "-c", code, str(path), str(marker)])
    yield channel, marker
    channel.close()
    proc.wait(timeout=20)
    assert proc.returncode == 0  # "bye" ends the serve loop


def ref(name: str, callable_: bool) -> dict:
    return {_remote.REF_TAG: {"ref": name, "type": "t", "callable": callable_, "name": name}}


def test_data_crosses_and_functions_run_where_they_live(kernel) -> None:
    channel, _ = kernel
    frame = _remote.resolve(channel, ref("frame", False))
    pd.testing.assert_frame_equal(frame, pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    double = _remote.resolve(channel, ref("double", True))
    assert callable(double) and double(21) == 42 and double.__name__ == "double"
    assert double(frame)["a"].tolist() == [2, 4]  # arguments go over too
    made = _remote.resolve(channel, ref("maker", True))()
    assert isinstance(made, _remote.Remote) and made(4) == 8  # a returned function stays there
    nested = _remote.resolve(channel, {"x": [ref("frame", False)], "n": 3})
    assert nested["n"] == 3 and len(nested["x"][0]) == 2


def test_an_exception_there_is_raised_here_with_its_builtin_type(kernel) -> None:
    channel, _ = kernel
    with pytest.raises(ValueError, match="bad value 3"):
        _remote.resolve(channel, ref("fails", True))(3)
    assert channel.failed == ""  # the student's exception is an answer, not a crossing failure


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("evil", "refused to load posix.system"),
        ("own", "refused to load __main__.Own"),
        ("lock", "cannot be sent"),
    ],
)
def test_what_cannot_cross_is_unverifiable_and_runs_nothing_here(kernel, name, match) -> None:
    channel, marker = kernel
    with pytest.raises(_remote.Unverifiable, match=match):
        _remote.resolve(channel, ref(name, True))()
    assert match.split()[-1] in channel.failed or "sent" in channel.failed
    assert not marker.exists()


def test_hidden_tests_get_the_notebook_variables_they_read(kernel) -> None:
    channel, _ = kernel
    code = (
        "import math\nassert double(frame['a']).tolist() == [2, 4]\nn = len(frame)\nmissing, pd\n"
    )
    names = _remote.kernel_names(channel, code, {"math": None})
    # not len (a builtin), n (assigned), missing (not in the kernel), pd (a module: cannot cross)
    assert sorted(names) == ["double", "frame"] and channel.failed == ""
    assert names["double"](5) == 10


def test_no_kernel_no_channel() -> None:
    with pytest.raises(_remote.Unverifiable, match="held by the kernel"):
        _remote.resolve(None, ref("frame", False))


def test_a_kernel_that_never_connects_is_unverifiable(tmp_path: Path) -> None:
    channel = _remote.Channel(tmp_path / "rpc.sock", accept_timeout=0.5)
    try:
        with pytest.raises(_remote.Unverifiable, match="did not answer"):
            _remote.resolve(channel, ref("frame", False))
    finally:
        channel.close()


def test_a_long_folder_still_gets_a_socket(tmp_path: Path) -> None:
    """Unix socket paths stop at 108 bytes; grading folders can be longer."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    channel = _remote.Channel(deep / "rpc.sock", accept_timeout=20)
    code = (
        "_course_grader_refs = {'n': 7}\n"
        + _remote.SERVE
        + "_course_grader_serve(__import__('sys').argv[1])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(deep / "rpc.sock")])
    got = []
    worker = threading.Thread(target=lambda: got.append(_remote.resolve(channel, ref("n", False))))
    worker.start()
    worker.join(30)
    channel.close()
    proc.wait(timeout=20)
    assert got == [7]
