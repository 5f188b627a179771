"""Feast objects from the student's kernel, rebuilt in the clean process from data only.

A FeatureStore cannot be pickled (it holds open registries); the kernel sends its repo path,
and the store is opened again here with a config built from the repo's `feature_store.yaml`
after checking it names only the course's local parts: a config may name any class to import
(an online store type, a provider), and the clean process imports nothing a student chose.
A FeatureService or FeatureView comes over as its protobuf bytes, which are plain data.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

__all__ = ["from_proto", "open_store", "store"]

_KEYS = {"project", "provider", "registry", "offline_store", "online_store",
         "entity_key_serialization_version"}  # fmt: skip
_OFFLINE = {"file", "dask", "duckdb"}
_MAX_YAML = 1 << 16


class NotCourseStore(ValueError):
    """The store is not the course's local kind: the clean process will not open it."""


def store(repo: str, home: Path) -> Any:
    """The learner's FeatureStore, opened again from what is on disk under the state dir."""
    import yaml
    from feast import FeatureStore
    from feast.repo_config import RepoConfig

    path = Path(repo)
    if not path.is_absolute() or not path.resolve().is_relative_to(home.resolve()):
        raise NotCourseStore(f"the store's repo {repo[:120]} is not under the state dir")
    config = yaml.safe_load(_read(path / "feature_store.yaml"))
    if not isinstance(config, dict) or set(config) - _KEYS:
        raise NotCourseStore("feature_store.yaml holds settings the course does not use")
    if config.get("provider", "local") != "local":
        raise NotCourseStore("the store's provider is not local")
    online, offline = config.get("online_store") or {}, config.get("offline_store") or {}
    registry = config.get("registry", "data/registry.db")
    if not (isinstance(online, dict) and online.get("type", "sqlite") == "sqlite"):
        raise NotCourseStore("the store's online store is not sqlite")
    if not (isinstance(offline, dict) and offline.get("type", "dask") in _OFFLINE):
        raise NotCourseStore("the store's offline store is not a local one")
    if isinstance(registry, dict) and registry.get("registry_type", "file") != "file":
        raise NotCourseStore("the store's registry is not a file")
    if not isinstance(registry, (str, dict)):
        raise NotCourseStore("the store's registry is not a file")
    return FeatureStore(repo_path=str(path), config=RepoConfig(repo_path=path, **config))


def open_store(repo: str, config: dict) -> Any:
    """The kernel's end: a store the clean process passes to a function, opened there."""
    from feast import FeatureStore
    from feast.repo_config import RepoConfig

    return FeatureStore(repo_path=repo, config=RepoConfig(**config))


def from_proto(kind: str, raw: bytes) -> Any:
    """A FeatureService or FeatureView from its protobuf bytes."""
    if kind == "FeatureService":
        from feast import FeatureService
        from feast.protos.feast.core.FeatureService_pb2 import FeatureService as Proto

        return FeatureService.from_proto(Proto.FromString(raw))
    if kind == "FeatureView":
        from feast import FeatureView
        from feast.protos.feast.core.FeatureView_pb2 import FeatureView as Proto

        return FeatureView.from_proto(Proto.FromString(raw))
    raise NotCourseStore(f"a feast {kind[:40]} cannot be rebuilt here")


def _read(path: Path) -> str:
    """A small regular file, read without following a link or blocking on a FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_YAML:
            raise NotCourseStore(f"{path.name} is not a small regular file")
        return os.read(fd, _MAX_YAML).decode("utf-8", "replace")
    finally:
        os.close(fd)
