"""The preference page's choices: which marketing a recipient takes, per channel.

A recipient reaches the page from a message (a signed link naming its delivery), so the
page speaks for the profile that delivery went to. It lists marketing on each channel that
needs consent (email, SMS, push) and that the profile has an address for, or that the
message came on; messages about orders and accounts (transactional) are not the
recipient's to turn off here. Each change is a ``Consent Updated`` event on the profile
(``channel``, ``purpose: marketing``, ``granted``), through the same ingestion as every
other statement, so the next send already sees it; turning off the channel a message came
on also counts as an unsubscribe from that delivery (the engagement rates). With the engine
behind the log, the page first waits (as a read with ``?consistent=true`` does) until the
engine has applied what came before: a reload right after a save shows it, and a second
save right after the first compares with the first, not with what was before it (else
"off, then on" would end off).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from juncture.core.channels import CHANNELS, ChannelSpec
from juncture.core.profile.consent import consent_for
from juncture.core.profile.model import Profile
from juncture.runtime.feedback import FeedbackRecorder
from juncture.runtime.standing import Standing
from juncture.store.profiles import ProfileReads
from juncture.store.recipients import Addressee, Recipients

PURPOSE: Final = "marketing"
OFFERED: Final = tuple(c for c in CHANNELS if c.opt_in and c.delivery == "adapter")


@dataclass(frozen=True, slots=True)
class Choice:
    """Marketing on ``channel``: whether the recipient takes it now."""

    channel: str
    granted: bool


@dataclass(frozen=True, slots=True)
class Page:
    """What the page shows: the delivery's recipient and the choices."""

    who: Addressee
    choices: tuple[Choice, ...]


class Preferences:
    """Reads a recipient's choices and changes them."""

    def __init__(
        self,
        recipients: Recipients,
        profiles: ProfileReads,
        feedback: FeedbackRecorder,
        engine_behind: Standing | None = None,
    ) -> None:
        self.recipients = recipients
        self.profiles = profiles
        self.feedback = feedback
        self.engine_behind = engine_behind  # None: inline, every save applied in its commit

    def page(self, delivery: int) -> Page | None:
        """The choices of the recipient of ``delivery``; None when the delivery or its
        profile is gone (never sent, erased)."""
        who = self.recipients.addressee(delivery)
        if who is None or who.identifier is None:
            return None
        if self.engine_behind is not None:  # the saves before this one are applied
            self.engine_behind.catch_up()
        stored = self.profiles.profile(who.profile_id)
        if stored is None:
            return None
        shown = [c for c in OFFERED if c.name == who.channel or _reachable(stored.profile, c)]
        return Page(who, tuple(_choice(stored.profile, c) for c in shown))

    async def page_async(self, delivery: int) -> Page | None:
        """:meth:`page` off the event loop."""
        return await asyncio.to_thread(self.page, delivery)

    async def change(self, delivery: int, wanted: Mapping[str, bool]) -> Page | None:
        """Set the choices ``wanted`` names (channel -> takes marketing); the others stay.
        Answers the page as it is after the change."""
        before = await asyncio.to_thread(self.page, delivery)
        if before is None:
            return None
        changed = [c for c in before.choices if wanted.get(c.channel, c.granted) != c.granted]
        for choice in changed:
            await self.feedback.consent(before.who, choice.channel, PURPOSE, not choice.granted)
        flipped = {c.channel for c in changed}
        after = (Choice(c.channel, c.granted != (c.channel in flipped)) for c in before.choices)
        return Page(before.who, tuple(after))


def _reachable(profile: Profile, channel: ChannelSpec) -> bool:
    return any(profile.traits.get(trait) for trait in channel.recipient)


def _choice(profile: Profile, channel: ChannelSpec) -> Choice:
    """Marketing on an opt-in channel is taken only when it was granted."""
    return Choice(channel.name, consent_for(profile, channel.name, PURPOSE) is True)
