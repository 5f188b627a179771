"""`make install`: the venv from requirements.lock, with uv when it serves, else with pip.

uv installs the lock in a fraction of pip's time, but it does not read pip's configuration. The
machine's pip settings that decide what gets installed (indexes, find-links, constraints, trusted
hosts, certificates, timeouts) are read from pip itself (``pip config list``: its files and the
PIP_* variables) and handed to uv as flags, so both resolve the same pins from the same places.
A setting uv cannot honour, or no uv at all, means pip does the install. Standard library only:
this runs before anything else is installed.

    python -m course._install VENV_PYTHON UV
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

LOCK = "requirements.lock"
# pip settings with a uv counterpart: flag (repeated for each whitespace-separated value).
LIST_FLAGS = {
    "extra-index-url": "--extra-index-url",
    "find-links": "--find-links",
    "constraint": "--constraint",
    "trusted-host": "--allow-insecure-host",
    "only-binary": "--only-binary",
    "no-binary": "--no-binary",
}
SINGLE_FLAGS = {"index-url": "--index-url"}
BOOL_FLAGS = {"no-index": "--no-index", "pre": "--prerelease=allow"}
# pip settings uv reads from the environment instead.
ENV_SETTINGS = {
    "cert": "SSL_CERT_FILE",
    "client-cert": "SSL_CLIENT_CERT",
    "timeout": "UV_HTTP_TIMEOUT",
    "default-timeout": "UV_HTTP_TIMEOUT",
    "proxy": "HTTPS_PROXY",
}
# pip settings that change nothing about what gets installed.
NO_EFFECT = {
    "disable-pip-version-check", "no-input", "quiet", "verbose", "progress-bar", "retries",
    "root-user-action", "no-cache-dir", "cache-dir", "no-color", "log", "exists-action",
    "no-warn-script-location", "require-virtualenv", "break-system-packages", "prefer-binary",
    "no-python-version-warning", "use-feature", "isolated",
}  # fmt: skip


def pip_settings(python: str) -> dict[str, str]:
    """pip's effective settings for `pip install`: PIP_* variables over [install] over [global]."""
    out = subprocess.run(
        [python, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True
    ).stdout
    ranked: dict[str, tuple[int, str]] = {}
    rank = {"global": 0, "install": 1, ":env:": 2}
    for line in out.splitlines():
        key, sep, raw = line.partition("=")
        section, _, name = key.rpartition(".")
        if not sep or section not in rank:
            continue
        try:
            value = str(ast.literal_eval(raw))
        except (ValueError, SyntaxError):
            value = raw.strip("'\"")
        name = {"f": "find-links", "c": "constraint", "i": "index-url"}.get(name, name)
        if name not in ranked or ranked[name][0] <= rank[section]:
            ranked[name] = (rank[section], value)
    return {name: value for name, (_, value) in ranked.items()}


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def uv_options(settings: dict[str, str]) -> tuple[list[str], dict[str, str], list[str]]:
    """(flags, environment, settings uv cannot honour) for `uv pip install`."""
    flags, env, unknown = [], {}, []
    for name, value in sorted(settings.items()):
        if name in LIST_FLAGS:
            flags += [f"{LIST_FLAGS[name]}={item}" for item in value.split()]
        elif name in SINGLE_FLAGS:
            flags.append(f"{SINGLE_FLAGS[name]}={value}")
        elif name in BOOL_FLAGS:
            flags += [BOOL_FLAGS[name]] if _truthy(value) else []
        elif name in ENV_SETTINGS:
            env[ENV_SETTINGS[name]] = value
            if name == "proxy":
                env["HTTP_PROXY"] = value
        elif name not in NO_EFFECT:
            unknown.append(name)
    return flags, env, unknown


def _usable(uv: Path) -> bool:
    try:
        return subprocess.run([str(uv), "--version"], capture_output=True).returncode == 0
    except OSError:
        return False


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env=env)


def with_uv(uv: Path, venv_python: str, flags: list[str], extra_env: dict[str, str]) -> None:
    env = {**os.environ, **extra_env}
    # pip's view, not uv's own configuration files; pip picks the best version across all
    # indexes, uv's default stops at the first index that has the package.
    common = [
        "--python", venv_python, "--no-config", "--index-strategy", "unsafe-best-match",
        *flags,
    ]  # fmt: skip
    _run([str(uv), "pip", "install", *common, "--compile-bytecode", "-r", LOCK], env)
    _run([str(uv), "pip", "install", *common, "--no-deps", "-e", "."], env)


def with_pip(venv_python: str) -> None:
    pip = [venv_python, "-m", "pip", "install", "--disable-pip-version-check"]
    _run([*pip, "-r", LOCK])
    _run([*pip, "--no-deps", "-e", "."])


def main(argv: list[str]) -> int:
    venv_python, uv = argv[0], Path(argv[1])
    start = time.monotonic()
    flags, env, unknown = uv_options(pip_settings(venv_python))
    if not _usable(uv):
        print("uv is not available: installing with pip (slower)", flush=True)
        with_pip(venv_python)
    elif unknown:
        print(f"pip setting(s) {', '.join(unknown)} have no uv equivalent: installing with pip")
        with_pip(venv_python)
    else:
        with_uv(uv, venv_python, flags, env)
    print(f"installed {LOCK} into {Path(venv_python).parent.parent} in "
          f"{time.monotonic() - start:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except subprocess.CalledProcessError as exc:
        print(f"error: `{' '.join(map(str, exc.cmd[:3]))} ...` failed (exit {exc.returncode}); "
              "see the lines above", file=sys.stderr)  # fmt: skip
        sys.exit(1)
