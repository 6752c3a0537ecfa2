"""Benchmarks of seqlab: speed (``benchmarks.speed``) and, later, model quality."""
