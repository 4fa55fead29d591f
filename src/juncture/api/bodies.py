"""The request bodies of the routes that read their body raw (tracking, decide, journeys),
as the OpenAPI document shows them: for readers of ``/docs`` and for clients and fuzzers that
generate requests from the document. The routes' own parsers stay the authority."""

from __future__ import annotations

from typing import Any, Final

_TEXT: Final = {"type": "string"}
_OBJECT: Final = {"type": "object"}
_TIME: Final = {"type": "string", "format": "date-time"}
_COMMON: Final = {
    "userId": _TEXT,
    "anonymousId": _TEXT,
    "messageId": _TEXT,
    "timestamp": _TIME,
    "sentAt": _TIME,
    "context": _OBJECT,
    "integrations": _OBJECT,
}
_BY_TYPE: Final = {
    "track": {"event": _TEXT, "properties": _OBJECT},
    "identify": {"traits": _OBJECT},
    "page": {"name": _TEXT, "properties": _OBJECT},
    "screen": {"name": _TEXT, "properties": _OBJECT},
    "group": {"groupId": _TEXT, "traits": _OBJECT},
    "alias": {"previousId": _TEXT},
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def message(kind: str) -> dict[str, Any]:
    """``openapi_extra`` of ``POST /v1/{kind}``: one Segment message of that type."""
    fields = {**_COMMON, **_BY_TYPE[kind], "writeKey": _TEXT}
    return _json({"type": "object", "properties": fields})


def batch() -> dict[str, Any]:
    """``openapi_extra`` of ``POST /v1/batch`` and ``/v1/import``."""
    item = {
        "type": "object",
        "properties": {"type": {"enum": list(_BY_TYPE)}, **_COMMON}
        | {k: v for fields in _BY_TYPE.values() for k, v in fields.items()},
        "required": ["type"],
    }
    envelope = {"batch": {"type": "array", "items": item}, "writeKey": _TEXT, "sentAt": _TIME}
    return _json({"type": "object", "properties": envelope, "required": ["batch"]})


def decide() -> dict[str, Any]:
    """``openapi_extra`` of ``POST /v1/decide``."""
    fields = {"userId": _TEXT, "anonymousId": _TEXT, "placement": _TEXT, "writeKey": _TEXT}
    fields |= {"productId": _TEXT, "storeCode": _TEXT, "question": _TEXT}
    fields |= {"latitude": {"type": "number"}, "longitude": {"type": "number"}}
    fields |= {"category": _TEXT, "recipient": _TEXT, "budget": {"type": "number"}}
    return _json({"type": "object", "properties": fields, "required": ["placement"]})


def definition() -> dict[str, Any]:
    """``openapi_extra`` of the routes that take a journey definition, YAML or JSON."""
    content = {"application/yaml": {"schema": _TEXT}, "application/json": {"schema": _OBJECT}}
    return {"requestBody": {"required": True, "content": content}}
