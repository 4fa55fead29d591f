"""The channel table is the one list of channels: every copy that must exist equals it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from juncture import wiring
from juncture.core import channels
from juncture.core.journeys import spec
from juncture.core.segments import conditions
from juncture.definitions import journeys as journey_definitions
from juncture.sim import personas, response
from juncture.store import tables
from juncture.wiring import channels as channel_wiring
from tests.conftest import settings_for


def test_names_are_unique_and_fit_the_outbox_column() -> None:
    assert len(set(channels.NAMES)) == len(channels.NAMES)
    column = tables.outbox.c.channel.type
    assert isinstance(column, sa.String)
    assert column.length is not None
    assert all(len(name) <= column.length for name in channels.NAMES)


def test_journeys_and_segment_conditions_take_the_channels_of_the_table() -> None:
    assert spec.CHANNELS == conditions.CHANNELS == channels.NAMES


def test_the_json_schema_send_channel_enum_is_the_table() -> None:
    nodes = journey_definitions.schema()["$defs"]["node"]["oneOf"]
    send = next(n for n in nodes if n["properties"]["type"]["const"] == "send")
    assert tuple(send["properties"]["channel"]["enum"]) == channels.NAMES


def test_every_channel_sent_by_an_adapter_has_a_factory_in_wiring() -> None:
    assert tuple(wiring.ADAPTERS) == channels.SENT


def test_wiring_refuses_to_build_channels_when_its_adapters_and_the_table_disagree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adapters = {**wiring.ADAPTERS, "whatsapp": lambda _: None}
    monkeypatch.setattr(channel_wiring, "ADAPTERS", adapters)
    with pytest.raises(RuntimeError, match="ADAPTERS"):
        wiring.build_channels(settings_for("sqlite://"))


def test_a_channel_with_opt_in_or_quiet_hours_is_addressed() -> None:
    for channel in channels.CHANNELS:
        if channel.opt_in or channel.quiet_hours:
            assert channel.address is not None, channel.name


def test_engagement_events_name_one_channel_each() -> None:
    events = [e for c in channels.CHANNELS for e in c.engagement]
    assert len(events) == len(set(events)) == len(channels.ENGAGEMENT)


def test_the_simulator_names_only_channels_of_the_table() -> None:
    assert set(response.OPEN_CHANCE) <= set(channels.NAMES)
    assert set(personas.CONSENT_CHANNELS) <= channels.OPT_IN
