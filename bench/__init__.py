"""Benchmarks of the archive (``make bench``, ``scripts/bench``); see docs/performance.md."""
