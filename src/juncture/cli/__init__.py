"""The ``juncture`` command, one module per command group; :mod:`juncture.cli.main` builds
the root command and holds the small groups (serve, db, keys, failed, import, replay)."""
