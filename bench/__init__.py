"""Benchmarks. Scripts, not tests: run them by hand (``make bench``) and read the JSON."""
