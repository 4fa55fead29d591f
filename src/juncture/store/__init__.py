"""Storage: one interface (``base``), one schema (``tables``), SQLite and PostgreSQL."""
