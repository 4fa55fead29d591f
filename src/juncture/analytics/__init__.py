"""Measuring what Juncture achieved: experiment statistics and journey reports."""
