"""Package data: the ready segment definitions in ``library/``."""
