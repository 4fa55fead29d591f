"""The composition root: settings in, a running Juncture out. Nothing else builds objects
from settings.

- :mod:`~juncture.wiring.assembly`: :func:`build` (everything a process runs), the store,
  and what commands beside the server build for themselves;
- :mod:`~juncture.wiring.juncture`: :class:`Juncture`, what a process holds and starts;
- :mod:`~juncture.wiring.config`: the engine's, the recommendations' and retention's
  configurations from the settings;
- :mod:`~juncture.wiring.channels`: the channel adapters and templates;
- :mod:`~juncture.wiring.distributed`: the distributed log and ``juncture worker``;
- :mod:`~juncture.wiring.logs`: JSON log lines.
"""

from juncture.wiring.assembly import build, eraser, open_store, segment_mover
from juncture.wiring.channels import ADAPTERS, CHANNELS, build_channels, sending, templates
from juncture.wiring.config import (
    applied_through,
    engine_config,
    recommendations,
    retention_windows,
)
from juncture.wiring.distributed import build_worker, log_lag, open_log, worker_app
from juncture.wiring.juncture import Juncture
from juncture.wiring.logs import configure_logging

__all__ = [
    "ADAPTERS",
    "CHANNELS",
    "Juncture",
    "applied_through",
    "build",
    "build_channels",
    "build_worker",
    "configure_logging",
    "engine_config",
    "eraser",
    "log_lag",
    "open_log",
    "open_store",
    "recommendations",
    "retention_windows",
    "segment_mover",
    "sending",
    "templates",
    "worker_app",
]
