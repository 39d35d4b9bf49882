"""Results shared between server processes (critmin.web.sharedcache): computed once per warehouse
version, settings and code, read by every other process; a new version or a changed setting
computes afresh. Counted, not timed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from markupsafe import Markup

from critmin.data import versions
from critmin.web import sharedcache
from critmin.web.context import WebContext


@pytest.fixture()
def versioned(real_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A warehouse path that is a symlink to a version (as `critmin data import` leaves it)."""
    monkeypatch.setenv("CRITMIN_DATABASE_URL", f"sqlite:///{tmp_path / 'ops.sqlite'}")
    wh = tmp_path / "critmin.duckdb"
    first = versions.new_version_path(wh)
    shutil.copyfile(real_db_path, first)
    versions.switch(wh, first)
    return wh


def _ctx(wh: Path) -> WebContext:
    return WebContext(wh, job_workers=0)


def _counting(value, calls: list):
    def compute():
        calls.append(1)
        return value

    return compute


def test_a_second_process_reads_what_the_first_computed(versioned):
    """The commodity list: computed by the first context (a server process), read from the
    file by a second one (a new memory cache), equal to the list the warehouse gives."""
    from critmin.web.convert import records

    a = _ctx(versioned)
    expected = records(a.wh.commodities())
    calls: list = []
    assert a.cached(("commodities",), _counting(expected, calls), shared=True) == expected
    b = _ctx(versioned)
    got = b.cached(("commodities",), _counting(None, calls), shared=True)
    assert calls == [1]  # only the first process computed
    assert got == expected and len(got) > 50
    assert b.shared.stats["commodities"] == {"loaded": 1}
    assert a.shared.stats["commodities"] == {"computed": 1}
    # the file sits beside the version, not beside the symlink
    assert sharedcache.cache_dir(versioned.resolve()).is_dir()
    a.close()
    b.close()


def test_a_new_warehouse_version_is_computed_afresh(versioned, monkeypatch):
    monkeypatch.setenv("CRITMIN_WEB_DATA_VERSION_TTL_S", "0")
    a = _ctx(versioned)
    calls: list = []
    assert a.cached(("k",), _counting([1, 2], calls), shared=True) == [1, 2]
    second = versions.new_version_path(versioned)
    shutil.copyfile(versioned.resolve(), second)
    versions.switch(versioned, second)
    assert a.cached(("k",), _counting([3], calls), shared=True) == [3]  # the running process follows
    b = _ctx(versioned)
    assert b.cached(("k",), _counting([4], calls), shared=True) == [3]  # and shares the new one
    assert calls == [1, 1]
    assert sharedcache.cache_dir(second).is_dir()
    a.close()
    b.close()


def test_a_changed_setting_is_computed_afresh_an_operational_one_is_not(versioned, monkeypatch):
    calls: list = []
    a = _ctx(versioned)
    a.cached(("k",), _counting({"x": 1.5}, calls), shared=True)
    # what the workers of `critmin serve` get on top of the parent's environment: no effect
    monkeypatch.setenv("CRITMIN_WEB_JOB_WORKERS", "0")
    monkeypatch.setenv("CRITMIN_DB", str(versioned))
    assert _ctx(versioned).cached(("k",), _counting({"x": 9.0}, calls), shared=True) == {"x": 1.5}
    assert calls == [1]
    # a setting that can change a result
    monkeypatch.setenv("CRITMIN_IMPACT_INDUSTRY_EXPOSURE", "0.5")
    assert _ctx(versioned).cached(("k",), _counting({"x": 2.5}, calls), shared=True) == {"x": 2.5}
    assert calls == [1, 1]
    a.close()


def test_only_values_that_survive_json_exactly_are_shared(versioned):
    calls: list = []
    a = _ctx(versioned)
    frag = Markup("<td>69.2&nbsp;%</td>")
    a.cached(("frag",), _counting(frag, calls), shared=True)
    a.cached(("tuple",), _counting((1, 2), calls), shared=True)  # JSON would make it a list
    a.cached(("intkeys",), _counting({2024: 1.0}, calls), shared=True)  # JSON would make "2024"
    a.cached(("nan",), _counting([float("nan")], calls), shared=True)
    assert a.shared.stats["tuple"] == a.shared.stats["intkeys"] == a.shared.stats["nan"] == {
        "computed": 1, "unshareable": 1}
    b = _ctx(versioned)
    got = b.cached(("frag",), _counting(None, calls), shared=True)
    assert type(got) is Markup and got == frag  # a fragment stays safe markup (not escaped again)
    assert b.cached(("tuple",), _counting((1, 2), calls), shared=True) == (1, 2)
    assert len(calls) == 5
    a.close()
    b.close()


def test_concurrent_processes_compute_a_key_once(versioned):
    """Two contexts (separate lock files handles, as two processes) ask at the same time."""
    calls: list = []

    def slow():
        calls.append(1)
        time.sleep(0.5)
        return [42]

    ctxs = [_ctx(versioned) for _ in range(3)]
    out: list = []
    threads = [threading.Thread(target=lambda c=c: out.append(c.cached(("slow",), slow, shared=True)))
               for c in ctxs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [[42]] * 3 and calls == [1]
    assert sorted(str(c.shared.stats["slow"]) for c in ctxs) == sorted(
        [str({"computed": 1}), str({"loaded": 1}), str({"loaded": 1})])
    for c in ctxs:
        c.close()


def test_a_corrupt_file_is_computed_again_and_an_unwritable_cache_falls_back(versioned, caplog):
    calls: list = []
    a = _ctx(versioned)
    a.cached(("k",), _counting([1], calls), shared=True)
    d = a.shared.directory(a.wh.version_path, a.data_version())
    for f in d.glob("*.json"):
        f.write_text("{not json")
    assert _ctx(versioned).cached(("k",), _counting([1], calls), shared=True) == [1]
    assert calls == [1, 1] and "not a valid cache file" in caplog.text
    # a warehouse directory the server cannot write: every process computes its own
    shutil.rmtree(sharedcache.cache_dir(versioned.resolve()))
    sharedcache.cache_dir(versioned.resolve()).write_text("in the way")
    c = _ctx(versioned)
    assert c.cached(("k",), _counting([1], calls), shared=True) == [1]
    assert c.cached(("j",), _counting([2], calls), shared=True) == [2]
    assert len(calls) == 4 and "cannot write" in caplog.text
    a.close()


def test_orphaned_caches_of_pruned_versions_are_removed(versioned):
    a = _ctx(versioned)
    a.cached(("k",), _counting([1], []), shared=True)
    old = versioned.resolve()
    a.close()
    new = versions.new_version_path(versioned)
    shutil.copyfile(old, new)
    versions.switch(versioned, new)
    versions.prune(versioned, keep=1)
    assert not old.exists() and sharedcache.cache_dir(old).is_dir()
    assert sharedcache.remove_orphans(versioned) == [sharedcache.cache_dir(old)]
    assert not sharedcache.cache_dir(old).exists()


@pytest.mark.slow
def test_the_watchlist_is_computed_once_for_every_process(versioned, monkeypatch):
    """`critmin serve` warms the shared results (pages.warm); a worker process started after it
    renders the overview's watchlist and a commodity page without computing anything."""
    from critmin.web.pages import commodity_fragments, warm, watchlist_fragment

    # the code signature is pinned in both processes: other work on this tree may touch a
    # source file between the two starts (which rightly computes afresh)
    monkeypatch.setattr(sharedcache, "code_signature", lambda: "pinned")
    a = _ctx(versioned)
    n = warm(a)
    assert n > 50
    assert a.shared.stats["assess"] == {"computed": 1}
    page = watchlist_fragment(a, "ja")
    body = commodity_fragments(a, "gallium")[1]
    code = (
        "import json, sys\n"
        "from critmin.web import sharedcache\n"
        "sharedcache.code_signature = lambda: 'pinned'\n"
        "from critmin.web.context import WebContext\n"
        "from critmin.web.pages import commodity_fragments, watchlist_fragment\n"
        "c = WebContext(sys.argv[1], job_workers=0)\n"
        "w = watchlist_fragment(c, 'ja'); b = commodity_fragments(c, 'gallium')[1]\n"
        "print(json.dumps({'stats': c.shared.stats, 'w': str(w), 'b': str(b)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(versioned)], capture_output=True, text=True,
                         env={**os.environ}, timeout=300, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert not any("computed" in v for v in got["stats"].values()), got["stats"]
    assert got["w"] == str(page) and got["b"] == str(body)
    assert "gallium" in got["b"].lower()
    a.close()
