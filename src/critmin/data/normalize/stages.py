"""Stage taxonomy from the free-text ``TYPE`` column of the USGS world data.

Stages: ``mine`` (extraction), and for processing: ``refinery``, ``smelter``, ``plant``
(plant production), ``processing`` (other processed output, e.g. sponge metal). Capacity rows
(``Plant capacity``, ``Clinker capacity``) get ``measure='capacity'``. The original text is
always kept in ``type_raw``; ``product`` is the rest of the TYPE text after the stage words
(e.g. 'rare-earth-oxide equivalent'), so that shares are only computed within one product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class StageInfo:
    stage: str
    stage_group: str  # extraction | processing
    measure: str  # production | capacity
    product: str


_RULES: list[tuple[str, str, str]] = [
    # regex on lower-cased TYPE, stage, measure
    (r"capacity", "plant", "capacity"),
    (r"soda ash,? natural and synthetic|soda ash, total", "processing", "production"),
    (r"soda ash,? synthetic|production, synthetic", "plant", "production"),
    (r"soda ash,? natural", "mine", "production"),
    # boron chapter: types name the mineral or product
    (r"refined borates|boron compounds|boric oxide", "plant", "production"),
    (r"^borates$|crude borates|ulexite|datolite|^boron, crude ore$|boron total all types|^kyanite and related minerals$",
     "mine", "production"),
    (r"^reserves", "mine", "reserves"),
    (r"mi?ne pr?o?duction|^mine\b|natural, mine", "mine", "production"),
    (r"refinery production", "refinery", "production"),
    (r"smelter production", "smelter", "production"),
    (r"plant production", "plant", "production"),
    (r"sponge metal|raw steel|pig iron|primary production|cement production|soda ash, total|"
     r"production, synthetic|boron all types|production, all forms|production, bromine|"
     r"production, helium", "processing", "production"),
]

#: product of a TYPE that names only the stage ('Mine production, estimated')
GENERIC_PRODUCT = "(stage only)"

EXTRACTION_ANYWAY = {"boron all types", "production, bromine content, estimated", "production, helium gas content"}


def classify(type_raw: str) -> StageInfo | None:
    """Stage of a USGS ``TYPE`` text, or None when it matches no rule (caller raises)."""
    t = re.sub(r"\s+", " ", str(type_raw).strip().lower())
    t = re.sub(r"^soda ash (natural|synthetic)", r"soda ash, \1", t)
    for rx, stage, measure in _RULES:
        if re.search(rx, t):
            if t in EXTRACTION_ANYWAY:
                stage = "mine"
            group = "extraction" if stage == "mine" else "processing"
            product = re.sub(
                r"^(mine po?duction|mine production|refinery production|smelter production|"
                r"plant production|plant capacity|production)\s*,?\s*",
                "",
                t,
            ).strip(" .,")
            # 'estimated' qualifies the number, not the product
            product = re.sub(r",?\s*estimated$", "", product).strip(" .,")
            # MCS 2025 soda ash: 'Soda ash, natural, mine production' = 'Mine production, natural'
            m = re.match(r"^soda ash, (natural|synthetic)(, mine production)?$", product)
            if m:
                product = m.group(1)
            return StageInfo(stage, group, measure, product or GENERIC_PRODUCT)
    return None


def classify_column(col: str) -> StageInfo:
    """Stage of an MCS 2023/2024 per-commodity file from its Type cell text."""
    info = classify(col)
    return info if info else StageInfo("processing", "processing", "production", col)


def fill_generic_products(rows: list[dict]) -> None:
    """Rows whose TYPE names only the stage take the product of the other rows of the same
    commodity, stage and measure when there is exactly one (MCS 2025 cobalt: the US row says
    'Mine production, estimated', the others 'Mine production, cobalt content, estimated');
    the rule is noted on each row it changes."""
    products: dict[tuple, set[str]] = {}
    for r in rows:
        if r["product"] != GENERIC_PRODUCT:
            products.setdefault((r["commodity_id"], r["stage"], r["measure"]), set()).add(r["product"])
    for r in rows:
        if r["product"] == GENERIC_PRODUCT:
            others = products.get((r["commodity_id"], r["stage"], r["measure"]), set())
            if len(others) == 1:
                r["product"] = next(iter(others))
                r["note"] = "; ".join(x for x in (r.get("note"), f"TYPE names no product; the only product of this stage, '{r['product']}', applied") if x)
