"""Benchmarks of the gateway against a hand-written floor server (see README.md)."""
