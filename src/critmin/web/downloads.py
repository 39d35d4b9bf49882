"""Downloads of every table the dashboard shows: ``?download=csv`` or ``?download=xlsx`` on any
``GET /api/...`` route (issue 19 section 4).

The download is the API's own answer, converted: the route runs as for the JSON request (the
same access checks and visibility filter, :mod:`critmin.web.access`), and
:class:`DownloadMiddleware` turns its JSON into a file. So a download can never hold a row the
viewer may not read, and its rows are the API's rows, in the API's order.

* Which rows: the JSON itself if it is a list of objects; else the list (or mapping) under
  ``?table=KEY`` (a dotted path: ``table=result.results`` in a job);
  else ``rows``; else ``features`` (GeoJSON: ``properties`` plus ``longitude``/``latitude`` of a
  point); else the first list of objects; a single object is one row of ``field, value``.
* Columns: the JSON's ``columns`` when it has them, else every key in first-seen order. A list of
  values is joined with ``; ``; an object, or a list of objects, is JSON.
* CSV: UTF-8 with a byte-order mark (Excel opens it as UTF-8), text cells that a spreadsheet
  would run as a formula (``= + - @``, tab, CR) prefixed with ``'``; numbers stay numbers.
* Excel (xlsxwriter): typed cells (numbers as numbers, booleans as booleans, text as text --
  never a formula), a header row frozen, and a ``sources`` sheet: the request, the time, and each
  dataset the rows cite (``dataset_id``) with its file, vintage, publisher and licence from the
  warehouse's ``dataset`` table.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def table_of(data: Any, key: str | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows) of a JSON answer, as the module docstring says (``key`` may be a dotted
    path, ``result.results``); ``KeyError`` for a ``key`` the answer has not."""
    rows: list[dict[str, Any]]
    columns: list[str] | None = None
    if isinstance(data, dict) and key is not None:
        data = _at(data, key)
        if isinstance(data, dict):  # a mapping of scalars (table sizes): one row per entry
            data = [{"field": k, "value": v} for k, v in data.items()]
    if isinstance(data, list):
        rows = [r if isinstance(r, dict) else {"value": r} for r in data]
    elif isinstance(data, dict):
        if isinstance(data.get("rows"), list) and data["rows"] and not isinstance(data["rows"][0], dict):
            rows = [{"value": r} for r in data["rows"]]
        elif isinstance(data.get("rows"), list):
            rows = list(data["rows"])
            if isinstance(data.get("columns"), list):
                columns = [str(c) for c in data["columns"]]
        elif isinstance(data.get("features"), list):
            rows = [_feature_row(f) for f in data["features"]]
        else:
            lists = [v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
            rows = list(lists[0]) if lists else [{"field": k, "value": v} for k, v in data.items()]
    else:
        rows = [{"value": data}]
    if columns is None:
        columns = list(dict.fromkeys(k for r in rows for k in r))
    return columns, rows


def _at(data: dict[str, Any], key: str) -> Any:
    """``table=result.results``: the value at a dotted path; ``KeyError`` naming what is there."""
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            have = ", ".join(k for k, v in node.items() if isinstance(v, (list, dict))) if isinstance(node, dict) else ""
            raise KeyError(f"table={key!r}: the answer has no {part!r} (it has {have or 'no tables'})")
        node = node[part]
    if not isinstance(node, (list, dict)):
        raise KeyError(f"table={key!r} is a single value, not a table")
    return node


def _feature_row(f: dict[str, Any]) -> dict[str, Any]:
    row = dict(f.get("properties") or {})
    geom = f.get("geometry") or {}
    if geom.get("type") == "Point":
        row["longitude"], row["latitude"] = geom["coordinates"][:2]
    return row


def _plain(v: Any) -> Any:
    """A cell value: scalars as they are, a list joined, an object as JSON."""
    if isinstance(v, list) and not any(isinstance(x, (list, dict)) for x in v):
        return "; ".join("" if x is None else str(x) for x in v)
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return v


def neutralise(text: str) -> str:
    """A text cell a spreadsheet would run as a formula, prefixed with ``'`` (OWASP CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(columns: list[str], rows: Iterable[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(columns)
    for r in rows:
        out = []
        for c in columns:
            v = _plain(r.get(c))
            out.append("" if v is None else neutralise(v) if isinstance(v, str) else
                       ("TRUE" if v else "FALSE") if isinstance(v, bool) else repr(v) if isinstance(v, float) else v)
        w.writerow(out)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(columns: list[str], rows: list[dict[str, Any]], sources: list[dict[str, Any]],
            about: dict[str, str]) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False, "strings_to_numbers": False})
    head = book.add_format({"bold": True, "bg_color": "#EEF2F6"})
    sheet = book.add_worksheet("data")
    for j, c in enumerate(columns):
        sheet.write_string(0, j, c, head)
        sheet.set_column(j, j, max(10, min(40, len(c) + 2)))
    for i, r in enumerate(rows, start=1):
        for j, c in enumerate(columns):
            v = _plain(r.get(c))
            if v is None:
                continue
            if isinstance(v, bool):
                sheet.write_boolean(i, j, v)
            elif isinstance(v, (int, float)):
                sheet.write_number(i, j, v)
            else:
                sheet.write_string(i, j, str(v))
    sheet.freeze_panes(1, 0)
    src = book.add_worksheet("sources")
    line = 0
    for k, v in about.items():
        src.write_string(line, 0, k, head)
        src.write_string(line, 1, v)
        line += 1
    line += 1
    cols = ["dataset_id", "key", "vintage", "publisher", "licence", "source_path", "url", "sha256"]
    for j, c in enumerate(cols):
        src.write_string(line, j, c, head)
    for s in sources:
        line += 1
        for j, c in enumerate(cols):
            v = s.get(c)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                src.write_number(line, j, v)
            elif v is not None:
                src.write_string(line, j, str(v))
    if not sources:
        src.write_string(line + 1, 0, "the rows cite no dataset of the warehouse (a computed or curated result)")
    book.close()
    return buf.getvalue()


def cited_datasets(rows: list[dict[str, Any]], data: Any) -> list[int]:
    """Dataset ids the rows cite (``dataset_id``, ``sources``), in first-seen order."""
    ids: dict[int, None] = {}
    for r in rows:
        v = r.get("dataset_id")
        if isinstance(v, int) and not isinstance(v, bool):
            ids[v] = None
    if isinstance(data, dict):
        for v in data.get("sources") or []:
            if isinstance(v, int) and not isinstance(v, bool):
                ids[v] = None
    return list(ids)


def dataset_rows(app: Any, ids: list[int]) -> list[dict[str, Any]]:
    """Each dataset's provenance from the warehouse (an id it does not hold is listed bare)."""
    from critmin.web.convert import records

    ctx = getattr(getattr(app, "state", None), "ctx", None)
    out = []
    for i in ids:
        try:
            df = ctx.wh.dataset_row(i) if ctx is not None else None
        except Exception:  # noqa: BLE001 - provenance is a courtesy; the data sheet is the answer
            df = None
        out.append(records(df)[0] if df is not None and not df.empty else {"dataset_id": i})
    return out


def filename(path: str, fmt: str) -> str:
    stem = "-".join(p for p in path.removeprefix("/api/").split("/") if p) or "critmin"
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem)
    return f"critmin-{safe}.{fmt}"


class DownloadMiddleware:
    """Pure ASGI: a ``GET /api/...?download=csv|xlsx`` runs the route without ``download`` (and
    ``table``), then converts its JSON answer. An error answer passes through unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        fmt = next((v for k, v in query if k == "download"), None)
        if fmt is None:
            await self.app(scope, receive, send)
            return
        if fmt not in FORMATS:
            await _send(send, 422, b'{"detail":"download: expected csv or xlsx"}', "application/json")
            return
        key = next((v for k, v in query if k == "table"), None)
        rest = [(k, v) for k, v in query if k not in ("download", "table")]
        inner = {**scope, "query_string": urlencode(rest).encode("latin-1")}
        start: dict[str, Any] = {}
        body = bytearray()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(inner, receive, capture)
        status = int(start.get("status", 500))
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        ctype = dict(headers).get(b"content-type", b"").decode("latin-1")
        if status != 200 or "json" not in ctype:
            await send({"type": "http.response.start", "status": status,
                        "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": bytes(body)})
            return
        data = json.loads(bytes(body))
        try:
            columns, rows = table_of(data, key)
        except KeyError as exc:
            await _send(send, 422, json.dumps({"detail": str(exc.args[0])}).encode(), "application/json")
            return
        if fmt == "csv":
            out = to_csv(columns, rows)
        else:
            path = scope["path"] + (f"?{urlencode(rest)}" if rest else "")
            about = {"request": path, "downloaded (UTC)": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                     "rows": str(len(rows)), "visibility": "the rows the viewer may read (the API's answer)"}
            out = to_xlsx(columns, rows, dataset_rows(scope.get("app"), cited_datasets(rows, data)), about)
        keep = [(k, v) for k, v in headers if k.lower() not in (b"content-type", b"content-disposition")]
        keep += [(b"content-type", FORMATS[fmt].encode()),
                 (b"content-disposition", f'attachment; filename="{filename(scope["path"], fmt)}"'.encode()),
                 (b"content-length", str(len(out)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": keep})
        await send({"type": "http.response.body", "body": out})


async def _send(send: Send, status: int, body: bytes, ctype: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
