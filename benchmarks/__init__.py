"""Load and scale benchmarks (see README.md), e.g. ``python -m benchmarks.scim_throughput``."""
