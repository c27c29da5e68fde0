"""Benchmarks of the assistant (run with `make bench`)."""
