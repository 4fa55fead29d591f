"""The kinds a journey's send may need are the recommenders' kinds: the core keeps a copy
(it cannot import the recommenders), the JSON Schema another."""

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
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "recommended" in node and isinstance(node["recommended"], dict):
                found.append(node["recommended"]["properties"]["kind"]["enum"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert found == [list(base.KINDS)]
