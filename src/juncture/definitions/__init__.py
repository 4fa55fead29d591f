"""Definitions: YAML or JSON text -> validated specs, with every problem at ``file:line``.

:mod:`~juncture.definitions.reader` is shared; :mod:`~juncture.definitions.journeys` and
:mod:`~juncture.definitions.segments` are the two grammars."""
