"""Benchmarks: each module measures a candidate against a baseline in the same run and reports the ratio."""
