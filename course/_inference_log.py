"""The inference log: every request the course's model server answers, one parquet file each.

Module 6's server writes it, module 7 monitors it and module 9 retrains from it. One file per
request keeps writers independent (no file is appended to twice) and a crashed server never
leaves half a table behind.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("request_id", "logged_at", "model_name", "model_version", "prediction")


def directory(home: Path) -> Path:
    return home / "inference_log"


def append(folder: Path, frame: pd.DataFrame, predictions: Any, name: Any, version: Any) -> None:
    """Write one request: its input rows, the prediction for each, and who answered."""
    import numpy as np
    import pandas as pd

    try:
        scores = np.asarray(predictions, dtype=float).reshape(len(frame), -1)[:, -1]
    except (TypeError, ValueError):
        scores = np.full(len(frame), np.nan)
    rows = frame.reset_index(drop=True).copy()
    for column in rows.columns:
        if rows[column].dtype == object:
            rows[column] = rows[column].astype("string")
    rows["request_id"] = uuid.uuid4().hex
    rows["logged_at"] = pd.Timestamp.now(tz="UTC")
    rows["model_name"] = str(name)
    rows["model_version"] = str(version)
    rows["prediction"] = scores
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"part-{time.time_ns()}-{os.getpid()}"
    tmp = folder / f".{stem}.tmp"
    rows.to_parquet(tmp, index=False)
    tmp.replace(folder / f"{stem}.parquet")


def read(home: Path) -> pd.DataFrame:
    """Every logged row, oldest first (an empty frame when nothing was logged)."""
    import pandas as pd

    parts = sorted(directory(home).glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
