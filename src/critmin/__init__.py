"""critmin: decision support for securing critical-mineral supply between allied governments."""

__version__ = "0.1.0"


def open(db=None, *, read_only: bool = False):  # noqa: A001
    """Open the warehouse: ``critmin.open(db=None) -> Warehouse``."""
    from critmin.data.warehouse import open as _open

    return _open(db, read_only=read_only)
