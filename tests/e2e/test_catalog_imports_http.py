"""The Catalogue page keeps what imports refused: a feed uploaded over the admin API and one
imported with ``juncture catalog import`` each appear on ``/app/catalogue`` with their
counts and each refused row's file:line, column and reason (SQLite, and PostgreSQL when its
URL is set)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
from typer.testing import CliRunner

from juncture.cli.main import app
from tests.conftest import ADMIN, ADMIN_TOKEN, LiveServer

UPLOADED = "id,title,price,availability\nu1,Mug,8.00 USD,in stock\nu2,Cup,eight,in stock\n"
IMPORTED = "id,title,price,availability\nc1,Plate,5.00 USD,in stock\nc2,Bowl,5.00 USD,maybe\n"


def _rows(page: str, table: str) -> list[list[str]]:
    """The text of each cell of each body row of the table whose id or data-import is
    ``table``."""
    found = re.search(rf"<table [^>]*{table}[^>]*>.*?<tbody>(.*?)</tbody>", page, re.S)
    assert found is not None, table
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
         for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), re.S)
    ]  # fmt: skip


def test_the_catalogue_lists_the_last_imports_and_their_refused_rows(
    live: LiveServer, tmp_path: Path
) -> None:
    with httpx.Client(base_url=live.url) as api:
        r = api.post("/v1/catalog/products", content=UPLOADED.encode(),
                     headers={**ADMIN, "Content-Type": "text/csv"},
                     params={"filename": "upload.csv"})  # fmt: skip
        assert r.status_code == 422, r.text
        feed = tmp_path / "plates.csv"
        feed.write_text(IMPORTED)
        database = live.juncture.settings.database_url
        cli = CliRunner().invoke(app, ["catalog", "import", str(feed), "--database-url", database])
        assert cli.exit_code == 1, cli.output
        assert f"{feed}:3: availability:" in cli.output
        r = api.post("/app/login", data={"token": ADMIN_TOKEN}, follow_redirects=True)
        assert r.status_code == 200, r.text
        page = api.get("/app/catalogue")
    assert page.status_code == 200
    imports = _rows(page.text, 'id="imports"')
    assert [(r[1], r[2], r[3], r[4], r[8]) for r in imports] == [
        (f"{feed} (csv, delta)", "products", "2", "1", "1"),  # the newest first
        ("upload.csv (csv, delta)", "products", "2", "1", "1"),
    ]
    ids = re.findall(r'<tr data-import="(\d+)">', page.text)
    cli_refused, api_refused = (_rows(page.text, f'data-import="{i}"') for i in ids)
    assert [r[:2] for r in cli_refused] == [[f"{feed}:3", "availability"]]
    assert "maybe" in cli_refused[0][2]
    assert [r[:2] for r in api_refused] == [["upload.csv:3", "price"]]
    assert "'eight' is not a price" in api_refused[0][2]
