"""Charts of the commodity pages, drawn with matplotlib to SVG (no browser, no network).

Glyphs are drawn as paths (``svg.fonttype = 'path'``), so the SVG needs no font when Typst
embeds it; the font is Noto Sans (Latin) or Noto Sans CJK JP (Japanese) from Debian's
fonts-noto-core / fonts-noto-cjk, the same the PDF's text uses.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from critmin.brief.fonts import font_file
from critmin.brief.model import CommodityPage

#: Okabe-Ito palette (colour-blind safe; Okabe & Ito 2008, "Color Universal Design")
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")


@cache
def _font(lang: str) -> str:
    from matplotlib import font_manager

    path = font_file(lang)
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def _figure(width_in: float, height_in: float, lang: str):  # noqa: ANN202 - matplotlib Figure
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in))
    fig.subplots_adjust(left=0.2, right=0.98, top=0.88, bottom=0.22)
    return fig, _font(lang)


def _svg(fig) -> bytes:  # noqa: ANN001
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "critmin", "svg.id": "critmin"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def supply_chart(page: CommodityPage, lang: str, other_label: str) -> bytes | None:
    """One 100 % bar per stage, a segment per leading country (the rest grey)."""
    if not page.supply:
        return None
    fig, family = _figure(6.3, 0.55 + 0.42 * len(page.supply), lang)
    ax = fig.add_subplot()
    colours: dict[str, str] = {}
    stages = list(page.supply)[::-1]
    for y, st in enumerate(stages):
        left = 0.0
        for country, share in page.supply[st]:
            colour = "#BBBBBB" if country == other_label else colours.setdefault(
                country, PALETTE[len(colours) % (len(PALETTE) - 1)])
            ax.barh(y, 100 * share, left=left, color=colour, edgecolor="white", height=0.7)
            if share >= 0.08:
                ax.text(left + 50 * share, y, f"{country}\n{100 * share:.0f}%", ha="center", va="center",
                        fontsize=6.5, family=family, color="white" if country != other_label else "black")
            left += 100 * share
    ax.set_yticks(range(len(stages)), stages, family=family, fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("%", family=family, fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    return _svg(fig)


def price_chart(page: CommodityPage, lang: str) -> bytes | None:
    if len(page.prices) < 2:
        return None
    fig, family = _figure(6.3, 2.0, lang)
    ax = fig.add_subplot()
    xs = [d for d, _p, _n in page.prices]
    ys = [p for _d, p, _n in page.prices]
    ax.plot(xs, ys, color=PALETTE[0], linewidth=1.2, marker="o" if len(xs) < 30 else None, markersize=2.5)
    ax.set_ylabel(page.price_unit or "", family=family, fontsize=8)
    ax.set_title(page.prices[0][2], family=family, fontsize=8, loc="left")
    ax.tick_params(labelsize=7)
    ax.grid(axis="y", linewidth=0.3)
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    return _svg(fig)


def render(pages: list[CommodityPage], lang: str, out_dir: Path, other_label: str) -> None:
    """Write each page's charts as SVG files into ``out_dir`` and record their names on the page."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(pages):
        for name, svg in (("supply", supply_chart(p, lang, other_label)), ("price", price_chart(p, lang))):
            if svg is None:
                continue
            f = f"{i:02d}_{p.commodity}_{name}.svg"
            (out_dir / f).write_bytes(svg)
            p.charts[name] = f
