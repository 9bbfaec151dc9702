"""Benchmarks, run with `make bench` or `python -m bench <name>`; results go to docs/benchmarks.md."""
