"""Funnel rates and Sankey data from what the store counted (:mod:`juncture.store.funnels`).

A funnel's steps get the conversion from the step before and from the first, and the
profiles lost; a funnel per period counts each period's entrants (:func:`periods`). Paths
become Sankey data: a node per step and event (``"2:Product Added"``;
step 0 is the start event), a link per pair of neighbouring steps, weighted by profiles;
an event seen by fewer than ``min_profiles`` at a step is grouped as ``(other)`` there, and
a path that stops without reaching the end (and not cut at the longest path shown) goes on
to ``(exit)``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Final

from juncture.analytics.kpis import ratio
from juncture.core.measures import Period

OTHER: Final = "(other)"
EXIT: Final = "(exit)"
Row = dict[str, Any]


def funnel(events: Sequence[str], rows: Sequence[Row]) -> list[Row]:
    """The steps with ``event``, ``conversion_from_previous``, ``conversion_from_first``
    and ``dropped`` (profiles of the step before who did not reach this one).

    >>> [r["conversion_from_previous"] for r in funnel(["a", "b"], [
    ...     {"step": 1, "profiles": 4}, {"step": 2, "profiles": 1}])]
    [None, 0.25]
    """
    first = rows[0]["profiles"] if rows else 0
    found, before = [], None
    for event, row in zip(events, rows, strict=True):
        n = row["profiles"]
        found.append(
            {
                **row,
                "event": event,
                "conversion_from_previous": None if before is None else ratio(n, before),
                "conversion_from_first": ratio(n, first),
                "dropped": None if before is None else before - n,
            }
        )
        before = n
    return found


def periods(
    first: dt.datetime, last: dt.datetime, unit: Period
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The UTC days, ISO weeks (from Monday) or months from the one holding ``first`` to the
    one holding ``last``, each as ``[start, end)``.

    >>> at = dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC)
    >>> [(a.day, b.day) for a, b in periods(at, at + dt.timedelta(days=8), Period.week)]
    [(30, 7), (7, 14)]
    """
    start = dt.datetime.combine(first.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
    if unit is Period.week:
        start -= dt.timedelta(days=start.weekday())
    elif unit is Period.month:
        start = start.replace(day=1)
    out = []
    while start <= last:
        end = _next(start, unit)
        out.append((start, end))
        start = end
    return out


def _next(start: dt.datetime, unit: Period) -> dt.datetime:
    if unit is Period.month:
        return (start + dt.timedelta(days=32)).replace(day=1)
    return start + dt.timedelta(days=7 if unit is Period.week else 1)


def sankey(start: str, started: int, paths: Iterable[Row], min_profiles: int = 1) -> Row:
    """Nodes, links and the paths (rare events grouped) of profiles from ``start``.

    >>> s = sankey("a", 3, [{"steps": ["b"], "profiles": 2, "reached": True, "longer": False}])
    >>> [(n["id"], n["profiles"]) for n in s["nodes"]]
    [('0:a', 3), ('1:b', 2), ('1:(exit)', 1)]
    """
    listed = _with_none(list(paths), started)
    grouped = _grouped(listed, min_profiles)
    nodes: Counter[str] = Counter({f"0:{start}": started})
    links: Counter[tuple[str, str]] = Counter()
    for path in grouped:
        names = [f"0:{start}"] + [f"{k}:{e}" for k, e in enumerate(path["steps"], start=1)]
        if not path["reached"] and not path["longer"]:
            names.append(f"{len(path['steps']) + 1}:{EXIT}")
        for name in names[1:]:
            nodes[name] += path["profiles"]
        for a, b in itertools.pairwise(names):
            links[(a, b)] += path["profiles"]
    return {
        "nodes": [_node(n, c) for n, c in nodes.items()],
        "links": [{"source": a, "target": b, "profiles": c} for (a, b), c in links.items()],
        "paths": grouped,
    }


def _node(name: str, profiles: int) -> Row:
    step, event = name.split(":", 1)
    return {"id": name, "step": int(step), "event": event, "profiles": profiles}


def _with_none(paths: list[Row], started: int) -> list[Row]:
    """The paths and, for profiles with no event after the start, an empty one."""
    rest = started - sum(p["profiles"] for p in paths)
    if rest > 0:
        paths.append({"steps": [], "reached": False, "longer": False, "profiles": rest})
    return paths


def _grouped(paths: list[Row], min_profiles: int) -> list[Row]:
    seen: Counter[tuple[int, str]] = Counter()
    for p in paths:
        for k, event in enumerate(p["steps"], start=1):
            seen[(k, event)] += p["profiles"]
    merged: Counter[tuple[tuple[str, ...], bool, bool]] = Counter()
    for p in paths:
        steps = tuple(
            e if seen[(k, e)] >= min_profiles else OTHER for k, e in enumerate(p["steps"], 1)
        )
        merged[(steps, p["reached"], p["longer"])] += p["profiles"]
    ordered = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    return [
        {"steps": list(steps), "reached": reached, "longer": longer, "profiles": n}
        for (steps, reached, longer), n in ordered
    ]
