"""Analytics over stored state: automatic segments (``clusters``), journey reports
(``journeys``), experiment statistics (``experiments`` frequentist, ``bayes``, ``sequential``
always-valid, ``planning`` sample sizes, ``cuped`` variance reduction), survey scores
(``surveys``: NPS, CSAT) and customer lifetime value (``bgnbd``, ``gamma_gamma``, ``clv``)."""
