"""seqlab: pipeline-orchestrated experiments for sequence models."""

__version__ = "0.1.0"
