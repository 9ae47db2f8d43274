"""Benchmarks of the bridge against the physical limit, and the harness the chaos tests share."""
