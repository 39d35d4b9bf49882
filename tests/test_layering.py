"""The layering rules of docs/DEVELOPING.md, checked on the source with ``ast``.

1. Only ``critmin.data`` runs SQL against the warehouse's analytical tables (the tables and views
   the importer creates: :data:`critmin.data.schema.TABLES` and the views of
   :func:`critmin.data.importer.ensure_schema`). Other packages call the warehouse's methods.
   Their own operational tables (web users, sessions, audit, jobs, simulation runs, the project
   registry, plans ...) are not analytical tables and stay allowed in their packages.
2. ``critmin.data`` imports nothing from a higher package; ``critmin.geo`` imports only
   ``critmin.data`` (and ``critmin.settings``).
3. ``critmin.disruption`` does not import ``critmin.risk``.

SQL is found statically: every string literal (f-strings by their constant parts, ``+``/``%``
concatenations, ``.format``/``.join`` calls, module or function constants named by a variable)
passed to ``.query(``, ``.execute(``, ``.executemany(``, ``.sql(`` or ``read_sql*(``, and, "near"
them, every other literal that is itself a SQL statement (starts with SELECT, WITH, INSERT, ...),
which catches SQL handed to a helper that runs it. A table named only at run time
(``f"FROM {table}"``) cannot be seen, and is not reported.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from critmin.data import schema
from critmin.data.importer import ensure_schema

SRC = Path(__file__).resolve().parents[1] / "src" / "critmin"

#: methods through which a string runs as SQL (duckdb, the warehouse, pandas)
SQL_METHODS = frozenset({"query", "execute", "executemany", "sql", "read_sql", "read_sql_query"})
#: a string that is a SQL statement by itself
_STATEMENT = re.compile(r"^\s*\(?\s*(SELECT|WITH|INSERT|UPDATE|DELETE|CREATE|COPY|MERGE)\b", re.IGNORECASE)
_TABLE_REF = re.compile(r"\b(FROM|JOIN|INTO|UPDATE)\s+(?:\w+\.)?\"?(\w+)\"?", re.IGNORECASE)
#: stands in for a formatted value of an f-string (never a table name)
_HOLE = "\x00"

#: packages above data/ (what data/ must not import), and what geo/ may import
HIGHER = ("risk", "disruption", "stockpile", "projects", "geo", "markets", "web", "cli")
GEO_MAY_IMPORT = ("critmin.data", "critmin.geo", "critmin.settings")


def analytical_tables() -> frozenset[str]:
    """The tables and views the importer owns: created on an empty database by ``ensure_schema``."""
    con = duckdb.connect()
    try:
        ensure_schema(con)
        names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()
    assert set(schema.TABLES) <= names, "ensure_schema must create every table of critmin.data.schema"
    return frozenset(n.lower() for n in names)


# --- the SQL scanner ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SqlUse:
    line: int  # line of the string literal
    table: str
    how: str  # 'passed to .query()' etc., or 'SQL statement'


def _docstring_nodes(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _raised_nodes(tree: ast.AST) -> set[int]:
    """Nodes inside ``raise ...``: an error message quoting a query is not a query."""
    return {id(n) for r in ast.walk(tree) if isinstance(r, ast.Raise) for n in ast.walk(r)}


def _assignments(tree: ast.AST) -> dict[str, list[ast.expr]]:
    """Every value assigned to a plain name anywhere in the module (any scope)."""
    out: dict[str, list[ast.expr]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out.setdefault(t.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name) and node.value:
            out.setdefault(node.target.id, []).append(node.value)
    return out


def _strings(node: ast.AST, names: dict[str, list[ast.expr]], seen: frozenset[str] = frozenset()) -> Iterator[tuple[int, str]]:
    """(line, text) of each string an expression is built from; f-string values become holes."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.lineno, node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else _HOLE for v in node.values)
        yield node.lineno, text
    elif isinstance(node, ast.BinOp):
        yield from _strings(node.left, names, seen)
        yield from _strings(node.right, names, seen)
    elif isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute):  # "...".format(...), " ".join([...]), sql.replace(...)
            yield from _strings(node.func.value, names, seen)
        for a in node.args:
            yield from _strings(a, names, seen)
    elif isinstance(node, ast.List | ast.Tuple):
        for e in node.elts:
            yield from _strings(e, names, seen)
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body, names, seen)
        yield from _strings(node.orelse, names, seen)
    elif isinstance(node, ast.Name) and node.id not in seen:
        for value in names.get(node.id, []):
            yield from _strings(value, names, seen | {node.id})


def _tables_in(text: str, tables: frozenset[str]) -> list[str]:
    return [m.group(2).lower() for m in _TABLE_REF.finditer(text) if m.group(2).lower() in tables]


def scan_sql(source: str, tables: frozenset[str]) -> list[SqlUse]:
    """Every use of an analytical table in SQL text of one module (sorted, without repeats)."""
    tree = ast.parse(source)
    names = _assignments(tree)
    prose = _docstring_nodes(tree) | _raised_nodes(tree)
    found: set[SqlUse] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            meth = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if meth in SQL_METHODS:
                args = list(node.args[:1]) + [k.value for k in node.keywords if k.arg in ("query", "sql")]
                for a in args:
                    for line, text in _strings(a, names):
                        found.update(SqlUse(line, t, f"passed to .{meth}() at line {node.lineno}") for t in _tables_in(text, tables))
        elif id(node) not in prose and (
            (isinstance(node, ast.Constant) and isinstance(node.value, str)) or isinstance(node, ast.JoinedStr)
        ):
            for line, text in _strings(node, {}):
                if _STATEMENT.match(text):
                    found.update(SqlUse(line, t, "SQL statement") for t in _tables_in(text, tables))
    # one report per (line, table): a literal passed to .query() is also a statement
    best: dict[tuple[int, str], SqlUse] = {}
    for u in sorted(found, key=lambda u: (u.line, u.table, u.how == "SQL statement")):
        best.setdefault((u.line, u.table), u)
    return sorted(best.values(), key=lambda u: (u.line, u.table))


def _modules(*, outside: str | None = None, under: str | None = None) -> Iterable[Path]:
    for p in sorted(SRC.rglob("*.py")):
        rel = p.relative_to(SRC)
        if outside is not None and rel.parts[0] == outside:
            continue
        if under is not None and rel.parts[0] != under:
            continue
        yield p


def _rel(p: Path) -> str:
    return str(p.relative_to(SRC.parents[1]))


# --- the scanner finds what it should, and only that -------------------------------------------

_TABLES = frozenset({"production", "trade", "dataset", "current_dataset"})

SCANNER_CASES = {
    "literal": ('wh.query("SELECT * FROM production WHERE x = ?", [1])\n', [(1, "production")]),
    "fstring": ('def f(wh, w):\n    return wh.con.execute(f"SELECT 1 FROM trade t WHERE {w}")\n', [(2, "trade")]),
    "constant": ('_SQL = """\n  SELECT *\n  FROM production p JOIN current_dataset d USING (dataset_id)"""\n'
                 'def f(wh):\n    return wh.query(_SQL)\n', [(1, "current_dataset"), (1, "production")]),
    "concatenated": ('def f(con, q):\n    sql = "SELECT count(*) "\n    sql += " FROM dataset"\n    con.sql(sql + q)\n',
                     [(3, "dataset")]),
    "format": ('con.execute("SELECT a FROM {} JOIN trade USING (k)".format(t))\n', [(1, "trade")]),
    "via a helper": ('def load(wh):\n    return _q(wh, "SELECT * FROM production")\n', [(2, "production")]),
    "insert": ('con.executemany("INSERT INTO production VALUES (?)", rows)\n', [(1, "production")]),
    "operational tables pass": ('con.execute("SELECT * FROM web_user JOIN web_session USING (name)")\n'
                                'con.execute("UPDATE web_job SET status = ?")\n', []),
    "docstrings and prose pass": ('"""Reads rows from production; SELECT FROM trade in docs."""\n'
                                  'msg = "no figure from production for this year"\n'
                                  'raise RuntimeError("SELECT count(*) FROM dataset returned no row")\n', []),
    "a table named at run time is not seen": ('con.execute(f"SELECT * FROM {table}")\n', []),
}


@pytest.mark.parametrize("case", list(SCANNER_CASES))
def test_scanner(case: str) -> None:
    source, want = SCANNER_CASES[case]
    assert [(u.line, u.table) for u in scan_sql(source, _TABLES)] == want


def test_analytical_tables_come_from_the_importer() -> None:
    tables = analytical_tables()
    assert {"production", "trade", "reserves", "us_salient", "dataset", "current_dataset"} <= tables
    assert not tables & {"web_user", "web_session", "web_audit", "web_job", "sim_run", "project"}


# --- the rules ---------------------------------------------------------------------------------


def test_only_data_runs_sql_on_the_analytical_tables() -> None:
    tables = analytical_tables()
    offenders = [
        f"{_rel(p)}:{u.line}: {u.table} ({u.how})"
        for p in _modules(outside="data")
        for u in scan_sql(p.read_text(encoding="utf-8"), tables)
    ]
    assert not offenders, (
        "SQL on the warehouse's analytical tables outside critmin.data (add a method to "
        "critmin.data.reads and call it instead):\n" + "\n".join(offenders)
    )


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, relative imports resolved; ``from critmin
    import x`` counts as ``critmin.x``; ``importlib.import_module("...")`` with a literal too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(("critmin", *path.relative_to(SRC).with_suffix("").parts[:-1]))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            out += [(node.lineno, f"{mod}.{a.name}") for a in node.names if mod == "critmin"]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            out.append((node.lineno, node.args[0].value))
    return out


def _in(mod: str, pkg: str) -> bool:
    return mod == pkg or mod.startswith(pkg + ".")


def _bad_imports(under: str, allowed: Iterable[str] | None = None, forbidden: Iterable[str] = ()) -> list[str]:
    allowed, forbidden = tuple(allowed or ()), tuple(forbidden)
    bad = []
    for p in _modules(under=under):
        for line, mod in sorted(_imports(p)):
            if not _in(mod, "critmin") or mod == "critmin":
                continue
            if any(_in(mod, f) for f in forbidden) or (allowed and not any(_in(mod, a) for a in allowed)):
                bad.append(f"{_rel(p)}:{line}: imports {mod}")
    return bad


def test_data_imports_no_higher_package() -> None:
    bad = _bad_imports("data", forbidden=[f"critmin.{h}" for h in HIGHER])
    assert not bad, "critmin.data must not depend on the packages built on it:\n" + "\n".join(bad)


def test_geo_imports_only_data() -> None:
    bad = _bad_imports("geo", allowed=GEO_MAY_IMPORT)
    assert not bad, f"critmin.geo may import only {', '.join(GEO_MAY_IMPORT)}:\n" + "\n".join(bad)


def test_disruption_does_not_import_risk() -> None:
    bad = _bad_imports("disruption", forbidden=["critmin.risk"])
    assert not bad, "critmin.disruption must not depend on critmin.risk:\n" + "\n".join(bad)


def test_import_rules_see_relative_and_package_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The import scan resolves ``from ..risk import x`` and ``from critmin import risk``."""
    pkg = tmp_path / "critmin" / "geo"
    pkg.mkdir(parents=True)
    (pkg / "m.py").write_text("from ..risk import api\nfrom critmin import web\nfrom critmin.data import supply\n"
                              "import importlib\nimportlib.import_module('critmin.cli.main')\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path / "critmin")
    bad = _bad_imports("geo", allowed=GEO_MAY_IMPORT)
    assert [b.split(": ", 1)[1] for b in bad] == ["imports critmin.risk", "imports critmin.web", "imports critmin.cli.main"]
