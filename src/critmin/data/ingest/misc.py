"""Miscellaneous sources: OECD Country Risk Classification (parsed by a third party from the
OECD PDF) and the USGS DS140 lithium worksheet (historical US statistics, kept as annual
salient rows)."""

from __future__ import annotations

from pathlib import Path

from critmin.data.errors import ImportFault
from critmin.data.ingest.base import DatasetSpec, Frames, read_csv
from critmin.data.normalize import countries


def specs(data_dir: Path) -> list[DatasetSpec]:
    out = []
    p = data_dir / "misc_derived" / "oecd_crc_2026.csv"
    if p.exists():
        out.append(DatasetSpec(
            "oecd_crc", p, str(p.relative_to(data_dir)), "OECD (parsed from the OECD PDF by PJGriff26/materials-demand-model)",
            "Country Risk Classifications of the Participants to the Arrangement on Officially Supported Export Credits, valid as of 2026-01-30",
            "OECD terms (public document, attribution)", "2026-01-30", parse_oecd,
            url="https://www.oecd.org/en/topics/sub-issues/country-risk-classification.html",
        ))
    return out


def parse_oecd(spec: DatasetSpec) -> Frames:
    t = read_csv(spec.path, spec.relpath, required=("country", "iso3", "crc", "notes"))
    ci, ii, ri, ni = (t.col(c) for c in ("country", "iso3", "crc", "notes"))
    out = []
    for line, r in t.iter():
        iso3 = r[ii].strip().upper()
        if iso3 != "XKX" and countries.country_name(iso3) == iso3:
            try:  # non-ISO codes used by the source (XKV for Kosovo) through the alias table
                iso3 = countries.to_iso3(iso3)
            except KeyError:
                raise ImportFault(spec.relpath, line, "iso3", r[ii], "an ISO 3166 alpha-3 code") from None
        raw = r[ri].strip()
        if raw in ("", "-"):
            crc = None
        elif raw.isdigit() and 0 <= int(raw) <= 7:
            crc = int(raw)
        else:
            raise ImportFault(spec.relpath, line, "crc", raw, "an integer 0-7 or '-'")
        out.append({"dataset_id": None, "source_line": line, "country_iso3": iso3, "country_raw": r[ci],
                    "crc": crc, "note": r[ni].strip() or None})
    return {"country_risk": out}
