"""Journeys in the pure core: specs (:mod:`.spec`), the condition language (:mod:`.expr`),
state kept by the store (:mod:`.state`), commands for the engine (:mod:`.commands`) and the
state machine (:mod:`.machine`). Definitions are read from files by
:mod:`juncture.definitions`; sends are arbitrated by :mod:`juncture.core.journeys.arbitration`.
"""
