"""The configurations made from the settings: the engine's (identity, thresholds,
arbitration), the recommendations', the retention windows."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TypeVar

import msgspec

from juncture.core.identity import ExternalId, IdentityConfig
from juncture.core.journeys.arbitration import Cap, Policy
from juncture.core.journeys.orchestrate import JourneyConfig
from juncture.core.pipeline import EngineConfig
from juncture.core.profile.model import ProfileConfig
from juncture.core.signals import SignalConfig
from juncture.core.stage import StageConfig
from juncture.errors import InvalidSettings
from juncture.recommend import embeddings
from juncture.recommend.filters import Rule, parse_rules
from juncture.runtime.clock import Clock
from juncture.runtime.follower import ENGINE
from juncture.runtime.recommend import Recommendations, RecsConfig
from juncture.runtime.retention import Windows as RetentionWindows
from juncture.settings import Settings
from juncture.store.catalog import Catalog
from juncture.store.sql import SqlStore

C = TypeVar("C")


def _recs_rules(text: str) -> tuple[Rule, ...]:
    try:
        return parse_rules(text)
    except ValueError as exc:
        raise InvalidSettings(f"JUNCTURE_RECS_RULES: {exc}") from exc


def recommendations(
    settings: Settings, store: SqlStore, clock: Clock, catalog: Catalog
) -> Recommendations:
    """The recommendations of ``store`` as the settings say (trained at first use)."""
    config = RecsConfig(
        refresh=settings.recs_refresh,
        look=settings.recs_look_every,
        max_per_brand=settings.recs_max_per_brand,
        rules=_recs_rules(settings.recs_rules),
        consumables=tuple(settings.replenish_every),
        similar=settings.recs_similar,
    )
    embeddings.check(settings.recs_similar)
    return Recommendations(
        store.recommend, store.placements, catalog, clock, config, saved=store.recommend_models
    )


def engine_config(settings: Settings, policy: Policy | None = None) -> EngineConfig:
    """Identity linking, thresholds and arbitration as the settings say (``policy``, when
    given, instead of the settings' arbitration: the demo's retailer). The one place core
    configs are made from settings: a field of a core config is the setting of its name."""
    lag = dt.timedelta(hours=settings.journey_entry_lag_hours)
    return EngineConfig(
        identity=_fill(IdentityConfig, settings, external_ids=_external_ids(settings)),
        profile=_fill(ProfileConfig, settings),
        signals=_fill(SignalConfig, settings),
        stage=_fill(StageConfig, settings),
        journeys=_fill(JourneyConfig, settings, policy=policy or _policy(settings), entry_lag=lag),
    )


def _fill(config: type[C], settings: Settings, **derived: object) -> C:
    """``config`` with every field a setting of the same name exists for set to that setting,
    and the fields in ``derived`` (those the settings give in another form) to theirs."""
    fields = msgspec.structs.fields if issubclass(config, msgspec.Struct) else dataclasses.fields
    named = {f.name for f in fields(config)} & Settings.model_fields.keys()  # type: ignore[arg-type]
    given = {name: getattr(settings, name) for name in named - derived.keys()}
    return config(**given, **derived)


def _external_ids(settings: Settings) -> tuple[ExternalId, ...]:
    names = (name.strip() for name in settings.external_ids.split(","))
    return tuple(ExternalId(kind=name, keys=(name,)) for name in names if name)


def _policy(settings: Settings) -> Policy:
    cap = Cap(day=settings.cap_per_day, week=settings.cap_per_week)
    return _fill(Policy, settings, global_cap=cap)


def retention_windows(settings: Settings) -> RetentionWindows:
    return RetentionWindows(
        raw_events=settings.retain_raw_events,
        derived_events=settings.retain_derived_events,
        deliveries=settings.retain_deliveries,
        quarantine=settings.retain_quarantine,
    )


def applied_through(settings: Settings, store: SqlStore) -> int | None:
    """The last raw event retention may delete: the engine's position when it runs behind
    the log (inline, every stored event was applied in its commit; without the engine,
    none ever will be)."""
    behind = settings.engine and settings.engine_mode == "behind"
    return store.log_positions.position(ENGINE) if behind else None
