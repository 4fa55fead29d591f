"""Who may do what: the scopes of admin tokens, the roles of dashboard users, and the scope
each admin route needs.

Scopes: ``read`` (every admin GET), ``write`` (every admin change: journeys, segments,
catalogue, replays, retries), ``privacy`` (a person's export and erasure, the erasure log),
``admin`` (tokens, users, the audit log). Roles are named sets of scopes.

>>> required_scope("GET", "/v1/journeys")
'read'
>>> required_scope("POST", "/v1/journeys/{journey_id}/pause")
'write'
>>> required_scope("DELETE", "/v1/profiles/{profile_id}")
'privacy'
>>> required_scope("GET", "/v1/audit")
'admin'
>>> sorted(ROLES["support"])
['privacy', 'read']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

SCOPES: Final = ("read", "write", "privacy", "admin")
ALL: Final = frozenset(SCOPES)

ROLES: Final[Mapping[str, frozenset[str]]] = {
    "admin": ALL,
    "marketer": frozenset({"read", "write"}),
    "analyst": frozenset({"read"}),
    "support": frozenset({"read", "privacy"}),
}

_ADMIN_PREFIXES: Final = ("/v1/tokens", "/v1/users", "/v1/audit")
_PRIVACY: Final = frozenset(
    {
        ("GET", "/v1/profiles/{profile_id}/export"),
        ("DELETE", "/v1/profiles/{profile_id}"),
        ("GET", "/v1/erasures"),
    }
)
_READS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def required_scope(method: str, route: str) -> str:
    """The scope an admin request needs, from its method and its route's template."""
    method = method.upper()
    if route.startswith(_ADMIN_PREFIXES):
        return "admin"
    if (method, route) in _PRIVACY or ("GET" if method == "HEAD" else method, route) in _PRIVACY:
        return "privacy"
    return "read" if method in _READS else "write"


def parse_scopes(text: str) -> frozenset[str]:
    """``"read,write"`` as a set of scopes; an unknown scope raises ValueError naming it."""
    scopes = frozenset(s.strip() for s in text.split(",") if s.strip())
    unknown = sorted(scopes - ALL)
    if unknown or not scopes:
        raise ValueError(f"unknown scope {', '.join(unknown)}" if unknown else "no scope given")
    return scopes
