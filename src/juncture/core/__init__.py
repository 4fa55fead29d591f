"""The pure core: plain functions over plain data. No I/O, no clock, no globals.

Everything here takes the time (``now``) and any other outside fact as a parameter and
returns new data, so that replay, simulation and property tests see exactly what the live
system sees. ``import-linter`` (see pyproject) keeps I/O libraries out of this package.
"""
