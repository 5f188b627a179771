"""A logged ``data_version`` must name the training split in the course's DVC repository."""

from __future__ import annotations

import io
import re
from typing import Any

from .. import _dvc, _paths, data
from .._errors import CheckError
from ._expect import expect


def training(value: Any, where: str) -> str:
    """The md5 ``value`` if DVC's cache holds it and it is the training split; else one line
    on what it is instead."""
    import pandas as pd

    from ..handoff import fingerprint

    if value is None or not str(value).strip():
        raise CheckError(
            f"{where} is missing: log DATA_VERSION, the md5 module 1's train.parquet.dvc records"
        )
    md5 = str(value).strip()
    expect(
        not re.fullmatch(r"[0-9a-f]{16}", md5),
        f"{where} = {md5!r} is the data fingerprint (16 digits); the DVC version is the "
        "32-digit md5 in train.parquet.dvc (DATA_VERSION)",
    )
    expect(
        re.fullmatch(r"[0-9a-f]{32}", md5),
        f"{where} = {md5[:40]!r} is not a DVC md5 (32 hex digits): log DATA_VERSION",
    )
    root = _dvc.repo_dir(_paths.home())
    raw = _dvc.cached_bytes(root, md5)
    expect(
        raw is not None,
        f"{where} = {md5[:12]}… is no version in the course's DVC cache ({root}/.dvc/cache): "
        "log the md5 that `dvc add` recorded, DATA_VERSION",
    )
    train = data.split()[0]
    try:
        frame = pd.read_parquet(io.BytesIO(raw))  # type: ignore[arg-type]
    except Exception:
        raise CheckError(f"{where} = {md5[:12]}… names a file that is not a table") from None
    expect(
        fingerprint(frame) == fingerprint(train),
        f"{where} = {md5[:12]}… names {len(frame):,} rows of data, not the {len(train):,}-row "
        "training split the model trained on: log the version of the training data",
    )
    return md5
