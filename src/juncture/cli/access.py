"""``juncture tokens ...``, ``juncture users ...`` and ``juncture audit``: who may use the admin
API and the dashboard, and what they did. CLI actions on tokens and users are audited too,
with the actor ``cli`` (whoever can run the CLI holds the database already)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from juncture.cli.options import DatabaseUrl

if TYPE_CHECKING:
    from juncture.store.access import Access

tokens_app = typer.Typer(no_args_is_help=True, help="Admin API tokens with scopes.")
users_app = typer.Typer(no_args_is_help=True, help="Dashboard users with roles.")
out = Console()


@contextmanager
def _access(database_url: str | None) -> Iterator[Access]:
    from juncture import wiring
    from juncture.settings import load as load_settings

    flags = {"database_url": database_url} if database_url else {}
    store = wiring.open_store(load_settings(**flags))
    try:
        yield store.access
    finally:
        store.close()


def _audit(access: Access, action: str, scope: str = "admin") -> None:
    from juncture.runtime.clock import SystemClock
    from juncture.store.access import Entry

    access.record(Entry(0, SystemClock().now(), "cli", "cli", action, scope, 0))


@tokens_app.command("create")
def tokens_create(
    name: str,
    scopes: Annotated[
        str, typer.Option(help="Comma-separated: read, write, privacy, admin")
    ] = "read",
    database_url: DatabaseUrl = None,
) -> None:
    """Mint an admin API token. It is printed once; only its hash is kept."""
    from juncture.core import access
    from juncture.runtime.clock import SystemClock

    try:
        wanted = access.parse_scopes(scopes)
    except ValueError as exc:
        typer.echo(f"--scopes: {exc} (choose from {', '.join(access.SCOPES)})", err=True)
        raise typer.Exit(2) from None
    with _access(database_url) as store:
        token, secret = store.add_token(name, wanted, SystemClock().now())
        _audit(store, f"tokens create {token.token_id}")
    out.print(secret)
    typer.echo(f"{token.token_id} ({', '.join(sorted(wanted))}): keep the token above", err=True)


@tokens_app.command("list")
def tokens_list(database_url: DatabaseUrl = None) -> None:
    """The tokens: id, name, scopes, created, revoked."""
    with _access(database_url) as store:
        for t in store.tokens():
            revoked = f"  revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else ""
            out.print(
                f"{t.token_id}  {t.name}  {','.join(sorted(t.scopes))}  "
                f"created {t.created_at:%Y-%m-%d %H:%M}{revoked}"
            )


@tokens_app.command("revoke")
def tokens_revoke(token_id: str, database_url: DatabaseUrl = None) -> None:
    """Revoke a token: refused at once by every server on this database."""
    from juncture.runtime.clock import SystemClock

    with _access(database_url) as store:
        if not store.revoke_token(token_id, SystemClock().now()):
            typer.echo(f"no live token {token_id}", err=True)
            raise typer.Exit(1)
        _audit(store, f"tokens revoke {token_id}")
    out.print(f"{token_id} revoked")


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="admin, marketer, analyst or support")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a dashboard user (or set an existing one's role and password)."""
    from juncture.core import access
    from juncture.runtime.clock import SystemClock

    if role not in access.ROLES:
        typer.echo(f"--role: unknown role {role} (choose from {', '.join(access.ROLES)})", err=True)
        raise typer.Exit(2)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12 or not password.strip():
        typer.echo("the password needs at least 12 characters", err=True)
        raise typer.Exit(2)
    with _access(database_url) as store:
        store.put_user(name, role, password, SystemClock().now())
        _audit(store, "users add")
    out.print(f"{name}: {role} ({', '.join(sorted(access.ROLES[role]))})")


@users_app.command("list")
def users_list(database_url: DatabaseUrl = None) -> None:
    """The dashboard users: name, role, created, disabled."""
    with _access(database_url) as store:
        for u in store.users():
            disabled = f"  disabled {u.disabled_at:%Y-%m-%d %H:%M}" if u.disabled_at else ""
            out.print(f"{u.name}  {u.role}  created {u.created_at:%Y-%m-%d %H:%M}{disabled}")


@users_app.command("disable")
def users_disable(name: str, database_url: DatabaseUrl = None) -> None:
    """Disable a user: their next sign-in is refused."""
    from juncture.runtime.clock import SystemClock

    with _access(database_url) as store:
        if not store.disable_user(name, SystemClock().now()):
            typer.echo(f"no enabled user {name}", err=True)
            raise typer.Exit(1)
        _audit(store, "users disable")
    out.print(f"{name} disabled")


def audit(
    since: Annotated[str | None, typer.Option(help="ISO 8601: entries from then on")] = None,
    actor: Annotated[str | None, typer.Option(help="Only this token id or user")] = None,
    csv_: Annotated[bool, typer.Option("--csv", help="CSV instead of lines")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """The audit log of admin actions, oldest first (at most 100,000)."""
    import datetime as dt

    from juncture.api.access import entries_csv

    try:
        start = dt.datetime.fromisoformat(since) if since else None
    except ValueError:
        typer.echo(f"--since: not an ISO 8601 time: {since}", err=True)
        raise typer.Exit(2) from None
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    with _access(database_url) as store:
        entries = list(store.audit(since=start, actor=actor, limit=100_000))
    if csv_:
        sys.stdout.write(entries_csv(entries))
        return
    for e in entries:
        out.print(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor_kind}:{e.actor}  {e.action}  {e.status}")
