"""Recommendations: the five kinds, their training and their evaluation."""
