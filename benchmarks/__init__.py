"""Benchmarks and the soak: scripts/bench and scripts/soak write docs/performance.md."""
