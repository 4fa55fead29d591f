"""``juncture demo``: a simulated retailer through the real pipeline, a summary, then the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from juncture.settings import Settings
    from juncture.wiring import Juncture

console = Console(stderr=True)
out = Console()

DEMO_WRITE_KEY = "demo-write-key"
DEMO_ADMIN_TOKEN = "demo-admin-token"  # noqa: S105 - local demo only, printed to the user


def demo(
    customers: Annotated[int, typer.Option(help="Simulated customers")] = 1000,
    days: Annotated[int, typer.Option(help="Simulated days")] = 21,
    seed: Annotated[int, typer.Option(help="Same seed, same run")] = 1,
    database: Annotated[Path, typer.Option(help="Demo database (replaced)")] = Path(
        "juncture-demo.db"
    ),
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards")
    ] = True,
    port: Annotated[int, typer.Option(help="Port to serve on")] = 8765,
    summary_json: Annotated[
        Path | None, typer.Option(help="Also write the summary as JSON here")
    ] = None,
) -> None:
    """Simulate a retailer through the real pipeline, summarize, then serve the API."""
    import time

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from juncture.demo import harness as demo_run
    from juncture.runtime import heap
    from juncture.settings import Settings

    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    settings = Settings(
        database_url=f"sqlite:///{database}",
        write_keys=DEMO_WRITE_KEY,
        admin_token=DEMO_ADMIN_TOKEN,
        sqlite_synchronous="NORMAL",
        port=port,
    )
    juncture, clock = demo_run.build(settings)
    heap.settle()  # as juncture serve does once it is built
    started = time.perf_counter()
    try:
        with Progress(
            TextColumn("simulating {task.fields[days]} days"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("demo", total=1.0, days=days)
            summary = demo_run.run(
                juncture,
                clock,
                seed=seed,
                customers=customers,
                days=days,
                progress=lambda f: bar.update(task, completed=f),
            )
    finally:
        juncture.close()
    seconds = time.perf_counter() - started
    _print_demo(summary, seconds)
    if summary_json is not None:
        summary_json.write_text(json.dumps(summary.to_json(), indent=2))
    if serve_after:
        _serve_demo(settings)


def _print_demo(summary: Any, seconds: float) -> None:
    from rich.table import Table

    data = summary.to_json()
    table = Table(
        "what",
        "count",
        title=f"Juncture demo: seed {data['seed']}, "
        f"{data['customers']} customers, {data['days']} days ({seconds:.1f} s)",
    )
    for key in ("messages_sent", "stored", "duplicates", "rejected"):
        table.add_row(key.replace("_", " "), f"{data[key]:,}")
    truth = data["simulation"]
    table.add_row("purchases (simulated)", f"{truth['purchases']:,}")
    table.add_row("revenue (simulated, USD)", f"{truth['revenue_usd']:,.2f}")
    table.add_row("carts abandoned", f"{truth['abandonments']:,}")
    for reason, count in sorted(truth["abandonment_reasons"].items()):
        table.add_row(f"  abandoned for {reason}", f"{count:,}")
    store = data["store"]
    table.add_row("events stored (with derived)", f"{store['events']:,}")
    table.add_row("profiles", f"{store['profiles']:,}")
    table.add_row("profiles merged into others", f"{store['merged_profiles']:,}")
    table.add_row("identity links refused", f"{store['identity_conflicts']:,}")
    table.add_row("timers pending", f"{store['timers_pending']:,}")
    out.print(table)
    side = Table("signal", "count", title="Real-time signals")
    for name, count in store["signals"].items():
        side.add_row(name, f"{count:,}")
    out.print(side)
    stages = Table("journey stage", "profiles", title="Where customers stand")
    for name, count in sorted(store["stages"].items(), key=lambda kv: -kv[1]):
        stages.add_row(name, f"{count:,}")
    out.print(stages)
    _print_journeys(data["journeys"])
    _print_cart_reminders(data.get("cart_reminders") or {})
    _print_retail(data.get("retail") or {}, truth.get("recommended") or {})


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f} pt"


def _print_journeys(report: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    counts = Table("what", "count", title="Journeys: messages, suppressions, orders")
    for channel, count in report["messages_by_channel"].items():
        counts.add_row(f"messages on {channel}", f"{count:,}")
    for reason, count in report["suppressions_by_reason"].items():
        counts.add_row(Text(f"  suppressed: {reason}"), f"{count:,}")
    counts.add_row("orders stored", f"{report['orders']:,}")
    for currency, revenue in report["revenue"].items():
        counts.add_row(f"  revenue ({currency})", f"{revenue:,.2f}")
    out.print(counts)
    lifts = Table(title="Each journey against its holdout (conversion: an order after entering)")
    lifts.add_column("journey", no_wrap=True)
    for name in ("profiles (holdout)", "converted", "holdout converted", "lift", "95% CI"):
        lifts.add_column(name)
    lifts.add_column("true effect")  # what the simulator knows the journey did
    for journey, row in report["lift"].items():
        t, h = row["treatment"], row["holdout"]
        ci = (
            "no holdout"
            if row["ci95_low"] is None
            else f"{_pct(row['ci95_low'])} .. {_pct(row['ci95_high'])}"
        )
        lifts.add_row(
            journey,
            f"{t['profiles']:,} ({h['profiles']:,})",
            f"{t['converted']:,} ({row['treatment_rate'] * 100:.1f}%)",
            f"{h['converted']:,} ({row['holdout_rate'] * 100:.1f}%)",
            _pct(row["lift"]),
            ci,
            _true_effect(row),
        )
    out.print(lifts)
    _print_experiments(report.get("experiments") or [])


def _print_experiments(found: list[dict[str, Any]]) -> None:
    """Each experiment's arms and the decision to take (``juncture measure experiments``)."""
    from rich.table import Table

    table = Table("experiment", "arms: converted / profiles", "decision", "why",
                  title="Experiments: the decision to take (an order within 7 days)")  # fmt: skip
    for r in found:
        arms = ", ".join(f"{n} {a['converted']:,}/{a['profiles']:,}" for n, a in r["arms"].items())
        table.add_row(r["experiment"], arms, r["action"], r["why"])
    out.print(table)


def _true_effect(row: dict[str, Any]) -> str:
    """The simulator's true effect, and whether the measured interval covers it."""
    if "true_effect" not in row:
        return "-"
    return f"{_pct(row['true_effect'])} ({'in CI' if row['covered'] else 'NOT in CI'})"


def _print_cart_reminders(figures: dict[str, int]) -> None:
    from rich.table import Table

    table = Table("cart messages delivered", "count", title="What the cart messages showed")
    table.add_row("sent", f"{figures.get('sent', 0):,}")
    table.add_row("  after the customer had bought", f"{figures.get('after_purchase', 0):,}")
    table.add_row("  with an empty basket", f"{figures.get('empty_basket', 0):,}")
    out.print(table)


def _print_retail(retail: dict[str, Any], truth: dict[str, dict[str, float]]) -> None:
    """The touchpoints' use and outcome, and recommendation-driven revenue vs holdout, as
    the store recorded them (the simulator's own figures beside, for the true effect)."""
    from rich.table import Table

    from juncture.demo.pages import HELP_PAGES, PAGES
    from juncture.runtime import touchpoint_outcomes as outcomes

    if not retail:
        return
    asked = retail.get("asked") or {}
    table = Table(
        "touchpoint", "asked", "shown", "clicked", "converted", "outcome",
        title=f"On-site touchpoints (the product, cart and app pages of {PAGES:.0%} of the "
        f"shoppers, the store and help pages of {HELP_PAGES:.0%}; from the store)",
    )  # fmt: skip
    for kind, row in sorted(retail["touchpoints"].items(), key=lambda kv: -kv[1]["shown"]):
        table.add_row(kind, f"{asked.get(kind, 0):,}", f"{row['shown']:,}", f"{row['clicked']:,}",
                      f"{row['converted']:,}", outcomes.beyond(row))  # fmt: skip
    out.print(table)
    found = retail.get("training") or {}
    out.print(f"associate training: {found.get('lines', 0):,} store product lines with demand "
              f"({found.get('demand', 0):,} views, carts and questions in stores), "
              f"{found.get('needed', 0):,} needing training")  # fmt: skip
    recs = retail["recommendations"]
    arms = Table(
        "arm", "shoppers", "lists seen", "clicks", "orders", "revenue", "true click chance",
        title="Recommendation-driven revenue vs holdout (best-sellers only)",
    )  # fmt: skip
    for name, row in recs["arms"].items():
        kinds = [v for k, v in truth.items() if (k == "best_sellers") == (name == "popular")]
        lists = sum(v.get("lists", 0.0) for v in kinds)
        chance = sum(v.get("expected_clicks", 0.0) for v in kinds) / lists if lists else 0.0
        arms.add_row(
            "personalised" if name == "personal" else "holdout", f"{row.get('shoppers', 0):,}",
            f"{row.get('impressions', 0):,}", f"{row.get('clicks', 0):,}",
            f"{row.get('conversions', 0):,}", f"{row.get('revenue', 0.0):,.2f}", f"{chance:.1%}",
        )  # fmt: skip
    out.print(arms)
    found = recs.get("revenue_per_shopper")
    if found is not None:
        out.print(
            "recommendation-driven revenue vs holdout: "
            f"{found['treatment']:.2f} vs {found['control']:.2f} per shopper, "
            f"difference {found['difference']:+.2f} "
            f"(95% CI {found['difference_low']:+.2f} .. {found['difference_high']:+.2f})"
        )


def _say_pending(juncture: Juncture) -> None:
    """What the simulated weeks left due: this server fires and sends none of it."""
    from juncture.store.overdue import overdue

    found = overdue(juncture.store.engine, juncture.clock.now())
    if found.any:
        out.print(f"{found.timers:,} timers and {found.messages:,} queued messages of the "
                  "simulated weeks are due: this server neither fires nor sends them "
                  "(juncture serve --overdue fire on this database would)")  # fmt: skip


def _serve_demo(settings: Settings) -> None:
    from juncture import wiring
    from juncture.cli import server as cli_server
    from juncture.demo import storefront

    url = f"http://{settings.host}:{settings.port}"
    out.print(f"""
Serving the demo store at {url} (Ctrl-C to stop). Try:
  {url}/demo/  (the storefront: shop, and watch the journeys move)
  curl -s -H 'Authorization: Bearer {DEMO_ADMIN_TOKEN}' '{url}/v1/events?anonymousId=...'
  curl -s -u {DEMO_WRITE_KEY}: {url}/v1/track -d '{{"userId":"me","event":"Product Viewed"}}'
  {url}/docs  (the API),  {url}/metrics  (Prometheus)
""")
    inline = settings.model_copy(update={"engine_mode": "inline"})  # as the demo ran
    juncture = wiring.build(inline, hold_timers=True)  # nor in the storefront's commits
    _say_pending(juncture)
    app = juncture.app()
    storefront.mount(app, DEMO_WRITE_KEY, juncture.store, juncture.clock)
    storefront.stock(juncture.store, juncture.clock.now())  # what its slots read
    try:
        cli_server.run(app, settings)
    finally:
        juncture.close()
