"""Benchmarks: run one as a module (`python -m bench.replay`); nothing here is imported by the services."""
