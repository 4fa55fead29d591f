"""The channels: the one table of every channel a journey may send on, and how they differ.

Every other list of channels is derived from :data:`CHANNELS`: the journey grammar and its
``Channel`` literal, consent conditions of segments, arbitration's opt-in and quiet-hours
sets, the recipient of each message, the dispatcher's consent check and rendering, the
adapters that ``wiring`` builds, the demo and the simulator. Adding a channel is one line
here, an adapter in ``juncture/channels/`` if it is sent, its settings and its factory in
``wiring.ADAPTERS`` (see ``docs/architecture.md``).

Consent is stated under the channel's name (``consent: {"sms": {"marketing": true}}``,
the segment condition ``consent: sms:marketing``); ``opt_in`` says whether marketing needs it.

>>> [c.name for c in CHANNELS if c.opt_in]
['email', 'sms', 'push']
>>> RECIPIENTS["push"]
'device_token'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Body = Literal["template", "data"]
Delivery = Literal["adapter", "decide"]


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One channel.

    ``recipient``: the profile traits its address is read from, the first one set wins; the
    first also names the message's payload key (a channel without one needs no address).
    ``opt_in``: marketing on it needs the customer's consent. ``quiet_hours``: marketing on
    it waits out quiet hours by default. ``body``: the dispatcher renders a ``template``, or
    sends the message's ``data`` as it is unless it names a template. ``delivery``: sent by an
    ``adapter`` (``juncture/channels/``), or served on site by ``decide``
    (``POST /v1/decide`` shows it on the customer's next visit). ``engagement``: the events
    that say the customer used the channel (the profile's channels and last channel).
    """

    name: str
    recipient: tuple[str, ...] = ()
    opt_in: bool = False
    quiet_hours: bool = False
    body: Body = "template"
    delivery: Delivery = "adapter"
    engagement: tuple[str, ...] = ()

    @property
    def address(self) -> str | None:
        """The payload key of its recipient, or None if it has none."""
        return self.recipient[0] if self.recipient else None


CHANNELS: Final = (
    ChannelSpec(
        "email",
        recipient=("email",),
        opt_in=True,
        quiet_hours=True,
        engagement=("Email Opened", "Email Link Clicked"),
    ),
    ChannelSpec(
        "sms",
        recipient=("phone",),
        opt_in=True,
        quiet_hours=True,
        engagement=("SMS Link Clicked", "SMS Replied"),
    ),
    ChannelSpec(
        "push",
        recipient=("device_token", "push_token"),
        opt_in=True,
        quiet_hours=True,
        engagement=("Push Notification Tapped", "Push Notification Opened"),
    ),
    ChannelSpec("webhook", body="data"),
    ChannelSpec("onsite", delivery="decide"),
)

NAMES: Final = tuple(c.name for c in CHANNELS)
ON_SITE: Final = next(c.name for c in CHANNELS if c.delivery == "decide")  # POST /v1/decide
BY_NAME: Final = {c.name: c for c in CHANNELS}
OPT_IN: Final = frozenset(c.name for c in CHANNELS if c.opt_in)
QUIET: Final = frozenset(c.name for c in CHANNELS if c.quiet_hours)
DATA: Final = frozenset(c.name for c in CHANNELS if c.body == "data")
SENT: Final = tuple(c.name for c in CHANNELS if c.delivery == "adapter")
RECIPIENTS: Final = {c.name: c.address for c in CHANNELS if c.address is not None}
# Each payload key of a recipient once, with the traits it is read from, in table order.
RECIPIENT_TRAITS: Final = {c.recipient[0]: c.recipient for c in CHANNELS if c.recipient}
ENGAGEMENT: Final = {event: c.name for c in CHANNELS for event in c.engagement}
