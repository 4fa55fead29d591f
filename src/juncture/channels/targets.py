"""Where an outbound HTTP call may go (server-side request forgery).

A webhook's URL is written by whoever defines journeys. Without a check, a journey could
make Juncture call its own admin API on loopback, a database on the private network, or a
cloud metadata address (``169.254.169.254``) and read the answer back in the deliveries. So
a target is resolved before each call and refused when any of its addresses is loopback,
private, link-local, multicast, reserved or unspecified, unless an allow-list names it
(``JUNCTURE_WEBHOOK_ALLOW``: networks such as ``10.1.2.0/24``, or host names). Only
``http`` and ``https`` are called, and redirects are not followed.

The address is checked at resolution and the connection then resolves the name again: a
name whose answer changes in between (DNS rebinding) is not caught here; an egress proxy or
firewall is the complete defence.

>>> policy = TargetPolicy.parse("10.1.2.0/24, hooks.internal")
>>> policy.refuses_address(ipaddress.ip_address("10.1.2.7"))
False
>>> policy.refuses_address(ipaddress.ip_address("169.254.169.254"))
True
>>> policy.refuses_address(ipaddress.ip_address("93.184.216.34"))
False
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """Networks and host names allowed although private (everything public is allowed)."""

    networks: tuple[IpNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> TargetPolicy:
        """``"10.0.0.0/8, 127.0.0.1, hooks.internal"``: networks or addresses, and names.

        >>> TargetPolicy.parse("").networks
        ()
        """
        networks: list[IpNetwork] = []
        hosts: set[str] = set()
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    def refuses_address(self, address: IpAddress) -> bool:
        if any(address in network for network in self.networks):
            return False
        return not address.is_global or address.is_multicast

    async def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be called (None: it may)."""
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            return f"invalid URL: {exc}"
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            return "only http and https URLs with a host are called"
        host = parts.hostname.lower().rstrip(".")
        if host in self.hosts:
            return None
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            return f"{host} does not resolve ({exc.strerror or exc})"
        for *_, address in found:
            ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
            if self.refuses_address(ip):
                return (
                    f"{host} resolves to a loopback, private or link-local address; "
                    "allow it with JUNCTURE_WEBHOOK_ALLOW"
                )
        return None
