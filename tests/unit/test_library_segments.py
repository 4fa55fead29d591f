"""The shipped journeys and the shipped segments fit together: ``journeys apply --library``
plus ``segments apply --library`` leaves no journey waiting for a segment nobody defines."""

from __future__ import annotations

from juncture.definitions import journeys as journey_definitions
from juncture.definitions import segments as segment_definitions


def test_every_segment_a_library_journey_triggers_on_ships_in_the_segment_library() -> None:
    shipped = {segment_definitions.load(p).id for p in segment_definitions.library()}
    wanted = {
        (journey.id, str(value))
        for journey in journey_definitions.load_library()
        for trigger in journey.triggers
        if trigger.kind in ("segment_entered", "segment_exited")
        for key, value in trigger.match.properties
        if key == "segment_id"
    }
    assert ("win_back", "lapsed_90d") in wanted
    assert {(j, seg) for j, seg in wanted if seg not in shipped} == set()
