"""The retailer's feeds read into records: Merchant Center product data as TSV, CSV, RSS/Atom
XML and JSON lines, the local inventory feed and the locations feed, with each refused row
reported by line and attribute while the rest are read."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from juncture.core import retail
from juncture.definitions import catalog, feeds
from juncture.errors import BadInput

UTC = dt.UTC
SPEC = (
    retail.Detail("General", "Capacity", "1.7 l"),
    retail.Detail("Power", "Watts", "2200"),
)


def read(text: str | bytes, kind: str = "products", fmt: str = "tsv") -> list[catalog.Read]:
    raw = text.encode() if isinstance(text, str) else text
    return list(catalog.read(io.BytesIO(raw), f"feed.{fmt}", kind, fmt))


def kettle(fmt: str) -> str:
    if fmt == "jsonl":
        row = {
            "id": "k1",
            "title": "Kettle",
            "price": "40.00 EUR",
            "sale_price": "30.00 EUR",
            "sale_price_effective_date": "2026-11-01T00:00+0100/2026-11-08T00:00+0100",
            "availability": "in stock",
            "product_type": "Home > Kitchen > Kettles",
            "product_detail": [
                {
                    "section_name": "General",
                    "attribute_name": "Capacity",
                    "attribute_value": "1.7 l",
                },
                "Power:Watts:2200",
            ],
            "custom_label_0": "summer",
            "related_products": ["k2", "k3"],
        }
        return json.dumps(row) + "\n"
    if fmt == "xml":
        return XML
    sep = "\t" if fmt == "tsv" else ","
    header = [
        "id", "title", "price", "sale price", "sale_price_effective_date", "availability",
        "product_type", "product_detail", "custom_label_0", "related_products",
    ]  # fmt: skip
    values = [
        "k1", "Kettle", "40.00 EUR", "30.00 EUR", "2026-11-01T00:00+0100/2026-11-08T00:00+0100",
        "in stock", "Home > Kitchen > Kettles", '"General:Capacity:1.7 l,Power:Watts:2200"',
        "summer", '"k2,k3"',
    ]  # fmt: skip
    if fmt == "tsv":
        values = [v.strip('"') for v in values]
    return sep.join(header) + "\n" + sep.join(values) + "\n"


XML = """<?xml version="1.0"?>
<rss xmlns:g="http://base.google.com/ns/1.0" version="2.0">
<channel>
<title>Shop</title>
<item>
<g:id>k1</g:id>
<title>Kettle</title>
<g:price>40.00 EUR</g:price>
<g:sale_price>30.00 EUR</g:sale_price>
<g:sale_price_effective_date>2026-11-01T00:00+0100/2026-11-08T00:00+0100</g:sale_price_effective_date>
<g:availability>in stock</g:availability>
<g:product_type>Home &gt; Kitchen &gt; Kettles</g:product_type>
<g:product_detail>
  <g:section_name>General</g:section_name>
  <g:attribute_name>Capacity</g:attribute_name>
  <g:attribute_value>1.7 l</g:attribute_value>
</g:product_detail>
<g:product_detail>
  <g:section_name>Power</g:section_name>
  <g:attribute_name>Watts</g:attribute_name>
  <g:attribute_value>2200</g:attribute_value>
</g:product_detail>
<g:custom_label_0>summer</g:custom_label_0>
<g:related_products>k2</g:related_products>
<g:related_products>k3</g:related_products>
</item>
</channel>
</rss>
"""


@pytest.mark.parametrize("fmt", ["tsv", "csv", "xml", "jsonl"])
def test_the_same_product_in_every_format(fmt: str) -> None:
    (found,) = read(kettle(fmt), fmt=fmt)
    assert found.problems == ()
    p = found.record
    assert isinstance(p, retail.Product)
    assert (p.id, p.title, p.price, p.sale_price, p.currency) == ("k1", "Kettle", 40.0, 30.0, "EUR")
    assert p.sale_starts == dt.datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    assert p.sale_ends == dt.datetime(2026, 11, 7, 23, 0, tzinfo=UTC)
    assert p.availability == "in_stock"
    assert p.category == "Home > Kitchen > Kettles"
    assert p.details == SPEC
    assert p.related == (retail.Related("k2"), retail.Related("k3"))
    assert dict(p.attributes) == {"custom_label_0": "summer"}
    assert found.line == (5 if fmt == "xml" else 1 if fmt == "jsonl" else 2)


def test_the_price_in_force_follows_the_sale_dates() -> None:
    (found,) = read(kettle("tsv"))
    assert isinstance(found.record, retail.Product)
    before = dt.datetime(2026, 10, 30, tzinfo=UTC)
    during = dt.datetime(2026, 11, 3, tzinfo=UTC)
    after = dt.datetime(2026, 11, 8, tzinfo=UTC)
    assert [retail.price_at(found.record, t) for t in (before, during, after)] == [
        (40.0, False),
        (30.0, True),
        (40.0, False),
    ]


def test_bad_rows_are_refused_by_line_and_attribute_and_the_rest_read() -> None:
    feed = (
        "id\ttitle\tprice\tavailability\tsale_price\tsale_price_effective_date\n"
        "a\tA\t5.00 USD\tin stock\t\t\n"
        "b\tB\tforty\tin stock\t\t\n"
        "c\t\t5.00 USD\tsold out\t\t\n"
        "d\tD\t5.00 USD\tin stock\t4.00 EUR\t2026-11-08T00:00Z/2026-11-01T00:00Z\n"
        "e\tE\t5.00 USD\tin stock\t4 USD\t\textra\n"
        "f\tF\t6.00 USD\tbackorder\t\t\n"
    )
    found = read(feed)
    assert [r.record.id for r in found if isinstance(r.record, retail.Product)] == ["a", "f"]
    problems = [p.where("feed.tsv") for r in found for p in r.problems]
    assert problems == [
        "feed.tsv:3: price: 'forty' is not a price such as '15.00 USD'",
        "feed.tsv:4: availability: 'sold out' is not one of in_stock, out_of_stock, preorder, "
        "backorder",
        "feed.tsv:4: title: is required",
        "feed.tsv:5: sale_price_effective_date: '2026-11-08T00:00Z/2026-11-01T00:00Z' ends "
        "before it starts",
        "feed.tsv:5: sale_price: is in EUR but the price is in USD",
        "feed.tsv:6: 7 fields where the header names 6",
    ]


def test_a_quoted_description_over_several_lines_keeps_the_line_count() -> None:
    feed = (
        "id,title,price,availability,description\n"
        'a,A,1 USD,in_stock,"one\ntwo"\nb,,1 USD,in_stock,x\n'
    )
    found = read(feed, fmt="csv")
    assert isinstance(found[0].record, retail.Product)
    assert found[0].record.description == "one\ntwo"
    assert [(r.line, [p.column for p in r.problems]) for r in found] == [(2, []), (4, ["title"])]


def test_xml_cut_off_midway_keeps_the_items_before_the_break() -> None:
    broken = XML.replace("</channel>\n</rss>\n", "<item><g:id>x</g:id><title>X</ti")
    found = read(broken, fmt="xml")
    assert isinstance(found[0].record, retail.Product)
    assert found[1].record is None
    assert found[1].problems[0].message.startswith("the XML cannot be read from here on")


def test_xml_entities_are_refused() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>'
        "<rss><channel><item><g:id>&a;</g:id></item></channel></rss>"
    )
    found = read(bomb, fmt="xml")
    assert [r.record for r in found] == [None]
    assert "refused" in found[0].problems[0].message


def test_atom_entries_and_link_hrefs() -> None:
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0">'
        '<entry><g:id>a1</g:id><title>Atom</title><link href="https://shop.example/a1"/>'
        "<g:price>2.50 GBP</g:price><g:availability>out_of_stock</g:availability></entry></feed>"
    )
    (found,) = read(atom, fmt="xml")
    assert isinstance(found.record, retail.Product)
    assert (found.record.link, found.record.price, found.record.availability) == (
        "https://shop.example/a1",
        2.5,
        "out_of_stock",
    )


def test_text_that_is_not_utf8_is_reported_where_it_starts() -> None:
    feed = b"id,title,price,availability\na,A,1 USD,in_stock\nb,\xff\xfe,1 USD,in_stock\n"
    found = read(feed, fmt="csv")
    assert isinstance(found[0].record, retail.Product)
    assert found[-1].record is None
    assert found[-1].problems[0].where("f") == "f:3: the row is not UTF-8 text"


def test_a_feed_without_a_header_is_refused_whole() -> None:
    with pytest.raises(BadInput) as caught:
        read("\n\n", fmt="csv")
    assert (caught.value.code, caught.value.where) == ("invalid_feed", "feed.csv:1")


def test_json_lines_that_are_not_objects() -> None:
    found = read(
        '{"id": "a", "title": "A", "price": "1 USD", "availability": "in_stock"}\n[1]\n{x\n',
        fmt="jsonl",
    )
    assert [(r.line, r.record is not None) for r in found] == [(1, True), (2, False), (3, False)]


def test_nul_in_a_value_is_refused() -> None:
    (found,) = read(
        '{"id": "a", "title": "A\\u0000", "price": "1 USD", "availability": "in_stock"}\n',
        fmt="jsonl",
    )
    assert found.problems[0].column == "title"


def test_local_inventory_rows() -> None:
    feed = (
        "store_code\tid\tquantity\tprice\tavailability\tpickup_method\tpickup_sla\taisle\tbay\n"
        "berlin\tk1\t3\t39.00 EUR\tin stock\tbuy\tsame day\t12\tB\n"
        "munich\tk1\t-1\t\tout of stock\tship to store\t3-day\t\t\n"
        "munich\tk2\t0\t\tout of stock\tteleport\tsoon\t\t\n"
    )
    found = read(feed, kind="inventory")
    assert found[0].record == retail.Stock(
        "k1", "berlin", 3, "in_stock", 39.0, "EUR", pickup_method="buy",
        pickup_sla="same_day", aisle="12", bay="B",
    )  # fmt: skip
    assert [p.column for p in found[1].problems] == ["quantity"]
    assert [p.column for p in found[2].problems] == ["pickup_method", "pickup_sla"]


def test_locations_with_hours_and_coordinates() -> None:
    feed = (
        "store_code,business_name,kind,address_line_1,locality,postal_code,country,latitude,"
        "longitude,monday_hours,sunday_hours\n"
        "berlin,Berlin Mitte,store,Alexanderplatz 1,Berlin,10178,DE,52.52,13.41,"
        "09:00-20:00,closed\n"
        "dc1,Warehouse,warehouse,,,,,91,13,25:00-26:00,\n"
    )
    found = read(feed, kind="locations", fmt="csv")
    place = found[0].record
    assert isinstance(place, retail.Location)
    assert (place.name, place.kind, place.country, place.hours) == (
        "Berlin Mitte",
        "store",
        "DE",
        {"monday": ("09:00", "20:00")},
    )
    assert retail.open_at(place, dt.datetime(2026, 11, 2, 10, 0, tzinfo=UTC))  # a Monday
    assert not retail.open_at(place, dt.datetime(2026, 11, 8, 10, 0, tzinfo=UTC))  # a Sunday
    assert [p.column for p in found[1].problems] == ["latitude", "monday_hours"]


@pytest.mark.parametrize(
    ("name", "head", "fmt"),
    [
        ("products.txt", b"", "tsv"),
        ("feed", b"  <?xml", "xml"),
        ("feed", b'{"id"', "jsonl"),
        ("feed", b"id\ttitle\n", "tsv"),
        ("feed", b"id,title\n", "csv"),
    ],
)
def test_the_format_is_guessed_from_the_name_then_the_bytes(
    name: str, head: bytes, fmt: str
) -> None:
    assert feeds.guess(name, head) == fmt


def test_a_location_names_its_time_zone_and_its_hours_are_on_that_clock() -> None:
    feed = (
        "store_code,name,time_zone,monday_hours\n"
        "nyc,New York,America/New_York,09:00-17:00\n"
        "mars,Mars,Mars/Olympus,09:00-17:00\n"
    )
    found = read(feed, kind="locations", fmt="csv")
    place = found[0].record
    assert isinstance(place, retail.Location) and place.time_zone == "America/New_York"
    monday_night_utc = dt.datetime(2026, 11, 3, 1, 0, tzinfo=UTC)  # Monday 20:00 in New York
    assert retail.local_time(place, monday_night_utc).weekday() == 0
    assert retail.open_at(place, retail.local_time(place, dt.datetime(2026, 11, 2, 14, tzinfo=UTC)))
    assert not retail.open_at(place, dt.datetime(2026, 11, 2, 22, tzinfo=UTC))  # 17:00 local
    assert [(p.column, "IANA" in p.message) for p in found[1].problems] == [("time_zone", True)]
