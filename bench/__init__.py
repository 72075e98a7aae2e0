"""Benchmarks (run by hand, not by pytest): each prints its timings and ratios."""
