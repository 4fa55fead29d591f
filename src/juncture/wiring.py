"""The composition root: settings in, a running Juncture out. Nothing else builds objects
from settings."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from juncture.api.app import create_app
from juncture.api.auth import WriteKeys
from juncture.metrics import Metrics
from juncture.runtime.clock import Clock, SystemClock
from juncture.runtime.committer import GroupCommitter
from juncture.runtime.engine import Engine
from juncture.runtime.ingest import Ingestor
from juncture.runtime.scheduler import Scheduler
from juncture.settings import Settings
from juncture.store import migrate
from juncture.store.base import AppendResult
from juncture.store.journeys import JourneyStore
from juncture.store.sql import SqlStore


@dataclass
class Juncture:
    settings: Settings
    store: SqlStore
    clock: Clock
    metrics: Metrics
    committer: GroupCommitter
    ingestor: Ingestor
    keys: WriteKeys
    engine: Engine
    scheduler: Scheduler | None = None

    def start_scheduler(self, interval: float = 1.0) -> None:
        """Live mode: fire due timers on wall time."""
        self.scheduler = Scheduler(self.committer, interval)
        self.scheduler.start()

    def app(self) -> FastAPI:
        token = self.settings.admin_token
        return create_app(
            store=self.store,
            ingestor=self.ingestor,
            keys=self.keys,
            metrics=self.metrics,
            admin_token=token.get_secret_value() if token else None,
            journey_store=JourneyStore(self.store.engine),
        )

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        self.committer.stop()
        self.store.close()


def open_store(settings: Settings) -> SqlStore:
    store = SqlStore(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    if settings.auto_migrate:
        migrate.upgrade(store.engine)
    return store


def build(settings: Settings, clock: Clock | None = None) -> Juncture:
    store = open_store(settings)
    metrics = Metrics()

    def observe(result: AppendResult, requests: int) -> None:
        metrics.commit_events.observe(len(result.stored) + result.duplicates)
        metrics.commit_requests.observe(requests)

    the_clock = clock or SystemClock()
    engine = Engine(the_clock)
    committer = GroupCommitter(
        store, max_events=settings.max_commit_events, on_commit=observe, process=engine.process
    )
    committer.start()
    return Juncture(
        settings=settings,
        store=store,
        clock=the_clock,
        metrics=metrics,
        committer=committer,
        ingestor=Ingestor(committer, the_clock, metrics),
        keys=WriteKeys(settings.write_key_list(), store),
        engine=engine,
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Messages carry counts and ids of sources, never personal
    data: user ids, traits and bodies are not logged anywhere in Juncture."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "t": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
