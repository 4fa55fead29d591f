"""Liquid templates: a subject, an HTML body and a text body per message.

A named template is a folder ``<name>/`` with ``subject.liquid``, ``body.html.liquid`` and
``body.txt.liquid`` (each optional; a missing part renders empty). The ready journeys' templates
ship in ``juncture/library/templates``. A message may instead carry its template inline, as
``{"subject": ..., "html": ..., "text": ...}``.

Variables are strict: a misspelt name (``{{ profle.first_name }}``) is an error naming the
template, the part and the line; optional fields use the ``default`` filter
(``{{ profile.first_name | default: "there" }}``). The HTML body is auto-escaped. Two extra
filters: ``money`` prints a number with two decimals, ``product`` turns a product id into
the catalogue's product as it is now (:mod:`juncture.channels.lookups`, which also gives
``segments`` and ``catalog``).

A template that lists the cart's items (reads ``cart.items``) is about the cart: rendered
for an empty cart it raises :class:`EmptyCart` (the dispatcher then records the message as
suppressed, ``empty_cart``), so that no reminder shows an empty basket.

>>> Templates().render("welcome", {"profile": {"first_name": "Ada"}}).subject
'Welcome, Ada!'
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import liquid
from liquid.exceptions import LiquidError

from juncture import library as shipped
from juncture.channels import lookups
from juncture.channels.base import Content
from juncture.channels.shelf import Shelf
from juncture.errors import InvalidDefinition

PACKAGE_TEMPLATES = shipped.TEMPLATES
PARTS = {"subject": "subject.liquid", "html": "body.html.liquid", "text": "body.txt.liquid"}
CONTEXT_DEFAULTS: Mapping[str, Any] = {
    "profile": {},
    "event": {},
    "cart": {},
    "recommendations": Shelf(),  # empty lists, unless the sender gives a recommender
    "journey": {},
    "unsubscribe_url": "",  # a marketing email's one-click unsubscribe link (its footer's)
    "preferences_url": "",  # and its recipient's preference page
    "data": {},  # what the send node gives: offer, products, survey, deadline
    "brand": {},  # the retailer's name, logo and colours (Templates' brand)
    "segments": lookups.Segments(),  # the profile's segments now, when the sender reads them
    "catalog": lookups.Catalog(),  # products by id as they are now (and the product filter)
}
BRAND_DEFAULTS: Mapping[str, str] = {
    "name": "",
    "logo_url": "",
    "color": "#1f3a5f",
    "background": "#f4f4f4",
}


class TemplateError(InvalidDefinition):
    """A template that is missing, does not parse, or does not render with its context."""

    code = "invalid_template"


class EmptyCart(TemplateError):
    """A template that lists the cart's items, for a cart without any: nothing to say."""

    code = "empty_cart"


def money(value: object) -> str:
    """Two decimals, rounded half up: ``money(3)`` is ``'3.00'``."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _environment(*, autoescape: bool, folders: list[Path]) -> liquid.Environment:
    """Strict variables, the ``money`` filter, and ``{% include %}`` from the folders (the
    retailer's first): the shipped email layout is ``_email/top`` and ``_email/bottom``."""
    env = liquid.Environment(
        undefined=liquid.StrictDefaultUndefined,
        autoescape=autoescape,
        loader=liquid.CachingFileSystemLoader(folders, ext=".liquid", auto_reload=True),
    )
    env.add_filter("money", money)
    env.add_filter("product", lookups.product)
    return env


class Templates:
    """Parses templates once (cached by name and part) and renders them with a context.

    ``own``: the retailer's templates folder (``JUNCTURE_TEMPLATES_DIR``); a template there
    overrides the shipped one of its name, and is read again when its folder changes.
    ``brand``: the retailer's ``name``, ``logo_url``, ``color`` and ``background``, as
    ``brand`` in every template (defaults: :data:`BRAND_DEFAULTS`). Folders whose name
    starts with ``_`` hold parts that templates include, not templates."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        own: Path | None = None,
        brand: Mapping[str, str] | None = None,
    ) -> None:
        self.directory = directory or PACKAGE_TEMPLATES
        self.own = own
        self.brand = {**BRAND_DEFAULTS, **(brand or {})}
        folders = [*([own] if own else []), self.directory]
        self._html = _environment(autoescape=True, folders=folders)
        self._plain = _environment(autoescape=False, folders=folders)
        self._cache: dict[tuple[str, int], dict[str, liquid.BoundTemplate | None]] = {}
        self._shipped: dict[str, Path | None] = {}  # a shipped template's folder, by name
        self._about_cart: dict[int, bool] = {}  # by id of a cached part: whether it lists it

    def names(self) -> list[str]:
        """The named templates available (the retailer's and the shipped ones)."""
        folders = [self.directory, *([self.own] if self.own and self.own.is_dir() else [])]
        found = {p.name for f in folders for p in f.iterdir() if p.is_dir()}
        return sorted(name for name in found if not name.startswith("_"))

    def check(self, name: str, parts: Mapping[str, str]) -> None:
        """Parse ``parts`` (``subject``, ``html``, ``text``) as template ``name``'s; raises
        :class:`TemplateError` naming the part and line of the first problem."""
        for part, source in parts.items():
            self._parse(name, part, source)

    def render(
        self,
        name: str | None,
        context: Mapping[str, Any],
        *,
        inline: Mapping[str, Any] | None = None,
    ) -> Content:
        """Render ``inline`` parts when given, else the named template's files."""
        if name is None and not inline:
            raise TemplateError("no template: name one, or give its parts inline")
        data = {**CONTEXT_DEFAULTS, "brand": self.brand, **context}
        label = name or "inline"
        if inline:
            found = {part: self._inline(label, part, inline) for part in PARTS}
        else:
            found = self._named_parts(label)
        if not _items(data["cart"]) and self._about_the_cart(found, named=not inline):
            raise EmptyCart(f"template {label!r} lists the cart's items: the cart is empty")
        parts: dict[str, str] = {}
        for part, template in found.items():
            parts[part] = "" if template is None else self._run(label, part, template, data)
        return Content(subject=" ".join(parts["subject"].split()), **_bodies(parts))

    def lists_cart(self, name: str | None, inline: object = None) -> bool:
        """Whether the template (named, or ``inline`` parts) lists the cart's items; False for
        one that does not load (rendering it says why)."""
        label = name or "inline"
        try:
            if isinstance(inline, Mapping) and inline:
                found = {part: self._inline(label, part, inline) for part in PARTS}
            elif name is not None:
                found = self._named_parts(label)
            else:
                return False
        except TemplateError:
            return False
        return self._about_the_cart(found, named=not inline)

    def _about_the_cart(
        self, found: Mapping[str, liquid.BoundTemplate | None], *, named: bool
    ) -> bool:
        """Whether a part of the template lists the cart's items (a named one: found once)."""
        for template in found.values():
            lists = self._about_cart.get(id(template)) if named else None
            if lists is None and template is not None:
                lists = _lists_cart(template)
                if named:
                    self._about_cart[id(template)] = lists
            if lists:
                return True
        return False

    def _named_parts(self, name: str) -> dict[str, liquid.BoundTemplate | None]:
        """Each part of template ``name``, parsed once per version of its folder."""
        if "/" in name or "\\" in name or name.startswith((".", "_")):
            raise TemplateError(f"unknown template {name!r}", where=name)
        folder, stamp = self._folder(name)
        found = self._cache.get((name, stamp))
        if found is None:
            if folder is None:
                raise TemplateError(f"unknown template {name!r}", where=name)
            found = {part: self._read(name, part, folder / file) for part, file in PARTS.items()}
            self._cache[(name, stamp)] = found
        return found

    def _read(self, name: str, part: str, path: Path) -> liquid.BoundTemplate | None:
        source = path.read_text(encoding="utf-8") if path.is_file() else None
        return None if source is None else self._parse(name, part, source)

    def _folder(self, name: str) -> tuple[Path | None, int]:
        """The folder of template ``name`` (the retailer's first), and a stamp that changes
        when the retailer's changes (its modification time; 0 for a shipped one, whose
        folder is looked up once)."""
        if self.own is not None:
            try:
                return self.own / name, (self.own / name).stat().st_mtime_ns
            except (FileNotFoundError, NotADirectoryError):
                pass
        if name not in self._shipped:
            folder = self.directory / name
            self._shipped[name] = folder if folder.is_dir() else None
        return self._shipped[name], 0

    def _inline(
        self, name: str, part: str, inline: Mapping[str, Any]
    ) -> liquid.BoundTemplate | None:
        source = inline.get(part)
        if source is None:
            return None
        if not isinstance(source, str):
            raise TemplateError(f"template {name!r}: inline {part} must be text", where=name)
        return self._parse(name, part, source)

    def _parse(self, name: str, part: str, source: str) -> liquid.BoundTemplate:
        env = self._html if part == "html" else self._plain
        try:
            return env.from_string(source, name=f"{name}/{PARTS[part]}")
        except LiquidError as exc:
            raise _error(name, part, exc, _line(env, source, exc)) from exc

    @staticmethod
    def _run(name: str, part: str, template: liquid.BoundTemplate, data: Mapping[str, Any]) -> str:
        try:
            return template.render(**data)
        except LiquidError as exc:
            raise _error(name, part, exc) from exc


def _items(cart: object) -> bool:
    """Whether a cart in a template's context holds items."""
    return isinstance(cart, Mapping) and bool(cart.get("items"))


def _lists_cart(template: liquid.BoundTemplate) -> bool:
    """Whether ``template`` reads ``cart.items`` (by static analysis)."""
    found = template.analyze().globals.get("cart", ())
    return any(v.segments[1:2] == ["items"] for v in found)


def _bodies(parts: Mapping[str, str]) -> dict[str, str]:
    return {
        "html": parts["html"].strip() + "\n" if parts["html"].strip() else "",
        "text": _text(parts["text"]),
    }


def _text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return "\n".join(lines) + "\n" if lines else ""


def _line(env: liquid.Environment, source: str, exc: LiquidError) -> int | None:
    """The line of a syntax error that the parser could not place (an expression cut short,
    a block left open): the first line whose text up to it fails the same way."""
    if exc.context():
        return None
    lines = source.splitlines(keepends=True)
    low, high = 1, len(lines)  # the first prefix that fails with the same message
    while low < high:
        middle = (low + high) // 2
        try:
            env.from_string("".join(lines[:middle]))
            low = middle + 1
        except LiquidError as again:
            high, low = (middle, low) if again.message == exc.message else (high, middle + 1)
    return low if lines else None


def _error(name: str, part: str, exc: LiquidError, at: int | None = None) -> TemplateError:
    where = f"{name}/{PARTS[part]}"
    context = exc.context()
    found = (context[0],) if context else (at,) if at else None
    line = f", line {found[0]}" if found else ""
    if found:
        where += f":{found[0]}"
    return TemplateError(f"template {name!r} ({part}{line}): {exc.message}", where=where)
