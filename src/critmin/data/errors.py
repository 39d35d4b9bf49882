"""Import errors that say exactly where and what."""

from __future__ import annotations

from pathlib import Path


class ImportFault(ValueError):
    """A source file does not have the shape or content the importer expects.

    The message names the file, the line, the column, what was found and what was expected,
    e.g. ``usgs_mcs2025/world_data/MCS2025_World_Data.csv, line 12, column 'PROD_2023':
    found 'abc', expected a number or a USGS code (W, NA, E, XX, >N, <N, N-M)``.
    """

    def __init__(
        self,
        path: str | Path,
        line: int | None,
        column: str | None,
        found: object,
        expected: str,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.column = column
        self.found = found
        self.expected = expected
        where = self.path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: found {found!r}, expected {expected}")


class UnknownCommodity(KeyError):
    def __init__(self, text: str, suggestions: list[str] | None = None) -> None:
        self.text = text
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown commodity {text!r}{hint}")

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownCountry(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])
