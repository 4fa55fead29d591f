"""The README's journey example is a valid definition, and its library table is complete."""

from __future__ import annotations

from pathlib import Path

from juncture import definitions

README = Path(__file__).parents[2] / "README.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Journeys\n")
    return text[start : text.index("\n## ", start + 1)]


def test_the_example_validates() -> None:
    body = section()
    example = body[body.index("```yaml\n") + len("```yaml\n") :]
    spec = definitions.loads(example[: example.index("```")], "README.md")
    assert spec.id == "thanks"


def test_every_library_journey_is_listed() -> None:
    body = section()
    assert all(f"| `{j.id}` |" in body for j in definitions.load_library())
