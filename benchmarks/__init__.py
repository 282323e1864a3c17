"""Benchmarks: measured figures for the README, run with scripts/bench (not part of the tests)."""
