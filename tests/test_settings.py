"""The settings registry: documented, overridable, strict."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from critmin import settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


@contextmanager
def private_registry() -> Iterator[dict[str, settings.Setting]]:
    """A private copy of the settings registry; the global one is back on exit, so nothing a
    test registers leaks into ``docs/settings.md`` (rendered from the global registry)."""
    saved = settings._REGISTRY
    settings._REGISTRY = dict(saved)
    try:
        yield settings._REGISTRY
    finally:
        settings._REGISTRY = saved


@pytest.fixture()
def isolated_registry() -> Iterator[dict[str, settings.Setting]]:
    with private_registry() as reg:
        yield reg


def test_every_setting_is_documented_and_docs_are_current() -> None:
    all_ = settings.load_all()
    assert len(all_) > 50
    for s in all_:
        assert s.help.strip(), f"setting {s.name} has no help text"
    assert DOC.read_text() == settings.settings_markdown(), "docs/settings.md is stale: regenerate with settings_markdown()"


def test_unknown_key_is_an_error() -> None:
    with pytest.raises(KeyError, match="unknown setting"):
        settings.get("no.such.setting")


def test_environment_override_and_bad_value(monkeypatch: pytest.MonkeyPatch, isolated_registry: dict) -> None:
    s = settings.register("test.example_tolerance", 0.1, "A test setting.")
    assert isolated_registry[s.name] is s
    assert settings.get(s.name) == 0.1
    monkeypatch.setenv(s.env_var, "0.25")
    assert settings.get(s.name) == 0.25
    assert settings.get(s.name, {"test.example_tolerance": 0.5}) == 0.5
    monkeypatch.setenv(s.env_var, "lots")
    with pytest.raises(ValueError, match="CRITMIN_TEST_EXAMPLE_TOLERANCE"):
        settings.get(s.name)


def test_a_registered_test_setting_does_not_leak() -> None:
    before = settings.all_settings()
    with private_registry():
        settings.register("test.leak_probe", 1, "A test setting.")
        assert settings.get("test.leak_probe") == 1
    with pytest.raises(KeyError, match="unknown setting"):
        settings.get("test.leak_probe")
    assert settings.all_settings() == before
