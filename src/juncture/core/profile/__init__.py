"""The unified profile, one module per concept.

- ``model``: :class:`~.model.Profile` and its frozen parts (consent, scores, product views,
  cart, orders), :class:`~.model.ProfileConfig`, and :func:`~.model.plain`.
- ``reducer``: :func:`~.reducer.reduce`, the profile after one event, and what is read
  from which event; it keeps the sessions, traits, channels, devices and product views
  itself and hands the rest to the modules below by event name.
- ``step``: the event being reduced, as each handler sees it.
- ``properties``: ids, numbers and strings read from an event's properties.
- ``affinity``: time-decayed interest per category, brand and price band, and the top ones.
- ``consent``: consent per channel and purpose, and :func:`~.consent.consent_for`.
- ``cart``: the cart, edited, replaced and emptied by events, and the ids that name it.
- ``orders``: completed orders, their revenue, what each settled
  (:func:`~.orders.settlement`), and :func:`~.orders.rfm`.
- ``replenish``: the ``replenish_at`` trait, from the purchases of consumables.
- ``feedback``: survey scores, support tickets and reviews.
- ``merge``: :func:`~.merge.merge_profiles`, two profiles of one person as one.
"""
