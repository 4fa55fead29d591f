"""The runtime: the only code that loops, sleeps, owns threads or reads the clock."""
