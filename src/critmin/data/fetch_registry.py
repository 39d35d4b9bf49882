"""The release registry of ``critmin data fetch``: ``catalog/releases.toml`` + ``releases.sha256``.

Parsing and validation only (no network); see :mod:`critmin.data.fetch` and docs/fetch.md.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

CATALOG = Path(__file__).parent / "catalog"
REGISTRY_PATH = CATALOG / "releases.toml"
KINDS = ("file", "zip", "manual")
CONVERTERS = ("pp1802_points_csv",)


class FetchError(RuntimeError):
    """A release could not be fetched; the message names the key and URL or file."""


class ChecksumError(FetchError):
    """A download or unpacked member does not match its expected hash or size."""


class RegistryError(ValueError):
    """The registry file is malformed; the message names the file, the key and the field."""


@dataclass(frozen=True)
class MemberRule:
    glob: str  # matched against a zip member's base name
    to: str  # folder (ends with "/") or one target file, relative to the data directory

    def target_for(self, basename: str) -> str | None:
        if not fnmatch.fnmatchcase(basename, self.glob):
            return None
        return self.to + basename if self.to.endswith("/") else self.to


@dataclass(frozen=True)
class Release:
    key: str
    group: str
    kind: str
    publisher: str
    title: str
    licence: str
    landing: str
    verified: str
    url: str = ""
    file: str = ""
    target: str = ""
    sha256: str = ""
    size: int | None = None
    members: tuple[MemberRule, ...] = ()
    convert: str = ""
    checksum_note: str = ""
    instructions: str = ""

    def download_url(self, base_url: str | None) -> str:
        """The publisher's URL, or ``<base_url>/<key>/<file>`` on a mirror."""
        if base_url:
            return f"{base_url.rstrip('/')}/{self.key}/{urllib.parse.quote(self.file)}"
        return self.url


@dataclass(frozen=True)
class Registry:
    path: Path
    releases: tuple[Release, ...]
    checksums: dict[str, str]  # target path (posix, relative) -> sha256

    def groups(self) -> set[str]:
        return {r.group for r in self.releases}

    def select(self, only: Sequence[str] | None) -> list[Release]:
        """Releases whose key or group is in ``only`` (all when empty), in registry order."""
        if not only:
            return list(self.releases)
        known = {r.key for r in self.releases} | self.groups()
        unknown = [k for k in only if k not in known]
        if unknown:
            raise FetchError(
                f"unknown release key(s) {', '.join(unknown)}; known keys and groups: "
                f"{', '.join(sorted(known))}"
            )
        return [r for r in self.releases if r.key in only or r.group in only]


# ----------------------------------------------------------------------------- registry

_REQUIRED = ("key", "group", "kind", "publisher", "title", "licence", "landing", "verified")


def _bad(path: Path, where: str, msg: str) -> RegistryError:
    return RegistryError(f"{path}: {where}: {msg}")


def _safe_rel(path: Path, where: str, name: str, value: str) -> str:
    p = PurePosixPath(value)
    if not value or p.is_absolute() or ".." in p.parts or "\\" in value:
        raise _bad(
            path,
            where,
            f"field {name!r} must be a relative path inside the data directory, found {value!r}",
        )
    return value


def _parse_release(path: Path, i: int, raw: dict) -> Release:
    where = f"release #{i + 1} (key {raw.get('key', '?')!r})"
    for name in _REQUIRED:
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise _bad(path, where, f"field {name!r} is required (non-empty string)")
    allowed = {f for f in Release.__dataclass_fields__}
    extra = set(raw) - allowed
    if extra:
        raise _bad(
            path,
            where,
            f"unknown field(s) {', '.join(sorted(extra))}; allowed: {', '.join(sorted(allowed))}",
        )
    kind = raw["kind"]
    if kind not in KINDS:
        raise _bad(path, where, f"field 'kind' must be one of {KINDS}, found {kind!r}")
    members = []
    for j, m in enumerate(raw.get("members", [])):
        if not isinstance(m, dict) or set(m) != {"glob", "to"}:
            raise _bad(path, where, f"members[{j}] must be {{ glob = ..., to = ... }}, found {m!r}")
        members.append(MemberRule(m["glob"], _safe_rel(path, where, f"members[{j}].to", m["to"])))
    if raw.get("target"):
        _safe_rel(path, where, "target", raw["target"])
    if kind != "manual":
        for name in ("url", "file"):
            if not raw.get(name):
                raise _bad(path, where, f"field {name!r} is required for kind {kind!r}")
        if not raw["url"].startswith("https://"):
            raise _bad(path, where, f"field 'url' must be an https URL, found {raw['url']!r}")
        if "/" in raw["file"]:
            raise _bad(path, where, f"field 'file' must be a bare file name, found {raw['file']!r}")
        if not raw.get("sha256") and not raw.get("checksum_note"):
            raise _bad(path, where, "without 'sha256' a 'checksum_note' must say why")
    if kind == "file" and not raw.get("target"):
        raise _bad(path, where, "field 'target' is required for kind 'file'")
    if kind == "zip" and not members:
        raise _bad(path, where, "field 'members' is required for kind 'zip'")
    if kind == "manual" and not (raw.get("target") and raw.get("instructions")):
        raise _bad(path, where, "fields 'target' and 'instructions' are required for kind 'manual'")
    conv = raw.get("convert", "")
    if conv and (conv not in CONVERTERS or not raw.get("target")):
        raise _bad(
            path,
            where,
            f"field 'convert' must be one of {CONVERTERS} with a 'target', found {conv!r}",
        )
    sha = raw.get("sha256", "")
    if sha and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        raise _bad(path, where, f"field 'sha256' must be 64 lower-case hex digits, found {sha!r}")
    size = raw.get("size")
    if size is not None and (not isinstance(size, int) or size <= 0):
        raise _bad(path, where, f"field 'size' must be a positive integer, found {size!r}")
    vals = {k: v for k, v in raw.items() if k != "members"}
    return Release(**vals, members=tuple(members))


def read_checksums(path: Path) -> dict[str, str]:
    """Parse a sha256sum-format manifest (``<hex>  <relative path>``; ``#`` comments)."""
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64 or not rel:
            raise RegistryError(f"{path}:{n}: expected '<sha256>  <path>', found {line!r}")
        if rel in out:
            raise RegistryError(f"{path}:{n}: duplicate path {rel!r}")
        out[rel] = digest
    return out


def load_registry(path: str | os.PathLike[str] | None = None) -> Registry:
    """Read and validate the registry (default: the packaged ``catalog/releases.toml``)."""
    p = Path(path) if path else REGISTRY_PATH
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"{p}: registry file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise RegistryError(f"{p}: not valid TOML: {e}") from None
    if data.get("schema_version") != 1:
        raise RegistryError(f"{p}: schema_version must be 1, found {data.get('schema_version')!r}")
    releases = tuple(_parse_release(p, i, r) for i, r in enumerate(data.get("release", [])))
    seen: set[str] = set()
    for r in releases:
        if r.key in seen:
            raise RegistryError(f"{p}: duplicate release key {r.key!r}")
        seen.add(r.key)
    checksums = read_checksums(p.parent / data["checksums"]) if data.get("checksums") else {}
    return Registry(p, releases, checksums)
