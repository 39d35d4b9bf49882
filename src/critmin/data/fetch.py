"""Download the official releases into the layout of ``shared/data/raw``.

The one registry of URLs is ``catalog/releases.toml`` (plus ``catalog/releases.sha256`` with the
expected hashes of unpacked zip members). :func:`fetch` walks the selected releases and, for
each one:

* skips it when every target is already present and verifies (registry hash, member manifest,
  or the hash recorded by an earlier fetch in ``DEST/.critmin-fetch/state.json``);
* downloads into a ``.part`` file, resuming an existing ``.part`` with an HTTP ``Range``
  request, retrying transport errors, HTTP 429 and 5xx with exponential backoff
  (``fetch.retries``, ``fetch.backoff_s``);
* verifies the download (sha256 where the publisher's file is stable, size where known, zip
  integrity always), unpacks zip members to ``.part`` files, verifies each against the manifest,
  and only then renames everything into place (``os.replace``, atomic per file). A failed
  verification raises :class:`ChecksumError` naming the file, the expected and the found hash,
  and leaves nothing in place;
* "manual" releases (UN Comtrade needs an API key) are never downloaded: their folder is checked
  and verified if present, otherwise the result carries the instructions.

Nothing here prints; progress goes through the optional :class:`Reporter`.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import hashlib
import json
import logging
import os
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

import httpx

from critmin import settings
from critmin.data.fetch_registry import (
    REGISTRY_PATH,
    ChecksumError,
    FetchError,
    MemberRule,
    Registry,
    RegistryError,
    Release,
    load_registry,
    read_checksums,
)

__all__ = [
    "REGISTRY_PATH",
    "ChecksumError",
    "FetchError",
    "FetchResult",
    "MemberRule",
    "Registry",
    "RegistryError",
    "Release",
    "Reporter",
    "fetch",
    "load_registry",
    "read_checksums",
    "read_state",
    "sha256_file",
]

log = logging.getLogger(__name__)

STATE_DIR = ".critmin-fetch"

settings.register(
    "fetch.retries",
    4,
    "Retries of one download after a transport error, HTTP 429 or 5xx (0 = try once).",
    "Engineering default; exponential backoff as in Brooker, 'Exponential Backoff And Jitter', "
    "AWS Architecture Blog (2015)",
)
settings.register(
    "fetch.backoff_s",
    2.0,
    "Base delay in seconds before retry n (delay = backoff_s * 2**n).",
    "Engineering default (Brooker 2015, AWS Architecture Blog)",
)
settings.register(
    "fetch.timeout_s",
    60.0,
    "HTTP connect/read timeout in seconds for one request.",
    "Engineering default; USGS ScienceBase can be slow to start large responses",
)
settings.register("fetch.chunk_bytes", 1 << 16, "Read/write block size for downloads.", "")


class Reporter(Protocol):
    """Progress sink (the CLI implements it with a rich progress bar)."""

    def begin(self, key: str, description: str, total: int | None, completed: int) -> None: ...

    def advance(self, key: str, nbytes: int) -> None: ...

    def end(self, key: str) -> None: ...


@dataclass
class FetchResult:
    key: str
    status: str  # downloaded | present | manual-done | manual-pending | failed
    targets: list[str] = field(default_factory=list)
    url: str = ""
    bytes_downloaded: int = 0
    resumed_from: int = 0
    detail: str = ""


# ----------------------------------------------------------------------------- helpers


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _state_path(dest: Path) -> Path:
    return dest / STATE_DIR / "state.json"


def read_state(dest: Path) -> dict:
    p = _state_path(dest)
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FetchError(
            f"{p}: fetch state is not valid JSON ({e}); delete it to re-verify by downloading again"
        ) from None


def _write_state(dest: Path, state: dict) -> None:
    p = _state_path(dest)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".json.part")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, p)


def _unlink(*paths: Path) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def expected_member_targets(rel: Release, checksums: dict[str, str]) -> dict[str, str]:
    """Manifest entries (target -> sha256) that the zip release ``rel`` must produce."""
    out = {}
    for target, digest in checksums.items():
        for rule in rel.members:
            if rule.to.endswith("/"):
                hit = (
                    target.startswith(rule.to)
                    and "/" not in target[len(rule.to) :]
                    and fnmatch.fnmatchcase(target[len(rule.to) :], rule.glob)
                )
            else:
                hit = target == rule.to
            if hit:
                out[target] = digest
                break
    return out


def _expected_hashes(rel: Release, checksums: dict[str, str], state: dict) -> dict[str, str]:
    """Every target the release is known to produce, with its expected hash."""
    known: dict[str, str] = dict(state.get(rel.key, {}).get("targets", {}))
    if rel.kind == "file":
        if rel.sha256:
            known[rel.target] = rel.sha256
    elif rel.kind == "zip":
        known.update(expected_member_targets(rel, checksums))
    return known


def _all_present(dest: Path, expected: dict[str, str]) -> bool:
    if not expected:
        return False
    for target, digest in expected.items():
        p = dest / target
        if not p.is_file() or sha256_file(p) != digest:
            return False
    return True


# ----------------------------------------------------------------------------- HTTP


@dataclass
class _Http:
    client: httpx.Client
    retries: int
    backoff: float
    chunk: int
    reporter: Reporter | None
    last: tuple[int, int] = (0, 0)  # (bytes transferred, resumed-from offset) of last download


def _download(http: _Http, key: str, url: str, part: Path) -> tuple[int, int]:
    """Download ``url`` into ``part``, resuming an existing partial file.

    Returns (bytes transferred in this call, offset the transfer resumed from). Raises
    FetchError naming key and URL for HTTP 4xx (other than 416) and after exhausted retries.
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    attempt = 0
    transferred = 0
    first_offset = -1
    while True:
        offset = part.stat().st_size if part.exists() else 0
        if first_offset < 0:
            first_offset = offset
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            with http.client.stream("GET", url, headers=headers) as resp:
                if resp.status_code == 416 and offset:
                    log.info("%s: server refused range %d-, restarting", key, offset)
                    _unlink(part)
                    first_offset = 0
                    continue
                if resp.status_code in (429,) or resp.status_code >= 500:
                    raise _Retryable(f"HTTP {resp.status_code} {resp.reason_phrase}")
                if resp.status_code >= 400:
                    raise FetchError(
                        f"{key}: HTTP {resp.status_code} {resp.reason_phrase} for {url}"
                    )
                if resp.status_code == 206:
                    start = _content_range_start(resp.headers.get("content-range", ""))
                    if start != offset:
                        raise FetchError(
                            f"{key}: server answered Range bytes={offset}- with "
                            f"Content-Range {resp.headers.get('content-range')!r} "
                            f"for {url}"
                        )
                    mode = "ab"
                else:
                    offset, mode = 0, "wb"
                    first_offset = 0
                length = resp.headers.get("content-length")
                total = offset + int(length) if length and length.isdigit() else None
                if http.reporter:
                    http.reporter.begin(key, part.name.removesuffix(".part"), total, offset)
                with part.open(mode) as f:
                    for block in resp.iter_bytes(http.chunk):
                        f.write(block)
                        transferred += len(block)
                        if http.reporter:
                            http.reporter.advance(key, len(block))
                if total is not None and part.stat().st_size != total:
                    raise _Retryable(
                        f"connection closed after {part.stat().st_size} of {total} bytes"
                    )
                http.last = (transferred, first_offset)
                return transferred, first_offset
        except (httpx.TransportError, _Retryable) as e:
            if attempt >= http.retries:
                raise FetchError(
                    f"{key}: download of {url} failed after {attempt + 1} attempt(s): {e}"
                ) from None
            delay = http.backoff * 2**attempt
            log.warning("%s: %s; retry %d/%d in %.1fs", key, e, attempt + 1, http.retries, delay)
            time.sleep(delay)
            attempt += 1
        finally:
            if http.reporter:
                http.reporter.end(key)


class _Retryable(Exception):
    pass


def _content_range_start(value: str) -> int:
    # "bytes 100-199/200"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return -1


# ----------------------------------------------------------------------------- per kind


def _verify_download(rel: Release, path: Path, url: str) -> str:
    digest = sha256_file(path)
    size = path.stat().st_size
    if rel.size is not None and size != rel.size:
        _unlink(path)
        raise ChecksumError(
            f"{rel.key}: {rel.file}: size mismatch: expected {rel.size} bytes, "
            f"found {size} (downloaded from {url}); the file was removed"
        )
    if rel.sha256 and digest != rel.sha256:
        _unlink(path)
        raise ChecksumError(
            f"{rel.key}: {rel.file}: sha256 mismatch: expected {rel.sha256}, "
            f"found {digest} (downloaded from {url}); the file was removed, "
            "nothing was put in place"
        )
    return digest


def _fetch_file(rel: Release, dest: Path, http: _Http, url: str) -> tuple[dict[str, str], str]:
    target = dest / rel.target
    fresh = not target.parent.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        _download(http, rel.key, url, part)
    except FetchError:
        if fresh and not any(target.parent.iterdir()):
            target.parent.rmdir()  # leave no empty folder behind
        raise
    digest = _verify_download(rel, part, url)
    os.replace(part, target)
    return {rel.target: digest}, digest


def _unpack(
    rel: Release, archive: Path, dest: Path, checksums: dict[str, str], url: str
) -> dict[str, Path]:
    """Unpack the mapped members to ``.part`` files and verify them; returns target -> part."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as e:
        raise ChecksumError(
            f"{rel.key}: {rel.file} from {url} is not a valid zip archive "
            f"({e}); the download was removed"
        ) from None
    parts: dict[str, Path] = {}
    sources: dict[str, str] = {}
    try:
        with zf:
            bad = zf.testzip()
            if bad is not None:
                raise ChecksumError(
                    f"{rel.key}: {rel.file} from {url}: zip member {bad!r} "
                    "fails its CRC check; the download was removed"
                )
            for info in zf.infolist():
                if info.is_dir():
                    continue
                base = PurePosixPath(info.filename).name
                target = next((t for r in rel.members if (t := r.target_for(base))), None)
                if target is None:
                    continue
                if target in sources:
                    raise FetchError(
                        f"{rel.key}: zip members {sources[target]!r} and "
                        f"{info.filename!r} both map to {target}"
                    )
                sources[target] = info.filename
                part = dest / (target + ".part")
                part.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, part.open("wb") as out:
                    while block := src.read(1 << 20):
                        out.write(block)
                parts[target] = part
        expected = expected_member_targets(rel, checksums)
        missing = sorted(set(expected) - set(parts))
        if missing:
            raise ChecksumError(
                f"{rel.key}: {rel.file} from {url} lacks expected member(s) "
                f"{', '.join(missing)}; nothing was put in place"
            )
        for target, part in parts.items():
            found = sha256_file(part)
            if target in expected and found != expected[target]:
                raise ChecksumError(
                    f"{rel.key}: {target} (member {sources[target]!r} of "
                    f"{rel.file} from {url}): sha256 mismatch: expected "
                    f"{expected[target]}, found {found}; nothing was put in "
                    "place"
                )
        if not parts:
            raise FetchError(
                f"{rel.key}: no member of {rel.file} from {url} matches the "
                f"registry rules {[r.glob for r in rel.members]}"
            )
    except BaseException:
        _unlink(*parts.values())
        raise
    return parts


def _fetch_zip(
    rel: Release, dest: Path, http: _Http, url: str, checksums: dict[str, str]
) -> tuple[dict[str, str], str]:
    archive = dest / STATE_DIR / "downloads" / rel.key / rel.file
    part = archive.with_name(archive.name + ".part")
    _download(http, rel.key, url, part)
    digest = _verify_download(rel, part, url)
    os.replace(part, archive)
    try:
        parts = _unpack(rel, archive, dest, checksums, url)
    except ChecksumError:
        _unlink(archive)
        raise
    try:
        if rel.convert:
            from critmin.data.fetch_convert import convert

            out = dest / (rel.target + ".part")
            convert(rel.convert, {t: p for t, p in parts.items()}, out)
            parts[rel.target] = out
    except BaseException:
        _unlink(*parts.values())
        raise
    done = {}
    for target, p in parts.items():
        done[target] = sha256_file(p)
        os.replace(p, dest / target)
    _unlink(archive)
    return done, digest


def _check_manual(rel: Release, dest: Path, checksums: dict[str, str]) -> FetchResult:
    folder = dest / rel.target
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    expected = {t: d for t, d in checksums.items() if t.startswith(rel.target)}
    missing = [t for t in expected if not (dest / t).is_file()]
    for t, digest in expected.items():
        p = dest / t
        if p.is_file() and (found := sha256_file(p)) != digest:
            raise ChecksumError(
                f"{rel.key}: {t}: sha256 mismatch: expected {digest}, found "
                f"{found} (manually placed file differs from the release)"
            )
    rels = [p.relative_to(dest).as_posix() for p in files]
    if not files or missing:
        why = (
            f"{len(missing)} expected file(s) missing, e.g. {missing[0]}"
            if files
            else f"{rel.target} is empty or absent"
        )
        return FetchResult(rel.key, "manual-pending", rels, detail=f"{why}. {rel.instructions}")
    return FetchResult(
        rel.key,
        "manual-done",
        rels,
        detail="present" + (", verified" if expected else ", not verifiable"),
    )


# ----------------------------------------------------------------------------- entry point


def fetch(
    dest: str | os.PathLike[str],
    registry: Registry | None = None,
    only: Sequence[str] | None = None,
    base_url: str | None = None,
    *,
    force: bool = False,
    reporter: Reporter | None = None,
    client: httpx.Client | None = None,
    retries: int | None = None,
    backoff_s: float | None = None,
    keep_going: bool = False,
) -> list[FetchResult]:
    """Fetch the selected releases into ``dest``; returns one result per release.

    By default the first failing release raises FetchError/ChecksumError. With ``keep_going``
    the failure becomes a result with status ``failed`` (the error text in ``detail``) and the
    remaining releases are still fetched. Releases fetched before a failure stay in place and
    are recorded in the state file, so a re-run continues where it stopped.
    """
    reg = registry or load_registry()
    root = Path(dest)
    root.mkdir(parents=True, exist_ok=True)
    state = read_state(root)
    own = client is None
    cli = client or httpx.Client(
        follow_redirects=True,
        timeout=float(settings.get("fetch.timeout_s")),
        headers={"User-Agent": "critmin-data-fetch (+https://doi.org/10.5066/P13XCP3R)"},
    )
    http = _Http(
        cli,
        int(settings.get("fetch.retries") if retries is None else retries),
        float(settings.get("fetch.backoff_s") if backoff_s is None else backoff_s),
        int(settings.get("fetch.chunk_bytes")),
        reporter,
    )
    results = []
    try:
        for rel in reg.select(only):
            try:
                results.append(_fetch_one(rel, root, reg, state, http, base_url, force))
            except FetchError as e:
                if not keep_going:
                    raise
                results.append(FetchResult(rel.key, "failed", detail=str(e)))
    finally:
        if own:
            cli.close()
    return results


def _fetch_one(
    rel: Release,
    root: Path,
    reg: Registry,
    state: dict,
    http: _Http,
    base_url: str | None,
    force: bool,
) -> FetchResult:
    if rel.kind == "manual":
        return _check_manual(rel, root, reg.checksums)
    expected = _expected_hashes(rel, reg.checksums, state)
    url = rel.download_url(base_url)
    http.last = (0, 0)
    if not force and _all_present(root, expected):
        return FetchResult(rel.key, "present", sorted(expected), url, detail="verified")
    log.info("%s: fetching %s", rel.key, url)
    if rel.kind == "file":
        done, digest = _fetch_file(rel, root, http, url)
    else:
        done, digest = _fetch_zip(rel, root, http, url, reg.checksums)
    state[rel.key] = {"url": url, "fetched_at": _now(), "download_sha256": digest, "targets": done}
    _write_state(root, state)
    return FetchResult(
        rel.key,
        "downloaded",
        sorted(done),
        url,
        *http.last,
        detail=(
            "sha256 verified"
            if rel.sha256 or set(done) & set(reg.checksums)
            else "no published hash; integrity checked, hash recorded"
        ),
    )
