"""Channels: email (SMTP), webhooks, SMS and push over HTTP, and their Liquid templates.

Every channel implements :class:`~juncture.channels.base.Channel`: one ``send`` that takes an
:class:`~juncture.channels.base.OutboundMessage` and answers a
:class:`~juncture.channels.base.DeliveryResult`.
"""

from juncture.channels.base import Channel, Content, DeliveryResult, OutboundMessage

__all__ = ["Channel", "Content", "DeliveryResult", "OutboundMessage"]
