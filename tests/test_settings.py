"""The settings registry: documented, overridable, strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from critmin import settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_every_setting_is_documented_and_docs_are_current() -> None:
    all_ = settings.load_all()
    assert len(all_) > 50
    for s in all_:
        assert s.help.strip(), f"setting {s.name} has no help text"
    assert DOC.read_text() == settings.settings_markdown(), "docs/settings.md is stale: regenerate with settings_markdown()"


def test_unknown_key_is_an_error() -> None:
    with pytest.raises(KeyError, match="unknown setting"):
        settings.get("no.such.setting")


def test_environment_override_and_bad_value(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings.register("test.example_tolerance", 0.1, "A test setting.")
    assert settings.get(s.name) == 0.1
    monkeypatch.setenv(s.env_var, "0.25")
    assert settings.get(s.name) == 0.25
    assert settings.get(s.name, {"test.example_tolerance": 0.5}) == 0.5
    monkeypatch.setenv(s.env_var, "lots")
    with pytest.raises(ValueError, match="CRITMIN_TEST_EXAMPLE_TOLERANCE"):
        settings.get(s.name)
