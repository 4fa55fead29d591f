"""The README's journey example is a valid definition, and its library table is complete."""

from __future__ import annotations

from pathlib import Path

from juncture import definitions

README = Path(__file__).parents[2] / "README.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Journeys\n")
    return text[start : text.index("\n## ", start + 1)]


def test_the_examples_validate() -> None:
    examples = [block.split("```", 1)[0] for block in section().split("```yaml\n")[1:]]
    specs = [definitions.loads(example, "README.md") for example in examples]
    assert [spec.id for spec in specs] == ["thanks", "birthday"]


def test_every_library_journey_is_listed() -> None:
    body = section()
    assert all(f"| `{j.id}` |" in body for j in definitions.load_library())
