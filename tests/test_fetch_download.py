"""`critmin data fetch` against a loopback HTTP server (127.0.0.1, ephemeral port).

The server serves the shared raw files (and zips built here from them) with Range support and
records every request, so the tests can check what was (not) downloaded. No outside network.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from critmin.cli.fetch import register as register_fetch
from critmin.data import fetch as F

pytestmark = pytest.mark.network

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
if not RAW.is_dir():  # pragma: no cover
    pytest.skip("shared/data/raw not available", allow_module_level=True)


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


class Mirror:
    """url path -> bytes; optional injected failures; request log."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fail: dict[str, list[int]] = {}  # path -> status codes to answer first
        self.ignore_range = False
        self.cut: set[str] = set()  # paths whose next response is cut off half-way
        self.requests: list[tuple[str, str | None]] = []
        self.lock = threading.Lock()

    def add(self, path: str, data: bytes) -> None:
        self.files["/" + path.lstrip("/")] = data


def _handler(mirror: Mirror):
    class H(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def do_GET(self):  # noqa: N802
            import urllib.parse

            path = urllib.parse.unquote(self.path)
            rng = self.headers.get("Range")
            with mirror.lock:
                mirror.requests.append((path, rng))
                queued = mirror.fail.get(path)
                code = queued.pop(0) if queued else None
            if code:
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = mirror.files.get(path)
            if data is None:
                self.send_error(404, "Not Found")
                return
            start = 0
            if rng and not mirror.ignore_range:
                start = int(rng.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if path in mirror.cut:
                mirror.cut.discard(path)
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            self.wfile.write(body)

    return H


@pytest.fixture
def server():
    mirror = Mirror()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(mirror))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    mirror.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield mirror
    httpd.shutdown()
    httpd.server_close()


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


WGI = RAW / "worldbank_wgi" / "WGIData.csv"
PINK = RAW / "worldbank_pinksheet" / "CMO-Historical-Data-Monthly.xlsx"


def write_registry(tmp_path: Path, body: str, checksums: str = "") -> F.Registry:
    (tmp_path / "reg").mkdir(exist_ok=True)
    (tmp_path / "reg" / "test.sha256").write_text(checksums)
    p = tmp_path / "reg" / "test.toml"
    p.write_text('schema_version = 1\nchecksums = "test.sha256"\n' + body)
    return F.load_registry(p)


def file_entry(key: str, file: str, target: str, sha256: str = "") -> str:
    h = f'sha256 = "{sha256}"' if sha256 else 'checksum_note = "test: no hash"'
    return f"""
[[release]]
key = "{key}"
group = "{key}"
kind = "file"
publisher = "test"
title = "test"
licence = "test"
landing = "https://example.invalid/"
verified = "test"
url = "https://example.invalid/{file}"
file = "{file}"
target = "{target}"
{h}
"""


@pytest.fixture
def wgi_registry(tmp_path, server):
    data = WGI.read_bytes()
    server.add(f"wgi/{WGI.name}", data)
    reg = write_registry(
        tmp_path, file_entry("wgi", WGI.name, "worldbank_wgi/WGIData.csv", sha(data))
    )
    return reg, data


def test_file_download_is_byte_identical_and_rerun_downloads_nothing(
    tmp_path, server, wgi_registry
):
    reg, data = wgi_registry
    dest = tmp_path / "dest"
    res = F.fetch(dest, reg, base_url=server.base, backoff_s=0)
    assert [r.status for r in res] == ["downloaded"]
    assert (dest / "worldbank_wgi" / "WGIData.csv").read_bytes() == data
    assert not list(dest.rglob("*.part"))
    n = len(server.requests)
    res2 = F.fetch(dest, reg, base_url=server.base, backoff_s=0)
    assert [r.status for r in res2] == ["present"]
    assert len(server.requests) == n  # nothing downloaded on the re-run


def test_resume_sends_range_and_result_is_identical(tmp_path, server, wgi_registry):
    reg, data = wgi_registry
    dest = tmp_path / "dest"
    part = dest / "worldbank_wgi" / "WGIData.csv.part"
    part.parent.mkdir(parents=True)
    half = len(data) // 2
    part.write_bytes(data[:half])
    (res,) = F.fetch(dest, reg, base_url=server.base, backoff_s=0)
    assert server.requests == [(f"/wgi/{WGI.name}", f"bytes={half}-")]
    assert (res.resumed_from, res.bytes_downloaded) == (half, len(data) - half)
    assert (dest / "worldbank_wgi" / "WGIData.csv").read_bytes() == data
    assert not part.exists()


def test_connection_cut_midway_is_retried_with_range(tmp_path, server, wgi_registry):
    reg, data = wgi_registry
    server.cut.add(f"/wgi/{WGI.name}")
    (res,) = F.fetch(tmp_path / "dest", reg, base_url=server.base, backoff_s=0)
    assert (tmp_path / "dest" / "worldbank_wgi" / "WGIData.csv").read_bytes() == data
    (_, first), (_, second) = server.requests
    assert first is None
    start = int(second.removeprefix("bytes=").rstrip("-"))  # what reached the .part file
    assert 0 < start <= len(data) // 2
    assert res.bytes_downloaded == len(data)  # both attempts together, no byte twice


def test_server_ignoring_range_restarts_from_zero(tmp_path, server, wgi_registry):
    reg, data = wgi_registry
    server.ignore_range = True
    dest = tmp_path / "dest"
    part = dest / "worldbank_wgi" / "WGIData.csv.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:1000])
    F.fetch(dest, reg, base_url=server.base, backoff_s=0)
    assert (dest / "worldbank_wgi" / "WGIData.csv").read_bytes() == data


def test_complete_part_answered_416_is_downloaded_again(tmp_path, server, wgi_registry):
    reg, data = wgi_registry
    dest = tmp_path / "dest"
    part = dest / "worldbank_wgi" / "WGIData.csv.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data + b"junk")  # longer than the file: server answers 416
    F.fetch(dest, reg, base_url=server.base, backoff_s=0)
    assert (dest / "worldbank_wgi" / "WGIData.csv").read_bytes() == data
    assert [r[1] for r in server.requests] == [f"bytes={len(data) + 4}-", None]


def test_sha256_mismatch_fails_loudly_and_leaves_nothing(tmp_path, server):
    data = WGI.read_bytes()
    corrupted = data[:100] + b"X" + data[101:]
    server.add(f"wgi/{WGI.name}", corrupted)
    reg = write_registry(
        tmp_path, file_entry("wgi", WGI.name, "worldbank_wgi/WGIData.csv", sha(data))
    )
    dest = tmp_path / "dest"
    with pytest.raises(F.ChecksumError) as e:
        F.fetch(dest, reg, base_url=server.base, backoff_s=0)
    msg = str(e.value)
    assert "WGIData.csv" in msg and sha(data) in msg and sha(corrupted) in msg
    assert not (dest / "worldbank_wgi" / "WGIData.csv").exists()
    assert not list(dest.rglob("*.part"))


def test_404_names_url_and_key(tmp_path, server):
    reg = write_registry(
        tmp_path, file_entry("pinksheet", PINK.name, "worldbank_pinksheet/" + PINK.name)
    )
    with pytest.raises(F.FetchError) as e:
        F.fetch(tmp_path / "dest", reg, base_url=server.base, backoff_s=0)
    msg = str(e.value)
    assert "pinksheet" in msg and "404" in msg
    assert f"{server.base}/pinksheet/{PINK.name}" in msg
    assert len(server.requests) == 1  # a 404 is not retried


def test_5xx_is_retried_with_backoff_then_succeeds(tmp_path, server, wgi_registry):
    reg, data = wgi_registry
    server.fail[f"/wgi/{WGI.name}"] = [503, 500]
    F.fetch(tmp_path / "dest", reg, base_url=server.base, backoff_s=0, retries=2)
    assert len(server.requests) == 3
    assert (tmp_path / "dest" / "worldbank_wgi" / "WGIData.csv").read_bytes() == data


def test_retries_exhausted_gives_clear_error(tmp_path, server, wgi_registry):
    reg, _ = wgi_registry
    server.fail[f"/wgi/{WGI.name}"] = [503, 503, 503]
    with pytest.raises(F.FetchError, match=r"wgi: download of .* failed after 2 attempt"):
        F.fetch(tmp_path / "dest", reg, base_url=server.base, backoff_s=0, retries=1)


# ----------------------------------------------------------------------------- real registry


def _mcs2025_world_zip(corrupt: bool = False) -> bytes:
    d = RAW / "usgs_mcs2025" / "world_data"
    files = {f"World_Data/{p.name}": p.read_bytes() for p in sorted(d.iterdir())}
    if corrupt:
        k = "World_Data/MCS2025_World_Data.csv"
        bad = files[k].replace(b"255000,270000", b"255000,170000", 1)  # China REE mine 2024e
        assert bad != files[k]
        files[k] = bad
    return zip_of(files)


def test_real_registry_zip_release_unpacks_to_importer_layout(tmp_path, server):
    server.add("usgs_mcs2025_world/World_Data_Release_MCS_2025.zip", _mcs2025_world_zip())
    salient = {
        f"Salient/{p.name}": p.read_bytes()
        for p in sorted((RAW / "usgs_mcs2025" / "salient_commodity").iterdir())
    }
    server.add(
        "usgs_mcs2025_salient/Salient_Commodity_Data_Release_Grouped_MCS_2025.zip", zip_of(salient)
    )
    dest = tmp_path / "dest"
    res = F.fetch(
        dest, only=["usgs_mcs2025_world", "usgs_mcs2025_salient"], base_url=server.base, backoff_s=0
    )
    assert [r.status for r in res] == ["downloaded", "downloaded"]
    for sub in ("world_data", "salient_commodity"):
        want = sorted(p.name for p in (RAW / "usgs_mcs2025" / sub).iterdir())
        got = sorted(p.name for p in (dest / "usgs_mcs2025" / sub).iterdir())
        assert got == want
        for name in want:
            assert (dest / "usgs_mcs2025" / sub / name).read_bytes() == (
                RAW / "usgs_mcs2025" / sub / name
            ).read_bytes()
    assert not list((dest / F.STATE_DIR / "downloads").rglob("*.zip"))  # archive removed
    # the rest of the group: the industry-trend tables are single files with inline sha256
    trends = [
        r for r in F.load_registry().releases if r.group == "usgs_mcs2025" and r.kind == "file"
    ]
    for r in trends:
        server.add(f"{r.key}/{r.file}", (RAW / r.target).read_bytes())
    n = len(server.requests)
    again = F.fetch(dest, only=["usgs_mcs2025"], base_url=server.base, backoff_s=0)
    status = {r.key: r.status for r in again}
    assert status.pop("usgs_mcs2025_world") == status.pop("usgs_mcs2025_salient") == "present"
    assert set(status.values()) == {"downloaded"} and len(status) == len(trends) == 14
    assert sorted(p for p, _ in server.requests[n:]) == sorted(f"/{r.key}/{r.file}" for r in trends)
    got = sorted(p.name for p in (dest / "usgs_mcs2025" / "industry_trends").iterdir())
    assert got == sorted(p.name for p in (RAW / "usgs_mcs2025" / "industry_trends").iterdir())


def test_corrupted_zip_member_fails_and_leaves_nothing(tmp_path, server):
    server.add("usgs_mcs2025_world/World_Data_Release_MCS_2025.zip", _mcs2025_world_zip(True))
    dest = tmp_path / "dest"
    with pytest.raises(F.ChecksumError) as e:
        F.fetch(dest, only=["usgs_mcs2025_world"], base_url=server.base, backoff_s=0)
    reg = F.load_registry()
    want = reg.checksums["usgs_mcs2025/world_data/MCS2025_World_Data.csv"]
    assert "usgs_mcs2025/world_data/MCS2025_World_Data.csv" in str(e.value)
    assert want in str(e.value) and "found" in str(e.value)
    assert not [p for p in dest.rglob("*") if p.is_file() and F.STATE_DIR not in p.parts]


def test_not_a_zip_is_rejected(tmp_path, server):
    server.add("usgs_mcs2025_world/World_Data_Release_MCS_2025.zip", b"<html>maintenance</html>")
    with pytest.raises(F.ChecksumError, match="not a valid zip"):
        F.fetch(tmp_path / "dest", only=["usgs_mcs2025_world"], base_url=server.base, backoff_s=0)
    assert not list((tmp_path / "dest").rglob("*.zip"))


def test_zip_missing_expected_member_is_an_error(tmp_path, server):
    d = RAW / "usgs_mcs2025" / "world_data"
    server.add(
        "usgs_mcs2025_world/World_Data_Release_MCS_2025.zip",
        zip_of({"MCS2025_World_Data.xml": (d / "MCS2025_World_Data.xml").read_bytes()}),
    )
    with pytest.raises(F.ChecksumError, match="lacks expected member.*MCS2025_World_Data.csv"):
        F.fetch(tmp_path / "dest", only=["usgs_mcs2025_world"], base_url=server.base, backoff_s=0)


def test_manual_releases_report_instructions_then_verify(tmp_path):
    dest = tmp_path / "dest"
    (res,) = F.fetch(dest, only=["comtrade_cmm"])
    assert res.status == "manual-pending" and "API" in res.detail
    shutil.copytree(RAW / "comtrade_cmm", dest / "comtrade_cmm")
    (res,) = F.fetch(dest, only=["comtrade_cmm"])
    assert res.status == "manual-done" and len(res.targets) == 9
    # an official manual release with known hashes is verified when placed by hand
    shutil.copytree(RAW / "usgs_mcs2024" / "world_data", dest / "usgs_mcs2024" / "world_data")
    (res,) = F.fetch(dest, only=["usgs_mcs2024_world"])
    assert res.status == "manual-done" and res.detail.endswith("verified")
    f = dest / "usgs_mcs2024" / "world_data" / "mcs2024-raree_world.csv"
    f.write_bytes(f.read_bytes() + b"\n")
    with pytest.raises(F.ChecksumError, match="mcs2024-raree_world.csv: sha256 mismatch"):
        F.fetch(dest, only=["usgs_mcs2024_world"])


# ----------------------------------------------------------------------------- CLI


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _cb() -> None:
        pass

    register_fetch(app)
    return app


def test_cli_fetch_and_404_exit_code(tmp_path, server, wgi_registry):
    reg, data = wgi_registry
    runner = CliRunner()
    dest = tmp_path / "dest"
    r = runner.invoke(
        _app(),
        ["fetch", "--dest", str(dest), "--base-url", server.base, "--registry", str(reg.path)],
    )
    assert r.exit_code == 0, r.output
    assert "downloaded" in r.output and "wgi" in r.output
    assert (dest / "worldbank_wgi" / "WGIData.csv").read_bytes() == data
    r = runner.invoke(
        _app(),
        ["fetch", "--dest", str(dest), "--base-url", server.base, "--registry", str(reg.path)],
    )
    assert r.exit_code == 0 and "present" in r.output
    r = runner.invoke(
        _app(),
        ["fetch", "--dest", str(dest), "--base-url", server.base, "--only", "usgs_mcs2025_world"],
    )
    assert r.exit_code == 1
    assert "HTTP 404" in r.output and "usgs_mcs2025_world" in r.output
    r = runner.invoke(_app(), ["fetch", "--dest", str(dest), "--only", "nope"])
    assert r.exit_code == 1 and "unknown release key(s) nope" in r.output


def test_cli_list_and_strict(tmp_path):
    runner = CliRunner()
    r = runner.invoke(_app(), ["fetch", "--dest", str(tmp_path), "--list"])
    assert r.exit_code == 0
    assert "usgs_mcs2025_world\tzip" in r.output and "sciencebase.gov" in r.output
    r = runner.invoke(_app(), ["fetch", "--dest", str(tmp_path), "--only", "comtrade", "--strict"])
    assert r.exit_code == 3 and "manual step needed for comtrade_quad" in r.output


def test_pp1802_shapefile_release_is_converted_to_the_raw_csv(tmp_path, server):
    from test_fetch_convert import assert_same_values, build_shapefile, shared_rows

    rows = shared_rows()
    members = build_shapefile(tmp_path / "shp", rows)
    server.add(
        "usgs_pp1802_critmin/PP1802_CritMin_shapefile.zip",
        zip_of({f"CritMin/{p.name}": p.read_bytes() for p in members.values()}),
    )
    dest = tmp_path / "dest"
    (res,) = F.fetch(dest, only=["usgs_pp1802_critmin"], base_url=server.base, backoff_s=0)
    assert res.status == "downloaded"
    out = dest / "usgs_pp1802_critmin" / "PP1802_CritMin_pts.csv"
    assert_same_values(out, rows)
    assert (dest / "usgs_pp1802_critmin" / "shapefile" / "PP1802_CritMin_pts.dbf").is_file()
    assert not list(dest.rglob("*.part"))
    (again,) = F.fetch(dest, only=["usgs_pp1802_critmin"], base_url=server.base, backoff_s=0)
    assert again.status == "present"  # verified against the hashes recorded in the state file
    out.write_text("tampered")
    (third,) = F.fetch(dest, only=["usgs_pp1802_critmin"], base_url=server.base, backoff_s=0)
    assert third.status == "downloaded"
    assert_same_values(out, rows)
