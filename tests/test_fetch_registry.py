"""The release registry (catalog/releases.toml + releases.sha256): validity, coverage of the
shared raw layout, agreement of the member manifest with the shared copies, and clear errors
for malformed registries."""

from __future__ import annotations

import hashlib
import urllib.parse
from pathlib import Path, PurePosixPath

import pytest

from critmin.data.fetch_registry import RegistryError, load_registry, read_checksums

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
PUBLISHER_HOSTS = {
    "www.sciencebase.gov",
    "mrdata.usgs.gov",
    "d9-wret.s3.us-west-2.amazonaws.com",  # www.usgs.gov media files
    "databank.worldbank.org",
    "thedocs.worldbank.org",
    "www.oecd.org",
}


@pytest.fixture(scope="module")
def reg():
    return load_registry()


def shared_files() -> list[str]:
    return sorted(
        p.relative_to(RAW).as_posix()
        for p in RAW.rglob("*")
        if p.is_file() and p.name != "SOURCES.md"
    )


def produced_by(reg, rel_path: str) -> list[str]:
    """Keys of the releases that write (or, for manual ones, expect) ``rel_path``."""
    base = PurePosixPath(rel_path).name
    keys = []
    for r in reg.releases:
        if (
            r.target
            and (rel_path == r.target or (r.target.endswith("/") and rel_path.startswith(r.target)))
            or any(
                m.to == rel_path or (m.to.endswith("/") and m.target_for(base) == rel_path)
                for m in r.members
            )
        ):
            keys.append(r.key)
    return keys


def test_registry_loads_and_urls_are_official(reg):
    assert len(reg.releases) >= 30
    for r in reg.releases:
        if r.kind == "manual":
            assert not r.url and r.instructions
            continue
        host = urllib.parse.urlsplit(r.url).hostname
        assert host in PUBLISHER_HOSTS, (r.key, r.url)
    keys = {r.key for r in reg.releases}
    for k in (
        "usgs_mcs2025_world",
        "usgs_mcs2025_salient",
        "usgs_mcs2023_world",
        "usgs_major_deposits",
        "usgs_pp1802_critmin",
        "usgs_gmrap_copper",
        "usgs_ds140_lithium",
        "worldbank_wgi",
        "worldbank_pinksheet",
    ):
        assert k in keys
    # UN Comtrade needs an API key: listed, never downloaded
    assert {r.kind for r in reg.releases if r.key.startswith("comtrade")} == {"manual"}


@pytest.mark.skipif(not RAW.is_dir(), reason="shared/data/raw not available")
def test_every_shared_file_is_produced_by_exactly_one_release(reg):
    files = shared_files()
    assert len(files) == 916  # SOURCES.md: "about 21 MB in 916 files"
    bad = {f: produced_by(reg, f) for f in files}
    bad = {f: k for f, k in bad.items() if len(k) != 1}
    assert bad == {}


@pytest.mark.skipif(not RAW.is_dir(), reason="shared/data/raw not available")
def test_manifest_and_inline_hashes_match_the_shared_copies(reg):
    assert len(reg.checksums) > 800
    for rel, digest in reg.checksums.items():
        assert hashlib.sha256((RAW / rel).read_bytes()).hexdigest() == digest, rel
        (key,) = produced_by(reg, rel)
    for r in reg.releases:
        if r.sha256:
            assert hashlib.sha256((RAW / r.target).read_bytes()).hexdigest() == r.sha256, r.key
    # the documented MCS 2025 world table is pinned (134,507 bytes per SOURCES.md)
    assert (RAW / "usgs_mcs2025/world_data/MCS2025_World_Data.csv").stat().st_size == 134507
    assert "usgs_mcs2025/world_data/MCS2025_World_Data.csv" in reg.checksums


GOOD = """
[[release]]
key = "k"
group = "g"
kind = "file"
publisher = "p"
title = "t"
licence = "l"
landing = "https://example.org/"
verified = "v"
url = "https://example.org/f.csv"
file = "f.csv"
target = "g/f.csv"
checksum_note = "moves"
"""

BROKEN = [
    ("missing field", GOOD.replace('publisher = "p"\n', ""), r"key 'k'.*'publisher' is required"),
    ("bad kind", GOOD.replace('kind = "file"', 'kind = "tarball"'), r"'kind' must be one of"),
    (
        "http url",
        GOOD.replace("https://example.org/f.csv", "http://example.org/f.csv"),
        r"'url' must be an https URL",
    ),
    (
        "escaping target",
        GOOD.replace('target = "g/f.csv"', 'target = "../f.csv"'),
        r"'target' must be a relative path",
    ),
    (
        "no hash reason",
        GOOD.replace('checksum_note = "moves"\n', ""),
        r"without 'sha256' a 'checksum_note'",
    ),
    (
        "bad sha",
        GOOD.replace('checksum_note = "moves"', 'sha256 = "abc"'),
        r"'sha256' must be 64 lower-case hex",
    ),
    ("unknown field", GOOD + 'colour = "red"\n', r"unknown field\(s\) colour"),
    ("duplicate key", GOOD + GOOD, r"duplicate release key 'k'"),
    (
        "zip without members",
        GOOD.replace('kind = "file"', 'kind = "zip"'),
        r"'members' is required for kind 'zip'",
    ),
    ("not toml", GOOD + "[[release]\n", r"not valid TOML"),
]


@pytest.mark.parametrize(("name", "body", "pattern"), BROKEN, ids=[b[0] for b in BROKEN])
def test_malformed_registry_errors_name_file_key_and_field(tmp_path, name, body, pattern):
    p = tmp_path / "bad.toml"
    p.write_text("schema_version = 1\n" + body)
    with pytest.raises(RegistryError, match=pattern) as e:
        load_registry(p)
    assert str(p) in str(e.value)


def test_malformed_manifest_line_is_located(tmp_path):
    p = tmp_path / "m.sha256"
    p.write_text("# comment\n" + "a" * 64 + "  x/y.csv\n" + "zz x/z.csv\n")
    with pytest.raises(RegistryError, match=rf"{p}:3: expected '<sha256>  <path>'"):
        read_checksums(p)
