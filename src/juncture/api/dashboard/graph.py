"""A journey as a graph for Cytoscape.js: one element per node, labelled with what it does and
(for a stored journey) how many enrollments reached it, wait there, left there and
converted; one edge per way out of a node, labelled where the way has a name (a split's
branch, an event or a timeout, a condition's branch). The layout is the dagre plug-in's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from juncture.core.journeys import spec as js
from juncture.store.journey_stats import JourneyStats, NodeStats


def elements(journey: js.JourneySpec, stats: JourneyStats | None = None) -> list[dict[str, Any]]:
    """Cytoscape's elements: nodes (``data.counts`` with the node's stats, if given), edges."""
    out: list[dict[str, Any]] = []
    for node in journey.nodes.values():
        counts = _counts(stats.nodes.get(node.id)) if stats is not None else None
        data = {"id": node.id, "kind": kind(node), "what": describe(node), "counts": counts}
        out.append({"group": "nodes", "data": data})
        for n, (target, label) in enumerate(ways_out(node)):
            if target in journey.nodes:
                edge = {"id": f"{node.id}->{target}#{n}", "source": node.id, "target": target}
                out.append({"group": "edges", "data": {**edge, "label": label}})
    return out


def kind(node: js.AnyNode) -> str:
    """The node's type as the definition names it (``wait_until_event``, ``send``...)."""
    return _KINDS.get(type(node), type(node).__name__.lower())


def describe(node: js.AnyNode) -> str:
    """One short line on what the node does."""
    line = _LINES.get(type(node))
    return line(node) if line is not None else kind(node)


def ways_out(node: js.AnyNode) -> list[tuple[str, str]]:
    """(target, label) for each way out of ``node``, in :func:`spec.successors`'s order."""
    targets = js.successors(node)
    if isinstance(node, js.Split):
        labels = [b.name for b in node.branches]
    elif isinstance(node, js.WaitUntilEvent):
        labels = ["event", "timeout"]
    elif isinstance(node, js.Condition):
        labels = [b.source or f"branch {i + 1}" for i, b in enumerate(node.branches)]
        labels.append("else")
    else:
        labels = [""] * len(targets)
    return list(zip(targets, labels, strict=True))


def _counts(found: NodeStats | None) -> dict[str, Any]:
    if found is None:
        return {"entered": 0, "waiting": 0, "exited": {}, "goalReached": 0, "sent": 0}
    body = found.to_json()
    return {k: body[k] for k in ("entered", "waiting", "exited", "goalReached", "sent")}


_KINDS = {
    js.Trigger: "trigger",
    js.WaitFor: "wait",
    js.WaitUntilEvent: "wait",
    js.WaitUntilTime: "wait",
    js.Condition: "condition",
    js.Split: "split",
    js.SendMessage: "send",
    js.SetTrait: "set_trait",
    js.EmitEvent: "emit_event",
    js.CallWebhook: "webhook",
    js.Exit: "exit",
}

_LINES: dict[type, Callable[[Any], str]] = {
    js.Trigger: lambda n: f"on {n.kind.replace('_', ' ')}: {n.match.event}",
    js.WaitFor: lambda n: f"wait {n.duration}",
    js.WaitUntilEvent: lambda n: f"wait for {n.match.event} (up to {n.timeout})",
    js.WaitUntilTime: lambda n: f"wait until {n.at.isoformat('minutes')}",
    js.SendMessage: lambda n: f"send {n.channel}: {n.template or n.kind or 'inline'}",
    js.SetTrait: lambda n: f"set {n.trait}",
    js.EmitEvent: lambda n: f"emit {n.event}",
    js.CallWebhook: lambda n: f"call {n.method}",
    js.Split: lambda n: "split " + " / ".join(f"{b.name} {b.weight:g}" for b in n.branches),
    js.Condition: lambda n: f"condition ({len(n.branches)} branches)",
}
