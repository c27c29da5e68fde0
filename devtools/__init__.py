"""Tools for developers, tests and benchmarks: starting the real processes locally."""
