"""``juncture catalog import`` on a real database: refused rows listed as file:line: column:
reason with the exit status 1, the good rows imported, a second run idempotent, a full feed
that retires what it leaves out."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from juncture.cli.catalog import SHOWN
from juncture.cli.main import app
from juncture.store.sql import SqlStore
from tests.unit.test_catalog_feeds import XML

runner = CliRunner()


def test_import_lists_refused_rows_and_keeps_the_rest(database_url: str, tmp_path: Path) -> None:
    feed = tmp_path / "products.csv"
    feed.write_text(
        "id,title,price,availability\n"
        "a,Apple,1.00 USD,in stock\n"
        "b,Banana,one dollar,in stock\n"
        "c,Cherry,3.00 USD,in stock\n"
    )
    args = ["catalog", "import", str(feed), "--database-url", database_url]
    first = runner.invoke(app, args)
    assert first.exit_code == 1, first.output
    assert "3 rows of products (csv): 2 new, 0 changed, 0 unchanged, 1 refused" in first.output
    assert f"{feed}:3: price: 'one dollar' is not a price such as '15.00 USD'" in first.output
    second = runner.invoke(app, [*args, "--chunk", "1"])  # a transaction per row
    assert "0 new, 0 changed, 2 unchanged, 1 refused" in second.output
    feed.write_text("id,title,price,availability\na,Apple,0.90 USD,in stock\n")
    full = runner.invoke(app, [*args, "--full"])
    assert full.exit_code == 0, full.output
    assert "1 rows of products (csv): 0 new, 1 changed, 0 unchanged, 0 refused, 1 retired" in (
        full.output
    )
    store = SqlStore(database_url)
    try:
        assert [p.id for p in store.catalog.search()] == ["a"]
    finally:
        store.close()


def test_a_feed_of_many_bad_rows_lists_the_first_and_counts_the_rest(
    database_url: str, tmp_path: Path
) -> None:
    feed = tmp_path / "bad.csv"
    feed.write_text("id,title,price\n" + "".join(f"p{n},P,{n} dollars\n" for n in range(1000)))
    args = ["catalog", "import", str(feed), "--database-url", database_url]
    done = runner.invoke(app, args)
    assert done.exit_code == 1, done.output
    assert "1000 rows of products (csv): 0 new, 0 changed, 0 unchanged, 1000 refused" in (
        done.output
    )
    assert done.output.count(f"{feed}:") == SHOWN
    assert f"... and {2000 - SHOWN:,} more problems" in done.output  # price and availability


def test_xml_and_a_feed_that_cannot_be_read(database_url: str, tmp_path: Path) -> None:
    xml = tmp_path / "feed.xml"
    xml.write_text(XML)
    done = runner.invoke(app, ["catalog", "import", str(xml), "--database-url", database_url])
    assert done.exit_code == 0, done.output
    assert "1 rows of products (xml): 1 new" in done.output
    empty = tmp_path / "stock.tsv"
    empty.write_text("\n")
    args = ["catalog", "import", str(empty), "--kind", "inventory", "--database-url", database_url]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1
    assert f"{empty}:1: invalid_feed: the feed has no header line" in refused.output
