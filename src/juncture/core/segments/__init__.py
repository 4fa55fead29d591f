"""Segments in the pure core: the condition language and its evaluation over a profile
(:mod:`.conditions`), and real-time membership with its enter/exit events and window timers
(:mod:`.membership`)."""
