"""The typed pieces every dataset's configuration is made of: search spaces, tuning and training.

Frozen pydantic models in which an unknown key is an error, so a typo in params.yaml fails with
the key's name instead of being ignored. The dataset registry (:mod:`seqlab.datasets`) builds each
kind's configuration from these; :mod:`seqlab.config` reads params.yaml into them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Length bucketing (token ids only): batches of rows of similar length, each cut to its longest row, so
# a short review does not pay for the padding of a long one. Models that mask padding (embeddings with
# mask_zero, NBSVM) give the same outputs either way (seqlab.training.bucketed_dataset).
BUCKETING = "length bucketing for token ids: bucket width in tokens (null: every batch padded to max_len)"


class Section(BaseModel):
    """Base of every params section: frozen, and an unknown key is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SpaceEntry(Section):
    """One hyperparameter of a search space: a fixed value, a list of choices or a range."""

    value: Any = None
    values: list[Any] | None = None
    min: int | float | None = None  # ints give an integer range, floats a float range
    max: int | float | None = None
    step: int | float | None = None
    sampling: Literal["linear", "log"] = "linear"

    @model_validator(mode="after")
    def _one_kind(self) -> SpaceEntry:
        kinds = [
            self.value is not None,
            self.values is not None,
            self.min is not None or self.max is not None,
        ]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of value, values, or min and max")
        if self.values is not None and not self.values:
            raise ValueError("values must not be empty")
        if kinds[2] and (self.min is None or self.max is None or self.min > self.max):
            raise ValueError(f"a range needs min <= max (got min={self.min}, max={self.max})")
        return self


class TuningParams(Section):
    """Keras Tuner search: algorithm, objective, budget and the search space."""

    algorithm: Literal["random", "hyperband", "bayesian"] = "random"
    objective: str = "val_loss"
    direction: Literal["min", "max"] = "min"
    max_trials: int = Field(4, ge=1)
    epochs: int = Field(5, ge=1)
    batch_size: int = Field(32, ge=1)
    bucket_width: int | None = Field(None, ge=1, description=BUCKETING)
    executions_per_trial: int = Field(1, ge=1)
    max_consecutive_failed_trials: int = Field(3, ge=1)
    seed: int = 42
    space: dict[str, SpaceEntry]


class VariantParams(Section):
    """Dropout settings of one training variant of the best configuration."""

    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    recurrent_dropout: float = Field(0.0, ge=0.0, lt=1.0)


class TrainingParams(Section):
    """Retraining of the best configuration, once per dropout variant."""

    epochs: int = Field(20, ge=1)
    batch_size: int = Field(32, ge=1)
    bucket_width: int | None = Field(None, ge=1, description=BUCKETING)
    patience: int = Field(5, ge=1)
    seed: int = 42
    variants: dict[str, VariantParams]

    @model_validator(mode="after")
    def _has_variants(self) -> TrainingParams:
        if not self.variants:
            raise ValueError("variants: give at least one variant")
        return self
