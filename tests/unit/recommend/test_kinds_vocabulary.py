"""The kinds a journey's send or condition may need are the recommenders' kinds: the core
keeps a copy (it cannot import the recommenders), the JSON Schema another, shared by both."""

from __future__ import annotations

import json
from importlib import resources

from juncture.core.journeys import spec
from juncture.recommend import base


def test_the_journeys_kinds_are_the_recommenders() -> None:
    assert spec.RECOMMENDATION_KINDS == base.KINDS
    schema = json.loads(
        (resources.files("juncture.definitions") / "journeys.schema.json").read_text()
    )
    found: list[object] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "recommended" in node and isinstance(node["recommended"], dict):
                found.append(node["recommended"].get("$ref"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema["$defs"]["node"])
    assert found == ["#/$defs/recommended"] * 2  # a send's, a condition branch's: one table
    assert schema["$defs"]["recommended"]["properties"]["kind"]["enum"] == list(base.KINDS)
