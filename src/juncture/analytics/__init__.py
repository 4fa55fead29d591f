"""Analytics over stored state: automatic segments (``clusters``)."""
