"""``juncture recs ...``: train the recommendations from a store, and evaluate them offline."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Annotated

import typer

from juncture.cli.options import DatabaseUrl

recs_app = typer.Typer(no_args_is_help=True, help="Recommendations: train and evaluate.")


class Data(StrEnum):
    simulated = "simulated"
    movielens = "movielens"


class Way(StrEnum):  # how `similar` compares products (juncture.recommend.embeddings.WAYS)
    tfidf = "tfidf"
    embeddings = "embeddings"


@recs_app.command("train")
def train(database_url: DatabaseUrl = None) -> None:
    """Train every kind from the store's events and catalogue once, and say what it learnt
    (a running server trains on its own schedule, or on POST /v1/recommendations/train)."""
    from juncture import settings, wiring
    from juncture.errors import JunctureError

    flags = {"database_url": database_url} if database_url else {}
    juncture = wiring.build(settings.load(**flags))
    try:
        started = time.perf_counter()
        models = juncture.recommendations().train()
        took = time.perf_counter() - started
    except JunctureError as exc:
        typer.echo(f"{exc.code}: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        juncture.close()
    learnt = ", ".join(f"{v} {k}" for k, v in models.summary().items())
    typer.echo(f"trained in {took:.2f} s: {learnt}")


@recs_app.command("evaluate")
def evaluate(
    data: Annotated[
        Data,
        typer.Option(help="simulated: the demo's retailer; movielens: the public ratings log"),
    ] = Data.simulated,
    customers: Annotated[int, typer.Option(min=10, help="simulated shoppers")] = 2000,
    days: Annotated[int, typer.Option(min=2, help="simulated days")] = 21,
    test: Annotated[
        float, typer.Option(min=0.01, max=0.9, help="the latest share of the log held out")
    ] = 0.2,
    similar: Annotated[
        Way, typer.Option(help="how similar compares products: tfidf, or embeddings (extra)")
    ] = Way.tfidf,
) -> None:
    """Hit rate, NDCG and MAP at 10 and catalogue coverage of every kind on a temporal
    split, with the popularity baseline, as a Markdown table."""
    from juncture.errors import JunctureError
    from juncture.recommend import embeddings
    from juncture.recommend import evaluate as offline
    from juncture.runtime.recommend_data import dataset

    try:
        embeddings.check(similar.value)
        log, items = dataset(data.value, customers, days)
        scores = offline.evaluate(log, items, test=test, similar=similar.value)
    except (JunctureError, ValueError) as exc:
        typer.echo(f"{getattr(exc, 'message', exc)}", err=True)
        raise typer.Exit(1) from exc
    shoppers = len({i.user for i in log})
    typer.echo(
        f"{data.value}: {len(log)} interactions, {shoppers} shoppers, {len(items)} products; "
        f"the latest {test:.0%} held out"
    )
    typer.echo(offline.table(scores))


@recs_app.command("report")
def report(database_url: DatabaseUrl = None) -> None:
    """Impressions, clicks, conversions and attributed revenue per kind, from the stored
    events (Product List Viewed, Product Clicked with recommendation_id, Order Completed)."""
    from juncture import settings, wiring

    flags = {"database_url": database_url} if database_url else {}
    juncture = wiring.build(settings.load(**flags))
    try:
        kinds = juncture.recommendations().report()
    finally:
        juncture.close()
    columns = ("impressions", "clicks", "click-through", "conversions", "conversion", "revenue")
    typer.echo(f"| kind | {' | '.join(columns)} |")
    typer.echo("|---|---:|---:|---:|---:|---:|---:|")
    for kind, f in kinds.items():
        typer.echo(
            f"| {kind} | {f['impressions']:.0f} | {f['clicks']:.0f} | {f['click_through']:.3f} | "
            f"{f['conversions']:.0f} | {f['conversion']:.3f} | {f['revenue']:.2f} |"
        )
