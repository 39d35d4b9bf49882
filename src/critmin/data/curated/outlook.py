"""Demand drivers that the IEA outlook leaves out (issue 17; see ``docs/curated_data.md``).

``demand_drivers.csv`` holds material intensities (tonnes of a catalogue commodity per unit of
activity: per MW of data-centre capacity added, per F-35 delivered, per dilution refrigerator
filled, ...) and the activity by year (2024..2040 where a projection exists) for seven drivers:
AI and data centres, next-generation communications, quantum, fusion, space, shipbuilding and
defence. Every row names its public source and the date of the information (``as_of``).

Where no public figure exists, the row says ``ASSUMPTION (<fields>)`` in ``note`` and names, in
``setting``, one setting per assumed field (``;``-separated, in the order of the fields). The
assumed field is either blank (no default: the driver adds nothing until the setting is given) or
holds the default, whose basis the note states. :func:`assumption_settings` lists them.

Demand of a row is ``intensity x activity`` (t/yr), computed by :func:`driver_demand` only where
both are known; nothing is interpolated between years or extrapolated past the last row.

The loader validates the file with pandera and raises
:class:`~critmin.data.curated.CuratedTableError` (file, CSV line and column of every fault).
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd
import pandera.pandas as pa

from critmin.data.curated import (
    CuratedTableError,
    _catalogue_ids,
    _elem,
    _is_blank_or_positive,
    _is_date,
    _package_text,
    _read,
    _schema_faults,
    _text,
)
from critmin.data.errors import ImportFault

DRIVERS_FILE = "demand_drivers.csv"

DRIVER_COLUMNS = [
    "driver", "commodity_id", "intensity", "intensity_unit", "activity_year", "activity",
    "activity_unit", "region", "source", "as_of", "note", "setting",
]

#: driver id -> what it covers
DRIVERS: dict[str, str] = {
    "ai_data_centres": "AI and data centres (facility build-out)",
    "communications_5g6g": "next-generation communications networks (5G/6G base stations)",
    "quantum": "quantum computing hardware (cryogenics, superconducting devices)",
    "fusion": "fusion power plants (blanket and first-wall materials)",
    "space": "spacecraft and launch",
    "shipbuilding": "shipbuilding (hull steel alloys, copper)",
    "defence": "defence platforms and munitions",
}
#: region codes of the table: the world, or a partner's national figure
REGIONS: dict[str, str] = {"WORLD": "world", "USA": "United States", "JPN": "Japan"}
#: activity years of the outlook
FIRST_YEAR, LAST_YEAR = 2024, 2040
#: the ``note`` marker of an assumed value, e.g. ``ASSUMPTION (activity)``
ASSUMPTION = "ASSUMPTION"
ASSUMABLE_FIELDS = ("intensity", "activity")

_INTENSITY_UNIT = re.compile(r"t per (?P<unit>\S.*)")
_ACTIVITY_UNIT = re.compile(r"(?P<unit>\S.*) per year")
_ASSUMED = re.compile(r"ASSUMPTION \((?P<fields>[a-z, ]+)\)")
_SETTING = re.compile(r"outlook\.drivers\.[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+")


def _is_outlook_year(value: str) -> bool:
    return bool(re.fullmatch(r"\d{4}", value)) and FIRST_YEAR <= int(value) <= LAST_YEAR


def _is_settings(value: str) -> bool:
    return value == "" or all(_SETTING.fullmatch(s) for s in value.split(";"))


def _drivers_schema() -> pa.DataFrameSchema:
    ids = _catalogue_ids()
    url = re.compile(r"https?://\S+")
    return pa.DataFrameSchema(
        {
            "driver": _text(_elem(lambda s: s in DRIVERS, f"a driver in {sorted(DRIVERS)}")),
            "commodity_id": _text(_elem(lambda s: s in ids, "a commodity id of catalog/commodities.csv")),
            "intensity": _text(_elem(_is_blank_or_positive, "blank or a positive number"), blank_ok=True),
            "intensity_unit": _text(_elem(lambda s: bool(_INTENSITY_UNIT.fullmatch(s)), "'t per <unit of activity>'")),
            "activity_year": _text(_elem(_is_outlook_year, f"a year {FIRST_YEAR}..{LAST_YEAR}")),
            "activity": _text(_elem(_is_blank_or_positive, "blank or a positive number"), blank_ok=True),
            "activity_unit": _text(_elem(lambda s: bool(_ACTIVITY_UNIT.fullmatch(s)), "'<unit of activity> per year'")),
            "region": _text(_elem(lambda s: s in REGIONS, f"a region in {sorted(REGIONS)}")),
            "source": _text(_elem(lambda s: bool(url.search(s)), "a source that contains a URL")),
            "as_of": _text(_elem(_is_date, "an ISO date YYYY-MM-DD between 2009-01-01 and today")),
            "note": _text(),
            "setting": _text(_elem(_is_settings, "blank or ';'-separated names outlook.drivers.<driver>.<commodity>.<name>"),
                             blank_ok=True),
        },
        strict=True,
        ordered=True,
    )


def assumed_fields(note: str) -> tuple[str, ...]:
    """The fields a note marks as assumed: ``'ASSUMPTION (intensity, activity): ...'`` -> both."""
    m = _ASSUMED.search(note)
    if m is None:
        return ()
    return tuple(f.strip() for f in m.group("fields").split(","))


def _row_faults(df: pd.DataFrame, file: str) -> list[ImportFault]:
    faults: list[ImportFault] = []
    for line, r in df.iterrows():
        ln = int(str(line))
        iu = _INTENSITY_UNIT.fullmatch(r["intensity_unit"])
        au = _ACTIVITY_UNIT.fullmatch(r["activity_unit"])
        if iu and au and iu.group("unit") != au.group("unit"):
            faults.append(ImportFault(file, ln, "activity_unit", r["activity_unit"],
                                      f"'{iu.group('unit')} per year' (the unit of intensity_unit)"))
        fields = assumed_fields(r["note"])
        flagged = ASSUMPTION in r["note"]
        if flagged and (not fields or any(f not in ASSUMABLE_FIELDS for f in fields)):
            faults.append(ImportFault(file, ln, "note", r["note"][:60],
                                      "'ASSUMPTION (intensity|activity|intensity, activity): ...'"))
            continue
        settings = [s for s in r["setting"].split(";") if s]
        if flagged != bool(settings):
            faults.append(ImportFault(file, ln, "setting", r["setting"],
                                      "a setting exactly when the note says ASSUMPTION"))
        elif flagged and len(settings) != len(fields):
            faults.append(ImportFault(file, ln, "setting", r["setting"],
                                      f"one setting per assumed field {list(fields)}"))
        for field in ASSUMABLE_FIELDS:
            if r[field] == "" and field not in fields:
                faults.append(ImportFault(file, ln, field, "", "a number, or the field marked ASSUMPTION in note"))
        if not iu or not r["setting"]:
            continue
        prefix = f"outlook.drivers.{r['driver']}.{r['commodity_id']}."
        for s in settings:
            if not s.startswith(prefix):
                faults.append(ImportFault(file, ln, "setting", s, f"a name starting {prefix!r}"))
    key = ["driver", "commodity_id", "intensity_unit", "region", "activity_year"]
    for line in df.index[df.duplicated(key, keep="first")]:
        faults.append(ImportFault(file, int(line), "activity_year", df.at[line, "activity_year"],
                                  "one row per (driver, commodity, intensity_unit, region, year)"))
    faults.extend(_setting_conflicts(df, file))
    return faults


def _setting_conflicts(df: pd.DataFrame, file: str) -> list[ImportFault]:
    """A setting is one value: rows sharing it must assume the same field with the same default."""
    seen: dict[str, tuple[str, str, int]] = {}
    faults: list[ImportFault] = []
    for line, r in df.iterrows():
        fields = assumed_fields(r["note"])
        names = [s for s in r["setting"].split(";") if s]
        if len(names) != len(fields):
            continue  # reported by _row_faults
        for name, field in zip(names, fields, strict=True):
            value = r[field] if field in ASSUMABLE_FIELDS else ""
            if name in seen and seen[name][:2] != (field, value):
                faults.append(ImportFault(file, int(str(line)), "setting", name,
                                          f"the same assumed field and default as line {seen[name][2]}"))
            seen.setdefault(name, (field, value, int(str(line))))
    return faults


def validate_demand_drivers(df: pd.DataFrame, file: str = DRIVERS_FILE) -> pd.DataFrame:
    """Check a raw (all-string) driver table and return it typed; raise :class:`CuratedTableError`."""
    faults = _schema_faults(_drivers_schema(), df, file)
    if not faults:
        faults = _row_faults(df, file)
    if faults:
        raise CuratedTableError(faults)
    out = df.copy()
    for col in ("intensity", "activity"):
        out[col] = pd.to_numeric(out[col].replace("", None), errors="raise").astype("float64")
    out["activity_year"] = out["activity_year"].astype("int64")
    out["as_of"] = pd.to_datetime(out["as_of"], format="%Y-%m-%d")
    out.index.name = "csv_line"
    return out


@lru_cache(maxsize=1)
def _demand_drivers() -> pd.DataFrame:
    return validate_demand_drivers(_read(_package_text(DRIVERS_FILE), DRIVERS_FILE))


def demand_drivers() -> pd.DataFrame:
    """All driver rows: ``driver, commodity_id, intensity`` (float, NaN = assumed, no default),
    ``intensity_unit, activity_year`` (int), ``activity`` (float, NaN likewise), ``activity_unit,
    region, source, as_of`` (datetime64), ``note, setting``; indexed by CSV line."""
    return _demand_drivers().copy()


def driver_demand(driver: str | None = None, commodity_id: str | None = None,
                  region: str | None = None) -> pd.DataFrame:
    """Driver rows with ``demand_t = intensity x activity`` (t/yr; NaN where either is unknown)
    and ``assumed`` (True if any input is an ASSUMPTION default), filtered by the arguments."""
    if driver is not None and driver not in DRIVERS:
        raise KeyError(f"unknown driver {driver!r}; known: {', '.join(DRIVERS)}")
    if region is not None and region not in REGIONS:
        raise KeyError(f"unknown region {region!r}; known: {', '.join(REGIONS)}")
    df = demand_drivers()
    if driver is not None:
        df = df[df["driver"] == driver]
    if commodity_id is not None:
        df = df[df["commodity_id"] == commodity_id]
    if region is not None:
        df = df[df["region"] == region]
    df = df.assign(demand_t=df["intensity"] * df["activity"], assumed=df["setting"] != "")
    return df


def assumption_settings() -> pd.DataFrame:
    """One row per assumption setting: ``setting, driver, commodity_id, field`` (intensity or
    activity), ``default`` (float, NaN = no default), ``unit``, ``years`` (sorted list) and
    ``csv_lines`` (the rows that use it)."""
    df = _demand_drivers()
    acc: dict[str, dict[str, object]] = {}
    for line, r in df.iterrows():
        names = [s for s in r["setting"].split(";") if s]
        for name, field in zip(names, assumed_fields(r["note"]), strict=True):
            unit = r["intensity_unit"] if field == "intensity" else r["activity_unit"]
            value = float(r[field])
            entry = acc.setdefault(name, {
                "setting": name, "driver": r["driver"], "commodity_id": r["commodity_id"],
                "field": field, "default": value, "unit": unit, "years": [], "csv_lines": [],
            })
            years = entry["years"]
            lines = entry["csv_lines"]
            assert isinstance(years, list) and isinstance(lines, list)
            years.append(int(r["activity_year"]))
            lines.append(int(str(line)))
    rows = list(acc.values())
    for e in rows:
        years = e["years"]
        assert isinstance(years, list)
        e["years"] = sorted(set(years))
    out = pd.DataFrame(rows, columns=["setting", "driver", "commodity_id", "field", "default",
                                      "unit", "years", "csv_lines"])
    return out


__all__ = [
    "ASSUMABLE_FIELDS", "ASSUMPTION", "DRIVERS", "DRIVER_COLUMNS", "FIRST_YEAR", "LAST_YEAR",
    "REGIONS", "assumed_fields", "assumption_settings", "demand_drivers", "driver_demand",
    "validate_demand_drivers",
]
