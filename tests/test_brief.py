"""The briefing pack on the real warehouse (issue 16, "What must hold").

* ``critmin brief --for US,JP --year 2024 --lang en`` writes brief.pdf and brief.xlsx; the PDF's
  text (pypdf) shows the figures the APIs give for the same request (watchlist scores from
  :func:`critmin.risk.api.run`, stockpile budget use and the value of coordination from
  :func:`critmin.stockpile.service.plan`, the portfolio's budget use from
  :func:`critmin.projects.api.select_portfolio`); every page renders (pdftoppm) and is not blank;
  the workbook opens with openpyxl with numeric cells equal to the API's numbers; the brief is in
  the audit log with the sha256 of both files.
* The Japanese brief has Japanese text on every page, only embedded Noto fonts (pdffonts), and
  every character it shows has a glyph in the embedded font (fontTools on the Noto CJK file).
* A JP brief with US-only projects in the registry names none of them and its totals exclude
  them (the same selection as the API's over the JP-visible records, which differs from the one
  with the US-only record).

Monte Carlo sizes are small (settings brief.mc_runs, brief.stockpile_runs through their
environment variables); the brief uses the same sizes as the API calls it is compared with.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

MC_RUNS = 300
SP_RUNS = 150
JP_CHARS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


def _need_tools() -> None:
    from critmin.brief.fonts import FontsMissing, font_files

    try:
        font_files("ja")
    except FontsMissing as exc:
        pytest.skip(str(exc))
    for tool in ("pdftoppm", "pdffonts"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (scripts/install_brief_deps.sh)")


@pytest.fixture(scope="module")
def env_small():
    old = {k: os.environ.get(k) for k in ("CRITMIN_BRIEF_MC_RUNS", "CRITMIN_BRIEF_STOCKPILE_RUNS")}
    os.environ["CRITMIN_BRIEF_MC_RUNS"] = str(MC_RUNS)
    os.environ["CRITMIN_BRIEF_STOCKPILE_RUNS"] = str(SP_RUNS)
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def db_copy(real_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the warehouse, so the registry and audit log beside it are this module's."""
    dst = tmp_path_factory.mktemp("brief_wh") / "critmin.duckdb"
    shutil.copyfile(real_db_path, dst)
    return dst


@pytest.fixture(scope="module")
def en_brief(db_copy: Path, env_small, tmp_path_factory: pytest.TempPathFactory) -> Path:
    _need_tools()
    from typer.testing import CliRunner

    from critmin.cli.main import app

    out = tmp_path_factory.mktemp("brief_en")
    res = CliRunner().invoke(app, ["--db", str(db_copy), "brief", "--for", "US,JP", "--year", "2024", "--lang", "en",
                                   "--visibility", "joint", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["params"]["mc_runs"] == MC_RUNS and doc["params"]["stockpile_runs"] == SP_RUNS
    (out / "result.json").write_text(res.stdout)
    return out


def _text(pdf: Path) -> list[str]:
    from pypdf import PdfReader

    return [" ".join((p.extract_text() or "").split()) for p in PdfReader(str(pdf)).pages]


def test_cli_writes_both_files(en_brief: Path) -> None:
    assert (en_brief / "brief.pdf").stat().st_size > 10_000
    assert (en_brief / "brief.xlsx").stat().st_size > 5_000
    doc = json.loads((en_brief / "result.json").read_text())
    assert len(doc["commodities"]) == 15  # setting brief.priority_count
    assert doc["pages"] >= 1 + 1 + 15 + 1  # cover, summary, one per commodity, annex


def test_pdf_figures_equal_the_apis(en_brief: Path, db_copy: Path) -> None:
    from critmin import settings
    from critmin.brief.params import parse_budgets
    from critmin.data.warehouse import Warehouse
    from critmin.projects.api import open_registry, score_with_warehouse, select_portfolio
    from critmin.risk.api import run
    from critmin.stockpile.service import PlanRequest, plan

    pages = _text(en_brief / "brief.pdf")
    summary = " ".join(pages[1:4])
    wh = Warehouse(db_copy, read_only=True)
    try:
        a = run(wh, ("USA", "JPN"), year=2024)
        ranked = [r for r in a.records if r["group"] == "ranked"][:15]
        names = dict(zip(a.watchlist["commodity"], a.watchlist["name"], strict=True))
        for r in ranked:  # "<rank> <name> <score>" as in the watchlist table
            want = f"{r['rank']} {names[r['commodity']]} {r['indices']['joint_score']:.3f}"
            assert want in summary, want
        seed = int(settings.get("brief.random_state"))
        budgets = parse_budgets(str(settings.get("brief.stockpile_budgets")), "brief.stockpile_budgets")
        rep = plan(wh, PlanRequest(budgets_usd=budgets, runs=SP_RUNS, seed=seed))
        d = rep.plan.to_dict()
        for k, name in (("USA", "United States"), ("JPN", "Japan")):
            used = sum(t["cost_usd"] for t in d["targets"] if t["partner"] == k)
            want = f"Stockpile plan, {name}: US$ {used / 1e6:,.1f} million of US$ {budgets[k] / 1e6:,.1f} million used."
            assert want in summary, want
        v = d["value_of_coordination"]
        assert f"saves US$ {v['usd'] / 1e6:,.1f} million a year ({v['pct']:.2f}% of the expected cost)" in summary
        pb = parse_budgets(str(settings.get("brief.project_budgets")), "brief.project_budgets")
        projects = [p for p in open_registry(wh).list("joint") if p.visibility == "joint"]
        sel = select_portfolio(projects, score_with_warehouse(wh, projects, year=2024), pb)
        assert f"{len(sel['selected'])} projects selected" in summary
        packed = summary.replace(" ", "")  # a long id may wrap inside its table cell
        for p in sel["selected"]:
            assert p["project"] in packed
    finally:
        wh.close()


def test_every_page_renders_and_is_not_blank(en_brief: Path, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "30", "-png", str(en_brief / "brief.pdf"), str(tmp_path / "p")], check=True)
    files = sorted(tmp_path.glob("p-*.png"))
    assert len(files) == json.loads((en_brief / "result.json").read_text())["pages"]
    for f in files:
        img = np.asarray(Image.open(f).convert("L"))
        body = img[int(0.12 * img.shape[0]): int(0.88 * img.shape[0])]  # without header and footer
        assert (body < 200).mean() > 0.004, f"{f.name}: blank body"


def test_workbook_typed_cells(en_brief: Path, db_copy: Path) -> None:
    import openpyxl

    from critmin.data.warehouse import Warehouse
    from critmin.risk.api import run

    wb = openpyxl.load_workbook(en_brief / "brief.xlsx")
    assert {"Watchlist", "Risks", "Stockpile budget", "Exposure", "Disruption", "Sources"} <= set(wb.sheetnames)
    ws = wb["Watchlist"]
    headers = [c.value for c in ws[3]]
    assert "Joint score (0–1)" in headers and ws.freeze_panes == "A4" and ws.auto_filter.ref
    col = headers.index("Joint score (0–1)") + 1
    scores = [ws.cell(row=r, column=col).value for r in range(4, 19)]
    assert all(isinstance(x, float) for x in scores)
    wh = Warehouse(db_copy, read_only=True)
    try:
        a = run(wh, ("USA", "JPN"), year=2024)
    finally:
        wh.close()
    want = [r["indices"]["joint_score"] for r in a.records if r["group"] == "ranked"][:15]
    assert scores == pytest.approx(want, rel=1e-12)
    numeric = 0
    for name in wb.sheetnames:
        for row in wb[name].iter_rows(min_row=4, values_only=True):
            numeric += sum(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)
    assert numeric > 500
    src = wb["Sources"]
    top = [r[0] for r in src.iter_rows(max_row=12, values_only=True)].index("Sheet") + 1  # under the data statement
    rows = list(src.iter_rows(min_row=top + 1, values_only=True))
    assert rows and all(r[0] in wb.sheetnames for r in rows)
    watch = [r for r in rows if r[0] == "Watchlist"]
    assert {r[1] for r in watch} == set(range(4, 19))  # every watchlist row has its sources
    assert all(isinstance(r[3], int) for r in watch)  # a warehouse dataset id


def test_brief_is_audited_with_sha256(en_brief: Path, db_copy: Path) -> None:
    from critmin.ops import open_store
    from critmin.web import audit

    got = [e for e in audit.entries(open_store(warehouse=db_copy), action="brief.") if e["action"] == "brief.generate"]
    assert got
    detail = json.loads(got[0]["detail"])
    for name in ("brief.pdf", "brief.xlsx"):
        assert detail["sha256"][name] == hashlib.sha256((en_brief / name).read_bytes()).hexdigest()
    assert detail["params"]["partners"] == ["USA", "JPN"] and detail["params"]["year"] == 2024


def _cover(pdf: Path) -> str:
    """The cover's text as poppler's pdftotext gives it, whitespace collapsed."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (poppler-utils)")
    out = subprocess.run(["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


def test_cover_and_sources_sheet_state_the_data(en_brief: Path, db_copy: Path, data_dir: Path, tmp_path: Path) -> None:
    """The cover and the Sources sheet name the USGS MCS release read: unpinned, the newest
    release folder of the raw data (usgs_mcs2025); with ``--vintage MCS2023``, MCS 2023 and the
    newer releases not read. The IEA extract is named with its May 2025 edition (SOURCES.md,
    folder iea_cmde_2025), and the page footers carry the release too."""
    import openpyxl
    from typer.testing import CliRunner

    from critmin.cli.main import app

    newest = max(int(p.name[len("usgs_mcs"):len("usgs_mcs") + 4]) for p in data_dir.glob("usgs_mcs20??*"))
    assert newest == 2025
    cover = _cover(en_brief / "brief.pdf")
    assert f"USGS MCS {newest} (newest release per commodity and year;" in cover
    assert "International Energy Agency: 2025-05" in cover and "UTC (warehouse file" in cover
    res = CliRunner().invoke(app, ["--db", str(db_copy), "brief", "--vintage", "MCS2023", "--commodities", "nickel",
                                   "--out", str(tmp_path)])  # the Monte Carlo sizes of env_small (via en_brief)
    assert res.exit_code == 0, res.output
    pinned = "as of USGS MCS 2023 (pinned; newer releases not read: MCS 2024, MCS 2025)"
    cover = _cover(tmp_path / "brief.pdf")
    assert pinned in cover and "newest release per commodity" not in cover
    assert "as of USGS MCS 2023 · Data version" in " ".join(_text(tmp_path / "brief.pdf")[1].split())  # the footer
    for path, want in ((en_brief / "brief.xlsx", f"USGS MCS {newest} (newest release"), (tmp_path / "brief.xlsx", pinned)):
        cells = {r[0]: r[1] for r in openpyxl.load_workbook(path)["Sources"].iter_rows(max_row=8, values_only=True)}
        assert str(cells["USGS data"]).startswith(want), cells
        assert "International Energy Agency: 2025-05" in str(cells["Other sources (as imported)"])


def _generate(db: Path, out: Path, **kw):
    from critmin.brief.assemble import BriefRequest
    from critmin.brief.service import generate
    from critmin.data.warehouse import Warehouse

    wh = Warehouse(db, read_only=True)
    try:
        return generate(wh, BriefRequest(partners=("USA", "JPN"), year=2024, mc_runs=MC_RUNS, stockpile_runs=SP_RUNS, **kw), out)
    finally:
        wh.close()


@pytest.fixture(scope="module")
def ja_brief(db_copy: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a BriefResult
    """The Japanese brief of three commodities, generated once for the tests of its text."""
    _need_tools()
    return _generate(db_copy, tmp_path_factory.mktemp("brief_ja"), lang="ja",
                     commodities=("rare_earths", "gallium", "graphite"))


def test_japanese_brief_text_fonts_glyphs(ja_brief) -> None:
    from fontTools.ttLib import TTCollection

    from critmin.brief.fonts import find

    res = ja_brief
    pages = _text(res.pdf)
    assert len(pages) == res.pages >= 5
    for i, t in enumerate(pages, start=1):
        assert JP_CHARS.search(t), f"page {i} has no Japanese text"
    assert "レアアース（希土類）" in " ".join(pages) and "要旨" in pages[1]
    out = subprocess.run(["pdffonts", str(res.pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert out, "no fonts listed"
    for line in out:
        assert "Noto" in line, line
        cols = line.split()
        assert cols[-5] == "yes", f"font not embedded: {line}"  # the 'emb' column
    # every character shown has a glyph in the embedded faces (no tofu)
    cmap: set[int] = set()
    for name in ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc"):
        for font in TTCollection(str(find(name))).fonts:
            if "JP" in font["name"].getDebugName(1):
                cmap |= set(font.getBestCmap())
    shown = {ch for t in pages for ch in t if not ch.isspace()}
    missing = sorted(ch for ch in shown if ord(ch) not in cmap)
    assert not missing, f"characters without a glyph: {missing}"


#: an English word (a run of them is prose or a label); ids, codes and acronyms (CHN, HS, USD,
#: CVaR, Price_Low-purity_dkg, docs/stockpile.md) are not words and end a run
EN_WORD = re.compile(r"[A-Za-z][a-z]+(?:['’][a-z]+)?")
STRIP = ",;:.()[]{}\"'“”‘’!?"


def _english_trigrams(text: str) -> list[str]:
    """Every three consecutive English words of ``text`` (separated by spaces and punctuation only)."""
    out: list[str] = []
    run: list[str] = []
    for tok in text.replace("-", " ").split():  # a hyphen may end a line: its halves are words
        core = tok.strip(STRIP)
        if EN_WORD.fullmatch(core):  # punctuation around a word keeps the run going (prose)
            run.append(core.lower())
            if len(run) >= 3:
                out.append(" ".join(run[-3:]))
        else:
            run = []
    return out


def _published_strings(db: Path) -> list[str]:
    """Texts that stay as published: every string of the project registry's records (names,
    milestones, notes, source titles as their publishers wrote them) and the warehouse's price
    series names (the publisher's own series labels)."""
    from critmin.data.warehouse import Warehouse
    from critmin.projects.api import open_registry

    def strings(v: object) -> list[str]:
        if isinstance(v, str):
            return [v]
        if isinstance(v, dict):
            return [s for x in v.values() for s in strings(x)]
        if isinstance(v, (list, tuple)):
            return [s for x in v for s in strings(x)]
        return []

    wh = Warehouse(db, read_only=True)
    try:
        out = [s for p in open_registry(wh).list("joint") for s in strings(p.model_dump(mode="json"))]
    finally:
        wh.close()
    return out


def test_japanese_brief_has_no_english_prose(ja_brief, db_copy: Path) -> None:
    """Outside the annex's source list (titles as published), no three consecutive English words
    appear on any page of the Japanese brief unless they are a published text (a registry
    record's name, milestone or note). The check is shown to catch English: the English brief's
    own pages fail it."""
    pages = _text(ja_brief.pdf)
    allowed = {g for s in _published_strings(db_copy) for g in _english_trigrams(s)}
    # the annex's source list (titles as their publishers wrote them) begins at "[1] " and runs to the end
    first = next(i for i, t in enumerate(pages) if "[1] " in t)
    pages = pages[:first] + [pages[first].split("[1] ", 1)[0]]
    # so does the cover's line of the other sources' publishers and releases (as the dataset table records them)
    head, rest = pages[0].split("その他の出典（取込時の版）", 1)
    pages[0] = head + rest.split("データ取込日時", 1)[1]
    found: dict[int, list[str]] = {}
    for i, t in enumerate(pages, start=1):
        bad = sorted({g for g in _english_trigrams(t) if g not in allowed})
        if bad:
            found[i] = bad
    assert not found, f"English on pages of the Japanese brief: {found}"
    # the check is not vacuous: a page of English prose fails it
    en = _english_trigrams("Joint score: the partners' supply-risk scores at each commodity's bottleneck stage")
    assert en and not all(g in allowed for g in en)


US_ONLY_ID = "P-TEST-USONLY-NICKEL"


def test_jp_brief_names_no_us_only_record(db_copy: Path, tmp_path: Path) -> None:
    _need_tools()
    import openpyxl

    from critmin import settings
    from critmin.brief.params import parse_budgets
    from critmin.data.warehouse import Warehouse
    from critmin.projects.api import open_registry, score_with_warehouse, select_portfolio

    wh = Warehouse(db_copy, read_only=True)
    try:
        reg = open_registry(wh)
        # a US-only copy of the most valuable JP-visible project: it would be selected if visible
        rec = reg.get("P-SMM-TAGANITO", "joint").record()
        rec.update(id=US_ONLY_ID, name="Classified US nickel refinery", visibility="US")
        for fr in rec["financing_requests"]:
            fr["partner"] = "USA"
        reg.put(rec, author="test", viewer="US", note="US-only test record")
        pb = parse_budgets(str(settings.get("brief.project_budgets")), "brief.project_budgets")
        jp = reg.list("JP")
        us = reg.list("US")
        assert US_ONLY_ID in {p.id for p in us} and US_ONLY_ID not in {p.id for p in jp}
        from critmin.incident.store import IncidentStore
        from critmin.ops import get_engine

        incidents = IncidentStore(get_engine(warehouse=wh.path))
        incidents.create({"title": "US-only test incident", "commodities": ["nickel"]}, "US", "test")
        joint_inc = incidents.create({"title": "Joint test incident", "commodities": ["nickel"]}, "joint", "test")
        sel_jp = select_portfolio(jp, score_with_warehouse(wh, jp, year=2024), pb)
        sel_us = select_portfolio(us, score_with_warehouse(wh, us, year=2024), pb)
    finally:
        wh.close()
    assert US_ONLY_ID in {s["project"] for s in sel_us["selected"]}  # the test can fail
    res = _generate(db_copy, tmp_path / "jp", lang="en", visibility="JP", commodities=("nickel", "rare_earths"))
    text = " ".join(_text(res.pdf))
    packed = text.replace(" ", "")
    assert US_ONLY_ID not in packed and "ClassifiedUSnickelrefinery" not in packed
    assert "JAPAN ONLY" in text
    assert "US-only test incident" not in text and joint_inc in packed  # open incidents, visibility-scoped
    wb = openpyxl.load_workbook(res.xlsx)
    cells = [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    assert not any(US_ONLY_ID in c or "Classified US" in c for c in cells)
    ws = wb["Portfolio budget"]
    used = {r[0]: r[2] for r in ws.iter_rows(min_row=4, values_only=True) if r[0]}
    assert used["United States"] == pytest.approx(sel_jp["budget_used"]["USA"] / 1e6)
    assert used["Japan"] == pytest.approx(sel_jp["budget_used"]["JPN"] / 1e6)
    assert sel_jp["budget_used"] != sel_us["budget_used"]
    # the US brief does name it (the filter is by visibility, not a blanket omission)
    res_us = _generate(db_copy, tmp_path / "us", lang="en", visibility="US", commodities=("nickel",))
    us_text = " ".join(_text(res_us.pdf)).replace(" ", "")
    assert US_ONLY_ID in us_text
    # and the other way round: the JP-only nickel project is in the JP brief, not in the US one
    assert "P-SMM-TAGANITO" in packed and "P-SMM-TAGANITO" not in us_text
