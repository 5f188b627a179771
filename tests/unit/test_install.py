"""`make install` with uv must install what pip would: pip's own settings (files and PIP_*
variables, in pip's order of precedence) become uv flags, and a setting uv cannot honour sends
the install back to pip. Nothing here downloads anything."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import REPO

from course import _install

PIP_ENV = ("PIP_FIND_LINKS", "PIP_CONSTRAINT", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL",
           "PIP_NO_INDEX", "PIP_REQUIRE_HASHES", "PIP_TRUSTED_HOST")  # fmt: skip


@pytest.fixture
def pip_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pip configuration file of our own, loaded over the machine's (as PIP_CONFIG_FILE is)."""
    for name in PIP_ENV:
        monkeypatch.delenv(name, raising=False)
    conf = tmp_path / "pip.conf"
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    return conf


def test_pip_settings_follow_pips_precedence(pip_conf: Path, monkeypatch) -> None:
    pip_conf.write_text(
        "[global]\nindex-url = https://index.invalid/simple\n"
        "extra-index-url = file:///one file:///two\nfind-links = /from-global\n"
        "[install]\nfind-links = /from-install\nconstraint = /from-install.txt\n"
    )
    monkeypatch.setenv("PIP_CONSTRAINT", "/from-env.txt")
    settings = _install.pip_settings(sys.executable)
    assert settings["index-url"] == "https://index.invalid/simple"
    assert settings["extra-index-url"] == "file:///one file:///two"
    assert settings["find-links"] == "/from-install"  # [install] over [global]
    assert settings["constraint"] == "/from-env.txt"  # PIP_* over the files


def test_uv_gets_every_setting_that_decides_what_is_installed() -> None:
    flags, env, unknown = _install.uv_options({
        "index-url": "https://index.invalid/simple",
        "extra-index-url": "file:///one file:///two",
        "find-links": "/wheels",
        "constraint": "/c.txt",
        "trusted-host": "index.invalid",
        "no-index": "false",
        "cert": "/ca.pem",
        "default-timeout": "180",
        "disable-pip-version-check": "1",
    })  # fmt: skip
    assert flags == [
        "--constraint=/c.txt",
        "--extra-index-url=file:///one",
        "--extra-index-url=file:///two",
        "--find-links=/wheels",
        "--index-url=https://index.invalid/simple",
        "--allow-insecure-host=index.invalid",
    ]
    assert env == {"SSL_CERT_FILE": "/ca.pem", "UV_HTTP_TIMEOUT": "180"}
    assert unknown == []
    assert _install.uv_options({"no-index": "true"})[0] == ["--no-index"]


def test_a_setting_uv_cannot_honour_is_reported() -> None:
    assert _install.uv_options({"require-hashes": "1", "src": "/x"})[2] == ["require-hashes", "src"]


def test_this_machines_pip_settings_all_translate() -> None:
    """Here uv does the install (the CI and learners' machines look like this one)."""
    assert _install.uv_options(_install.pip_settings(sys.executable))[2] == []


def test_install_falls_back_to_pip_without_uv(tmp_path: Path) -> None:
    assert not _install._usable(tmp_path / "no-uv")


def test_makefile_installs_uv_outside_the_venvs_packages() -> None:
    text = (REPO / "Makefile").read_text()
    assert "--target $(UV_DIR)" in text and "-m course._install" in text
    assert "--quiet" not in text.split("$(STAMP):", 1)[1].split("system-deps:", 1)[0]
