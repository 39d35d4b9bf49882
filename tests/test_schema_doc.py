"""docs/schema.md is generated from the schema as data and must be current (like docs/settings.md)."""

from __future__ import annotations

from pathlib import Path

from critmin.data import schema

DOC = Path(__file__).resolve().parents[1] / "docs" / "schema.md"
REGENERATE = (".venv/bin/python -c \"from critmin.data.schema import schema_markdown; "
              "open('docs/schema.md', 'w').write(schema_markdown())\"")


def test_schema_doc_is_current() -> None:
    text = schema.schema_markdown()
    for name, table in schema.TABLES.items():
        assert f"## `{name}`" in text, f"table {name} missing from schema_markdown()"
        for c in table.columns:
            assert c.description.strip(), f"{name}.{c.name}: expected a description"
    assert DOC.read_text() == text, f"docs/schema.md is stale: regenerate with {REGENERATE}"
