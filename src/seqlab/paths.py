"""Where seqlab keeps its files inside a project (the same layout for the CLI, DVC and flows)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class ProjectPaths:
    """File layout of one seqlab project, rooted at ``root`` (the repository by default)."""

    root: Path
    # (dataset, stage, folder): a stage under way writes its results there, swapped in on success
    staged: tuple[tuple[str, str, Path], ...] = ()

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
        """Return the folder of one stage's results for one dataset (its work folder while staged)."""
        for staged_dataset, staged_stage, folder in self.staged:
            if (staged_dataset, staged_stage) == (dataset, stage):
                return folder
        return self.root / "results" / dataset / stage

    def staging(self, dataset: str, stage: str, folder: Path) -> ProjectPaths:
        """Return the same layout, with one stage's results written to ``folder`` instead."""
        return replace(self, staged=(*self.staged, (dataset, stage, folder)))
