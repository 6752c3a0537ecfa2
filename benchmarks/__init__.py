"""seqlab's benchmarks: ``make bench`` (``benchmarks.run``) → BENCHMARKS.md and benchmarks/results.json."""
