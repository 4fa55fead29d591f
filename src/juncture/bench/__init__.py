"""``juncture bench``: each figure printed beside the raw limit measured in the same run.

Benchmarks talk only to loopback and are bounded in event count and time.
"""
