"""Benchmarks (`make bench`): figures beside raw limits measured in the same run."""
