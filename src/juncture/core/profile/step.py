"""One event being reduced (:class:`Step`): what each event handler of the reducer
receives, and where it writes the fields it changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from juncture.core.events import Event
from juncture.core.profile.model import Profile, ProfileConfig


class Step:
    """One event being reduced: the inputs and the changed fields so far."""

    __slots__ = ("ch", "config", "event", "profile")

    def __init__(
        self, profile: Profile, event: Event, config: ProfileConfig, ch: dict[str, Any]
    ) -> None:
        self.profile, self.event, self.config, self.ch = profile, event, config, ch


Handler = Callable[[Step], None]
