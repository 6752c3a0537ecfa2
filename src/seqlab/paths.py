"""Where seqlab keeps its files inside a project (the same layout for the CLI, DVC and flows)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProjectPaths:
    """File layout of one seqlab project, rooted at ``root`` (the repository by default)."""

    root: Path

    @classmethod
    def at(cls, root: str | Path = ".") -> ProjectPaths:
        """Return the layout rooted at ``root`` (made absolute)."""
        return cls(Path(root).resolve())

    @property
    def raw(self) -> Path:
        """Immutable raw files, one folder per dataset (DVC outs of the fetch stages)."""
        return self.root / "data" / "raw"

    @property
    def prepared(self) -> Path:
        """Prepared arrays and manifests, one folder per dataset (DVC outs of prepare)."""
        return self.root / "data" / "prepared"

    @property
    def lock(self) -> Path:
        """The committed sha256 record of every fetched raw file."""
        return self.root / "data" / "sources.lock.json"

    def raw_dir(self, dataset: str) -> Path:
        """Return the raw folder of one dataset."""
        return self.raw / dataset

    def prepared_dir(self, dataset: str) -> Path:
        """Return the prepared folder of one dataset."""
        return self.prepared / dataset

    def results_dir(self, dataset: str, stage: str) -> Path:
        """Return the folder of one stage's results for one dataset."""
        return self.root / "results" / dataset / stage
