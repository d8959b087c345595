"""Benchmark cores: what the scripts in benchmarks/ run (their command lines wrap these) and what the overhead
study (notebook 13) imports."""
