"""product views: each entry of a profile's products in a row of its own, out of its body

Revision ID: 0004
Revises: 0003

The data moves too: every stored body's ``products`` become rows (each entry's JSON text as
it was, its place in the dict as ``position``) and the body is written again without them.
The downgrade puts them back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import msgspec
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_CHUNK: Final = 1000
# A body's top-level values as their raw JSON text: what is not touched is written back
# byte for byte.
_Fields = dict[str, msgspec.Raw]
_profiles = sa.table(
    "profiles", sa.column("profile_id"), sa.column("redirect_to"), sa.column("body")
)
_views = sa.table(
    "product_views",
    sa.column("profile_id"),
    sa.column("product_id"),
    sa.column("position"),
    sa.column("view"),
)


def upgrade() -> None:
    op.create_table(
        "product_views",
        sa.Column("profile_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("view", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", "product_id", name=op.f("pk_product_views")),
    )
    conn = op.get_bind()
    for chunk in _bodies(conn, with_products=True):
        rows, bodies = [], []
        for pid, text in chunk:
            fields = msgspec.json.decode(text, type=_Fields)
            if "products" not in fields:  # the word was in some other value
                continue
            products = msgspec.json.decode(fields.pop("products"), type=_Fields)
            rows += [
                {"profile_id": pid, "product_id": k, "position": i, "view": bytes(v).decode()}
                for i, (k, v) in enumerate(products.items())
            ]
            bodies.append({"pid": pid, "body": msgspec.json.encode(fields).decode()})
        if rows:
            conn.execute(_views.insert(), rows)
        _write(conn, bodies)


def downgrade() -> None:
    conn = op.get_bind()
    for chunk in _bodies(conn, with_products=False):
        ids = [pid for pid, _ in chunk]
        views: dict[str, dict[str, msgspec.Raw]] = {}
        query = (
            sa.select(_views.c.profile_id, _views.c.product_id, _views.c.view)
            .where(_views.c.profile_id.in_(ids))
            .order_by(_views.c.profile_id, _views.c.position)
        )
        for pid, product, view in conn.execute(query):
            views.setdefault(pid, {})[product] = msgspec.Raw(view.encode())
        bodies = []
        for pid, text in chunk:
            if pid in views:
                fields = msgspec.json.decode(text, type=_Fields)
                fields["products"] = msgspec.Raw(msgspec.json.encode(views[pid]))
                bodies.append({"pid": pid, "body": msgspec.json.encode(fields).decode()})
        _write(conn, bodies)
    op.drop_table("product_views")


def _bodies(conn: sa.Connection, *, with_products: bool) -> Iterator[list[tuple[str, str]]]:
    """Live profiles' bodies in chunks, by profile id (read a chunk at a time: each chunk is
    written back before the next is read)."""
    after = ""
    while True:
        query = (
            sa.select(_profiles.c.profile_id, _profiles.c.body)
            .where(
                _profiles.c.profile_id > after,
                _profiles.c.redirect_to.is_(None),
                _profiles.c.body.is_not(None),
            )
            .order_by(_profiles.c.profile_id)
            .limit(_CHUNK)
        )
        chunk = [(str(pid), str(body)) for pid, body in conn.execute(query)]
        if not chunk:
            return
        after = chunk[-1][0]
        if with_products:
            yield [(pid, body) for pid, body in chunk if '"products"' in body]
        else:
            yield chunk


def _write(conn: sa.Connection, bodies: list[dict[str, str]]) -> None:
    if bodies:
        conn.execute(
            _profiles.update()
            .where(_profiles.c.profile_id == sa.bindparam("pid"))
            .values(body=sa.bindparam("body")),
            bodies,
        )
