"""Scoped admin tokens, dashboard users with roles, and the audit log (``SqlStore.access``).

Only hashes are kept: a token's SHA-256 (tokens are long random strings, so a fast hash is
enough) and a password's scrypt hash with its own salt and cost, checked in constant time.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.store import failures
from juncture.store.access_tables import admin_tokens as T
from juncture.store.access_tables import audit_log as A
from juncture.store.access_tables import dashboard_users as U

# scrypt's cost: about 50 ms per check on this class of machine, 16 MiB of memory.
_N: Final = 2**14
_R: Final = 8
_P: Final = 1


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_hash(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64), a fresh salt each time."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=64 << 20)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        given = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 << 20,
        )
    except (ValueError, TypeError):
        return False
    return kind == "scrypt" and hmac.compare_digest(given, base64.b64decode(digest))


@dataclass(frozen=True, slots=True)
class Token:
    token_id: str
    name: str
    scopes: frozenset[str]
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    created_at: dt.datetime
    disabled_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One admin action: who (``actor``, of ``actor_kind``), what (``action``: the method and
    the route's template), the scope it needed and the status it got."""

    id: int
    at: dt.datetime
    actor: str
    actor_kind: str
    action: str
    scope: str
    status: int


def _token(row: sa.Row[tuple[object, ...]]) -> Token:
    m = row._mapping
    return Token(
        m["token_id"],
        m["name"],
        frozenset(str(m["scopes"]).split(",")),
        as_utc(m["created_at"]),
        as_utc(m["revoked_at"]) if m["revoked_at"] else None,
    )


class Access:
    """The tokens, users and audit log of one SQL store."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _connect(self) -> AbstractContextManager[sa.Connection]:
        return failures.connection(self.engine)

    # tokens ------------------------------------------------------------------------------
    def add_token(self, name: str, scopes: frozenset[str], at: dt.datetime) -> tuple[Token, str]:
        """Mint a token: the stored record and the secret, which is not kept."""
        secret = "jat_" + secrets.token_urlsafe(32)
        token = Token("tok_" + secrets.token_hex(6), name, scopes, at)
        with self.engine.begin() as conn:
            conn.execute(
                T.insert().values(
                    token_id=token.token_id,
                    name=name,
                    token_hash=token_hash(secret),
                    scopes=",".join(sorted(scopes)),
                    created_at=at,
                )
            )
        return token, secret

    def token_for(self, secret: str) -> Token | None:
        """The live token whose secret this is (None: unknown or revoked)."""
        query = sa.select(T).where(T.c.token_hash == token_hash(secret), T.c.revoked_at.is_(None))
        with self._connect() as conn:
            row = conn.execute(query).first()
        return _token(row) if row else None

    def tokens(self) -> list[Token]:
        with self._connect() as conn:
            return [_token(r) for r in conn.execute(sa.select(T).order_by(T.c.created_at))]

    def revoke_token(self, token_id: str, at: dt.datetime) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                T.update()
                .where(T.c.token_id == token_id, T.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
        return done.rowcount > 0

    # users -------------------------------------------------------------------------------
    def put_user(self, name: str, role: str, password: str, at: dt.datetime) -> None:
        """Add a user, or set an existing one's role and password (and enable it again)."""
        values = {"role": role, "password_hash": password_hash(password), "disabled_at": None}
        with self.engine.begin() as conn:
            done = conn.execute(U.update().where(U.c.name == name).values(**values))
            if done.rowcount == 0:
                conn.execute(U.insert().values(name=name, created_at=at, **values))

    def user_signing_in(self, name: str, password: str) -> User | None:
        """The enabled user with this name and password (None otherwise). Always pays for one
        scrypt check, so that an unknown name takes as long as a wrong password."""
        with self._connect() as conn:
            row = conn.execute(sa.select(U).where(U.c.name == name)).first()
        stored = str(row._mapping["password_hash"]) if row else _decoy()
        matches = password_matches(password, stored)
        if row is None or not matches or row._mapping["disabled_at"] is not None:
            return None
        m = row._mapping
        return User(m["name"], m["role"], as_utc(m["created_at"]))

    def users(self) -> list[User]:
        with self._connect() as conn:
            rows = conn.execute(sa.select(U).order_by(U.c.name)).mappings()
            return [
                User(
                    r["name"],
                    r["role"],
                    as_utc(r["created_at"]),
                    as_utc(r["disabled_at"]) if r["disabled_at"] else None,
                )
                for r in rows
            ]

    def disable_user(self, name: str, at: dt.datetime) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                U.update().where(U.c.name == name, U.c.disabled_at.is_(None)).values(disabled_at=at)
            )
        return done.rowcount > 0

    # audit -------------------------------------------------------------------------------
    def record(self, entry: Entry) -> None:
        with failures.mapped("record an audit entry"), self.engine.begin() as conn:
            conn.execute(
                A.insert().values(
                    at=entry.at,
                    actor=entry.actor[:200],
                    actor_kind=entry.actor_kind,
                    action=entry.action[:300],
                    scope=entry.scope,
                    status=entry.status,
                )
            )

    def audit(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        actor: str | None = None,
        limit: int = 1000,
    ) -> Iterator[Entry]:
        """Entries oldest first, within ``[since, until)`` and of ``actor`` when given."""
        query = sa.select(A).order_by(A.c.id).limit(limit)
        if since is not None:
            query = query.where(A.c.at >= since)
        if until is not None:
            query = query.where(A.c.at < until)
        if actor is not None:
            query = query.where(A.c.actor == actor)
        with self._connect() as conn:
            rows = list(conn.execute(query).mappings())
        for r in rows:
            yield Entry(
                int(r["id"]),
                as_utc(r["at"]),
                r["actor"],
                r["actor_kind"],
                r["action"],
                r["scope"],
                int(r["status"]),
            )


@functools.cache
def _decoy() -> str:
    return password_hash(secrets.token_urlsafe(16))
