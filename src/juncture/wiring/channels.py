"""The channels and templates the settings configure: one factory per channel an adapter
sends, in the order of :mod:`juncture.core.channels`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from juncture.channels.base import Channel
from juncture.channels.email import SmtpEmail
from juncture.channels.push import JsonPush
from juncture.channels.recording import RecordingChannel
from juncture.channels.sms import TWILIO_API, JsonSms, TwilioSms
from juncture.channels.targets import TargetPolicy
from juncture.channels.templates import Templates
from juncture.channels.webhook import Webhook
from juncture.core import channels as channel_table
from juncture.runtime.clock import SystemClock
from juncture.settings import Settings

CHANNELS = channel_table.SENT  # the channels an adapter sends (onsite is served by decide)


def templates(settings: Settings) -> Templates:
    """The templates: the retailer's folder (``JUNCTURE_TEMPLATES_DIR``) first."""
    own, s = settings.templates_dir, settings
    brand = {"name": s.brand_name, "logo_url": s.brand_logo_url or "",
             "color": s.brand_color, "background": s.brand_background}  # fmt: skip
    return Templates(own=Path(own) if own else None, brand=brand)


def sending(settings: Settings) -> list[str]:
    """The channels that reach people (those with a recipient) and would really send here:
    configured as :data:`ADAPTERS` build them, and not only recorded."""
    sms = settings.sms_from is not None and (
        settings.sms_url is not None
        if settings.sms_kind != "twilio"
        else bool(settings.sms_account_sid and settings.sms_token)
    )
    configured = {
        "email": settings.smtp_url is not None and bool(settings.email_from),
        "sms": sms,
        "push": bool(settings.push_url),
    }
    recorded = set(settings.recorded_channels())
    return [name for name, on in configured.items() if on and name not in recorded]


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The channels the settings configure; an unconfigured one is absent."""
    if tuple(ADAPTERS) != CHANNELS:
        raise RuntimeError(f"wiring.ADAPTERS {tuple(ADAPTERS)} are not the channels {CHANNELS}")
    found: dict[str, Channel] = {}
    for name, adapter in ADAPTERS.items():
        if (channel := adapter(settings)) is not None:
            found[name] = channel
    for name in settings.recorded_channels():
        found[name] = RecordingChannel()
    return found


def _email(settings: Settings) -> Channel | None:
    if settings.smtp_url is None or not settings.email_from:
        return None
    url = settings.smtp_url.get_secret_value()
    return SmtpEmail(url, sender=settings.email_from, now=SystemClock().now)


def _webhook(settings: Settings) -> Channel | None:
    if settings.webhook_secret is None:
        return None
    return Webhook(
        secret=settings.webhook_secret.get_secret_value(),
        now=SystemClock().now,
        targets=TargetPolicy.parse(settings.webhook_allow),
    )


def _push(settings: Settings) -> Channel | None:
    if not settings.push_url:
        return None
    token = settings.push_token.get_secret_value() if settings.push_token else None
    return JsonPush(settings.push_url, token=token)


def _sms(settings: Settings) -> Channel | None:
    token = settings.sms_token.get_secret_value() if settings.sms_token else None
    if settings.sms_from is None:
        return None
    if settings.sms_kind == "twilio":
        if not settings.sms_account_sid or token is None:
            return None
        return TwilioSms(
            account_sid=settings.sms_account_sid,
            auth_token=token,
            sender=settings.sms_from,
            base_url=settings.sms_url or TWILIO_API,
        )
    if settings.sms_url is None:
        return None
    return JsonSms(settings.sms_url, sender=settings.sms_from, token=token)


# The adapter of each channel an adapter sends, built from the settings (None: not
# configured), in the order of juncture.core.channels; build_channels checks the two agree.
ADAPTERS: dict[str, Callable[[Settings], Channel | None]] = {
    "email": _email,
    "sms": _sms,
    "push": _push,
    "webhook": _webhook,
}
