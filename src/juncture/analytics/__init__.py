"""Analytics over stored state: automatic segments (``clusters``), experiment statistics
(``experiments``) and journey reports (``journeys``)."""
