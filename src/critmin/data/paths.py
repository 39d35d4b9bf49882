"""Where the data and the database live.

* Data directory: ``--data`` flag, else ``CRITMIN_DATA``, else ``../shared/data/raw``
  relative to the repository root when it exists.
* Database: ``--db`` flag, else ``CRITMIN_DB``, else ``critmin.duckdb`` in the user's data
  directory (platformdirs).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

REPO_ROOT = Path(__file__).resolve().parents[3]

HOW_TO_GET_DATA = (
    "No data directory found. Pass --data DIR or set CRITMIN_DATA to a directory holding the "
    "raw releases (the layout of ../shared/data/raw), or download the official releases with "
    "`critmin data fetch --dest DIR`."
)


class DataDirNotFound(FileNotFoundError):
    pass


def default_data_dir() -> Path | None:
    cand = REPO_ROOT.parent / "shared" / "data" / "raw"
    return cand if cand.is_dir() else None


def resolve_data_dir(flag: str | os.PathLike[str] | None = None) -> Path:
    """The data directory, or :class:`DataDirNotFound` explaining how to get one."""
    raw = flag or os.environ.get("CRITMIN_DATA")
    if raw:
        p = Path(raw).expanduser()
        if not p.is_dir():
            raise DataDirNotFound(f"data directory {p} does not exist. {HOW_TO_GET_DATA}")
        return p
    d = default_data_dir()
    if d is None:
        raise DataDirNotFound(HOW_TO_GET_DATA)
    return d


def resolve_db_path(flag: str | os.PathLike[str] | None = None) -> Path:
    raw = flag or os.environ.get("CRITMIN_DB")
    if raw:
        return Path(raw).expanduser()
    return Path(platformdirs.user_data_dir("critmin")) / "critmin.duckdb"
