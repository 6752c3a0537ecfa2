"""The dataset registry: everything that differs between datasets, keyed by a dataset's *kind*.

A dataset is configuration: a params.yaml entry under ``datasets:`` naming its source's ``kind``
(``giss_station``, ``hadcet_daily``, ``csv_series``, ``aclimdb``, ``mnist_rows``, ``synthetic``) plus
its protocol; every key it does not give falls back to ``defaults.<kind>``. This module says, per
kind, what its configuration looks like, where its raw files come from, how they are parsed and
what their seasons are; per *modality* (text, series, image: :mod:`seqlab.modalities`) how the
data is prepared, which baselines apply and how models are built and scored. Stages, recording,
evaluation and the benchmarks ask this registry; they never compare dataset names.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from seqlab.data.sources import SourceFile
from seqlab.errors import GapTooLongError
from seqlab.schema import Section, TrainingParams, TuningParams

Modality = Literal["text", "series", "image"]
# The sections of a dataset's configuration that ``defaults.<kind>`` holds, one per concern: DVC
# tracks each stage's section separately, so a changed training key reruns only training onwards.
SECTIONS: tuple[str, ...] = ("source", "prepare", "baselines", "tuning", "training", "backtest")
# Sections a kind's defaults may leave out: an absent backtest is ``{}``, no backtest.
OPTIONAL_SECTIONS: tuple[str, ...] = ("backtest",)
# Keys of a series dataset's own protocol (its entry in ``datasets:``), beside the sections.
PROTOCOL_KEYS: tuple[str, ...] = ("start_date", "end_date", "test_size", "split_index")


# --------------------------------------------------------------------------- sources


class SourceConfig(Section):
    """Where a dataset's raw data comes from and how it is read; ``kind`` picks the registry entry."""

    kind: str


class SeriesSource(SourceConfig):
    """A series read from a file: interior missing values fail or are filled (counted either way)."""

    gap_policy: Literal["error", "interpolate"] = "interpolate"
    max_gap: int | None = Field(
        3, ge=1, description="longest run of missing values (in steps) interpolation fills; null: no limit"
    )


class AclImdbSource(SourceConfig):
    """The Stanford Large Movie Review archive (train/test reviews, ``unsup`` ignored)."""

    kind: Literal["aclimdb"]
    url: str = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"


class GissStationSource(SeriesSource):
    """One NASA GISS (GISTEMP v4, adjusted) station, named by its GHCN id."""

    kind: Literal["giss_station"]
    station: str = Field(pattern=r"^[A-Z]{2}[A-Z0-9]{9}$", description="GHCN-v4 station id, e.g. USW00024233")


class HadCetSource(SeriesSource):
    """The Met Office daily Central England Temperature series, in one of its two published layouts."""

    kind: Literal["hadcet_daily"]
    file: Literal["cetdl1772on.dat", "tdaily_cet.dat.txt"] = "cetdl1772on.dat"


class CsvSeriesSource(SeriesSource):
    """A user's own series: a CSV file (local path or URL) with a date column and a value column."""

    kind: Literal["csv_series"]
    path: str = Field(min_length=1, description="local path (relative to the project) or http(s) URL")
    date_column: str | None = None
    value_column: str = Field(min_length=1)
    frequency: Literal["daily", "monthly", "other"]
    missing_value: str | float | None = None
    period: int | None = Field(None, ge=1, description="season length in steps (required for 'other')")
    delimiter: str = Field(",", min_length=1, max_length=1)
    unit: str | None = None

    @model_validator(mode="after")
    def _period_for_other(self) -> CsvSeriesSource:
        if self.frequency == "other" and self.period is None:
            raise ValueError("period: required when frequency is 'other' (the season length in steps)")
        if self.frequency != "other" and self.date_column is None:
            raise ValueError(f"date_column: required for frequency {self.frequency!r}")
        return self


class MnistRowsSource(SourceConfig):
    """The official MNIST IDX files; the model reads each 28-pixel row of a digit as one step."""

    kind: Literal["mnist_rows"]


class SyntheticSource(SourceConfig):
    """The book's generated trend + seasonality + noise series (ch. 10-11)."""

    kind: Literal["synthetic"]
    n_points: int = Field(ge=2)
    baseline: float
    slope: float
    amplitude: float
    period: int = Field(ge=1, description="season length of the generator, and of the seasonal baselines")
    noise_level: float = Field(ge=0.0)
    seed: int


# --------------------------------------------------------------------------- sections


class TextPrepare(Section):
    """Tokenising and padding: vocabulary fitted on the training part only."""

    max_tokens: int = Field(ge=3, description="vocabulary size including padding and [UNK]")
    max_len: int = Field(ge=1)
    padding: Literal["pre", "post"] = "post"
    truncating: Literal["pre", "post"] = "post"
    pad_value: int = 0
    validation_fraction: float = Field(gt=0.0, lt=1.0)
    seed: int = 42
    subset: int | None = Field(None, ge=4, description="keep this many reviews per split (smoke runs)")


class TextBaselines(Section):
    """tf-idf + logistic regression."""

    max_features: int = Field(ge=1, description="tf-idf n-gram features of the linear baseline")


class SeriesPrepare(Section):
    """Windowing, and the validation part carved from the end of the training period."""

    window_size: int = Field(ge=1)
    horizon: int = Field(1, ge=1)
    stride: int = Field(1, ge=1)
    validation_fraction: float = Field(gt=0.0, lt=1.0)


class SeriesBaselines(Section):
    """Statistical forecasts every model is compared with."""

    ar_order: int = Field(
        ge=1, description="AR order of the climatology + AR baselines (with ar_selection: the largest)"
    )
    ar_selection: Literal["none", "aic", "bic"] = Field(
        "none",
        description="how the AR order is chosen: none (ar_order itself), or the order 0..ar_order of least "
        "aic or bic on the training anomalies (statsmodels ar_select_order)",
    )
    season_smoothing: list[int] = Field(
        [1],
        min_length=1,
        description="widths of a circular moving average over the climatology's season means to choose "
        "from by cross-validation on the training years (1: the plain means)",
    )

    @field_validator("season_smoothing")
    @classmethod
    def _odd_widths(cls, widths: list[int]) -> list[int]:
        for width in widths:
            if width < 1 or width % 2 == 0:
                raise ValueError(f"expected odd widths of at least 1 (a centred window), got {width}")
        return widths


class SeriesBacktest(Section):
    """Rolling-origin backtest: refit and forecast the next block from each of the last origins.

    An empty section (``origins: 0``) backtests nothing.
    """

    origins: int = Field(0, ge=0, description="forecast origins, one block apart, ending at the series' end")
    horizon: int | None = Field(None, ge=1, description="steps forecast from each origin (one block)")
    refit: int = Field(1, ge=1, description="refit the model every this many origins (baselines: each)")

    @model_validator(mode="after")
    def _origins_and_blocks(self) -> SeriesBacktest:
        if self.origins == 1:
            raise ValueError("origins: give 0 (no backtest) or at least 2")
        if self.origins and self.horizon is None:
            raise ValueError("horizon: give the steps forecast from each origin")
        return self


class NoBacktest(Section):
    """A dataset without a time order (reviews, digits) has no backtest: an empty section."""


class ImagePrepare(Section):
    """The split of the MNIST images: stratified and seeded when only the official test set exists.

    With the four official files the standard split is used (60,000 training, 10,000 test images)
    and ``train_images``/``test_images`` do not apply; ``subset`` applies either way.
    """

    train_images: int = Field(ge=10, description="test-set-only protocol: images for training")
    test_images: int = Field(ge=10, description="test-set-only protocol: images held out for scoring")
    validation_fraction: float = Field(gt=0.0, lt=1.0, description="carved from the training images")
    seed: int = 42
    subset: int | None = Field(None, ge=20, description="keep this many images of each split (smoke runs)")


class ImageBaselines(Section):
    """Logistic regression on pixels and a dense network (scikit-learn's MLP)."""

    logistic_c: float = Field(gt=0.0)
    dense_units: int = Field(ge=1)
    dense_max_epochs: int = Field(ge=1)
    seed: int = 42


# --------------------------------------------------------------------------- dataset configurations


class DatasetConfig(Section):
    """One dataset, resolved: its entry merged over ``defaults.<kind>`` (profile and overrides applied)."""

    name: str
    source: SourceConfig
    prepare: Section
    baselines: Section
    tuning: TuningParams
    training: TrainingParams
    backtest: Section

    @model_validator(mode="after")
    def _bucketing_reads_token_ids(self) -> DatasetConfig:
        for section in ("tuning", "training"):
            if getattr(self, section).bucket_width is None:
                continue
            if not isinstance(self.prepare, TextPrepare):
                raise ValueError(f"{section}.bucket_width: length bucketing is for token ids (text datasets)")
            if self.prepare.pad_value != 0:
                raise ValueError(
                    f"{section}.bucket_width: bucketing needs prepare.pad_value 0 (the id models mask), "
                    f"got {self.prepare.pad_value}"
                )
        return self

    @property
    def kind(self) -> Kind:
        """The registry entry of this dataset's kind."""
        return KINDS[self.source.kind]

    @property
    def modality(self) -> Modality:
        """text, series or image: what decides preparation, models, baselines and metrics."""
        return self.kind.modality


class TextDataset(DatasetConfig):
    """A labelled text dataset (binary sentiment)."""

    source: AclImdbSource
    prepare: TextPrepare
    baselines: TextBaselines
    backtest: NoBacktest


class SeriesDataset(DatasetConfig):
    """A univariate series forecast one step (or ``horizon`` steps) ahead, tested on its final period."""

    start_date: date | None = Field(None, description="first date used, inclusive (null: the whole record)")
    end_date: date | None = Field(None, description="last date used (the protocol's end), inclusive")
    test_size: int | None = Field(None, ge=1, description="the test period: this many final values")
    split_index: int | None = Field(None, ge=1, description="the test period: from this index on")
    prepare: SeriesPrepare
    baselines: SeriesBaselines
    backtest: SeriesBacktest

    @model_validator(mode="after")
    def _one_test_period(self) -> SeriesDataset:
        if (self.test_size is None) == (self.split_index is None):
            raise ValueError(
                "give the test period as exactly one of test_size (number of final values) or split_index"
            )
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError(f"start_date {self.start_date} is after end_date {self.end_date}")
        return self

    def split_at(self, length: int) -> int:
        """Index of the first test value in a protocol series of ``length`` values (checked)."""
        if self.test_size is not None:
            key, split = "test_size", length - self.test_size
        else:
            key, split = "split_index", int(self.split_index or 0)
        if not 0 < split < length:
            value = self.test_size if key == "test_size" else self.split_index
            raise ValueError(
                f"datasets.{self.name}.{key}: {value} leaves no training or no test values in the "
                f"{length} values between start_date and end_date"
            )
        return split


class GissStationDataset(SeriesDataset):
    """Monthly station temperatures."""

    source: GissStationSource


class HadCetDataset(SeriesDataset):
    """Daily Central England temperatures."""

    source: HadCetSource


class CsvSeriesDataset(SeriesDataset):
    """A user's series from a CSV file."""

    source: CsvSeriesSource


class SyntheticDataset(SeriesDataset):
    """The generated textbook series."""

    source: SyntheticSource


class ImageDataset(DatasetConfig):
    """Digits read row by row: a 10-class classification of 28-step sequences."""

    source: MnistRowsSource
    prepare: ImagePrepare
    baselines: ImageBaselines
    backtest: NoBacktest


# --------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class Season:
    """How a series' seasons are read: ``monthly`` / ``daily`` from dates, ``periodic`` from the index."""

    kind: Literal["monthly", "daily", "periodic"]
    count: int  # distinct season keys: 12 months, 365 days, or the period


MONTHLY = Season("monthly", 12)
DAILY = Season("daily", 365)


class Kind:
    """One kind of dataset: its configuration, raw files, parser and seasons."""

    name: ClassVar[str]
    modality: ClassVar[Modality]
    config: ClassVar[type[DatasetConfig]]
    mirror_folder: ClassVar[str | None] = None  # <mirror>/<folder>/<file>
    generated: ClassVar[bool] = False  # made by seqlab (fetch generates it) instead of downloaded
    unit: ClassVar[str | None] = None

    def source_files(self, dataset: Any, root: Path) -> list[SourceFile]:
        """Return the raw files to fetch into ``data/raw/<dataset>/`` (the official locations)."""
        return []

    def generate(self, dataset: Any, raw_dir: Path) -> list[Path]:
        """Make the raw files of a generated kind (``generated`` kinds only)."""
        raise ValueError(f"datasets.{dataset.name}: a {self.name} dataset is fetched, not generated")

    def read(self, dataset: Any, raw_dir: Path) -> Any:
        """Parse the raw files strictly (errors name the file and line)."""
        raise NotImplementedError

    def parse_file(self, dataset: Any, path: Path, gap_policy: str, max_gap: int | None) -> Any:
        """Parse one raw file of a series kind with the given gap settings."""
        raise ValueError(f"datasets.{dataset.name}: a {self.name} dataset is not read from one series file")

    def count_records(self, dataset: Any, path: Path) -> int:
        """Count the values a series file holds (gaps not counted), whatever the gap settings."""
        parsed = self.parse_file(dataset, path, "interpolate", None)
        return int(parsed.values.size - parsed.filled)

    def read_series(self, dataset: Any, path: Path) -> Any:
        """Parse a dataset's series file with its gap settings; a gap too long names the dataset's key."""
        source = dataset.source
        try:
            return self.parse_file(dataset, _required(path, dataset), source.gap_policy, source.max_gap)
        except GapTooLongError as error:
            raise GapTooLongError(
                error.path,
                f"dataset {dataset.name} (datasets.{dataset.name}.source.max_gap, default "
                f"defaults.{self.name}.source.max_gap): {error.message}",
                line=error.line,
            ) from None

    def season(self, dataset: Any) -> Season:
        """Seasons of a series kind (the climatologies and calendar features average like with like)."""
        raise ValueError(f"datasets.{dataset.name}: a {self.name} dataset is not a series")

    def unit_of(self, dataset: Any) -> str | None:
        """Return unit of a series' values, for summaries."""
        return self.unit


class AclImdb(Kind):
    """IMDB reviews."""

    name = "aclimdb"
    modality = "text"
    config = TextDataset
    mirror_folder = "imdb"
    FILENAME = "aclImdb.tar.gz"
    # The archive is static: these are its known releases (a fetched file must be one of them).
    PINNED_SHA256: ClassVar[dict[str, str]] = {
        "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe": (
            "Stanford aclImdb_v1.tar.gz, as published in 2011"
        ),
        "3c27c84c5b647935a2b44ee9c5b3fc302d26b6d268caf4c6a360aa7cb1f5fce7": (
            "byte-identical train/test reviews of aclImdb_v1 without train/unsup "
            "(the shared mirror's reconstruction, see its PROVENANCE.md)"
        ),
    }

    def source_files(self, dataset: Any, root: Path) -> list[SourceFile]:
        """Return the archive, as published or as the mirror's train/test reconstruction."""
        return [
            SourceFile(
                filename=self.FILENAME,
                urls=(dataset.source.url,),
                mirror_folder=self.mirror_folder,
                mirror_names=("aclImdb_v1.tar.gz", "aclImdb_train_test.tar.gz"),
                pinned_sha256=self.PINNED_SHA256,
            )
        ]

    def read(self, dataset: Any, raw_dir: Path) -> Any:
        """Every labelled review of the archive."""
        from seqlab.data.imdb import read_imdb

        return read_imdb(_required(raw_dir / self.FILENAME, dataset))


class GissStation(Kind):
    """A GISS station's monthly means."""

    name = "giss_station"
    modality = "series"
    config = GissStationDataset
    mirror_folder = "giss"
    unit = "°C"
    URL = "https://data.giss.nasa.gov/cgi-bin/gistemp/stdata_show_v4.cgi?id={station}&ds=14&dt=1"
    # Earlier names of a station's file in mirrors (the book's SeaTac download).
    MIRROR_ALIASES: ClassVar[dict[str, tuple[str, ...]]] = {
        "USW00024233": ("seatac_station.csv", "station.csv")
    }

    def source_files(self, dataset: Any, root: Path) -> list[SourceFile]:
        """Return the station's CSV, its URL built from the GHCN id."""
        station = dataset.source.station
        return [
            SourceFile(
                filename=f"{station}.csv",
                urls=(self.URL.format(station=station),),
                mirror_folder=self.mirror_folder,
                mirror_names=self.MIRROR_ALIASES.get(station, ()),
                count_records=functools.partial(self.count_records, dataset),
            )
        ]

    def read(self, dataset: Any, raw_dir: Path) -> Any:
        """Return the station's months, gaps handled by the gap policy."""
        return self.read_series(dataset, raw_dir / f"{dataset.source.station}.csv")

    def parse_file(self, dataset: Any, path: Path, gap_policy: str, max_gap: int | None) -> Any:
        """Parse a GISS station CSV."""
        from seqlab.data.giss import parse_giss_csv

        return parse_giss_csv(path, gap_policy=gap_policy, max_gap=max_gap)

    def season(self, dataset: Any) -> Season:
        """Calendar months."""
        return MONTHLY


class HadCet(Kind):
    """Central England daily means."""

    name = "hadcet_daily"
    modality = "series"
    config = HadCetDataset
    mirror_folder = "cet"
    unit = "°C"
    URLS: ClassVar[dict[str, str]] = {
        "cetdl1772on.dat": "https://www.metoffice.gov.uk/hadobs/hadcet/cetdl1772on.dat",
        "tdaily_cet.dat.txt": "https://storage.googleapis.com/laurencemoroney-blog.appspot.com/tdaily_cet.dat.txt",
    }

    def source_files(self, dataset: Any, root: Path) -> list[SourceFile]:
        """Return the Met Office grid or the book's one-value-per-line copy."""
        name = dataset.source.file
        return [
            SourceFile(
                filename=name,
                urls=(self.URLS[name],),
                mirror_folder=self.mirror_folder,
                count_records=functools.partial(self.count_records, dataset),
            )
        ]

    def read(self, dataset: Any, raw_dir: Path) -> Any:
        """Return the daily series of either layout."""
        return self.read_series(dataset, raw_dir / dataset.source.file)

    def parse_file(self, dataset: Any, path: Path, gap_policy: str, max_gap: int | None) -> Any:
        """Parse the layout the source's ``file`` names."""
        from seqlab.data.cet import parse_cet_daily_lines, parse_cet_dat

        parse = parse_cet_dat if dataset.source.file == "cetdl1772on.dat" else parse_cet_daily_lines
        return parse(path, gap_policy=gap_policy, max_gap=max_gap)

    def season(self, dataset: Any) -> Season:
        """Days of a non-leap year."""
        return DAILY


class CsvSeries(Kind):
    """A user's CSV series."""

    name = "csv_series"
    modality = "series"
    config = CsvSeriesDataset

    def source_files(self, dataset: Any, root: Path) -> list[SourceFile]:
        """Return the CSV, copied from its local path or downloaded (mirror: <dataset>/<file>)."""
        location = dataset.source.path
        count = functools.partial(self.count_records, dataset)
        if "://" in location:
            filename = Path(urllib.parse.urlparse(location).path).name or "series.csv"
            return [
                SourceFile(
                    filename=filename, urls=(location,), mirror_folder=dataset.name, count_records=count
                )
            ]
        path = Path(location).expanduser()
        path = path if path.is_absolute() else root / path
        return [SourceFile(filename=path.name, urls=(str(path),), mirror_folder=None, count_records=count)]

    def read(self, dataset: Any, raw_dir: Path) -> Any:
        """Return the series at its frequency, gaps handled by the gap policy."""
        (source_file,) = self.source_files(dataset, raw_dir)
        return self.read_series(dataset, raw_dir / source_file.filename)

    def parse_file(self, dataset: Any, path: Path, gap_policy: str, max_gap: int | None) -> Any:
        """Parse the source's columns at its frequency."""
        from seqlab.data.csv_series import parse_csv_series

        source = dataset.source
        return parse_csv_series(
            path,
            date_column=source.date_column,
            value_column=source.value_column,
            frequency=source.frequency,
            missing_value=source.missing_value,
            gap_policy=gap_policy,
            delimiter=source.delimiter,
            max_gap=max_gap,
        )

    def season(self, dataset: Any) -> Season:
        """Months or days from the dates, else the source's period."""
        frequency = dataset.source.frequency
        if frequency == "monthly":
            return MONTHLY
        if frequency == "daily":
            return DAILY
        return Season("periodic", int(dataset.source.period))

    def unit_of(self, dataset: Any) -> str | None:
        """As the source entry says."""
        return str(dataset.source.unit) if dataset.source.unit else None


class Synthetic(Kind):
    """The textbook series, generated."""

    name = "synthetic"
    modality = "series"
    config = SyntheticDataset
    generated = True
    FILENAME = "synthetic.csv"

    def generate(self, dataset: Any, raw_dir: Path) -> list[Path]:
        """Write the generator's series as a raw CSV."""
        from seqlab.data.synthetic import make_synthetic_series, write_synthetic_csv

        source = dataset.source
        series = make_synthetic_series(
            n_points=source.n_points,
            baseline=source.baseline,
            slope=source.slope,
            amplitude=source.amplitude,
            period=source.period,
            noise_level=source.noise_level,
            seed=source.seed,
        )
        return [write_synthetic_csv(series, raw_dir / self.FILENAME)]

    def read(self, dataset: Any, raw_dir: Path) -> Any:
        """Return the generated CSV, read back exactly."""
        from seqlab.data.synthetic import read_synthetic

        return read_synthetic(_required(raw_dir / self.FILENAME, dataset))

    def season(self, dataset: Any) -> Season:
        """Return the generator's period."""
        return Season("periodic", int(dataset.source.period))


class MnistRows(Kind):
    """MNIST digits."""

    name = "mnist_rows"
    modality = "image"
    config = ImageDataset
    mirror_folder = "mnist"
    URLS: ClassVar[tuple[str, ...]] = (
        "https://yann.lecun.com/exdb/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    )
    # The official test set's files (the shared mirror's PROVENANCE.md lists their md5 too).
    PINNED_SHA256: ClassVar[dict[str, str]] = {
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }

    def source_files(self, dataset: Any, root: Path) -> list[SourceFile]:
        """Return the test set (required) and the training set (used when present)."""
        from seqlab.data.mnist import TEST_FILES, TRAIN_FILES

        files = []
        for name in (*TEST_FILES, *TRAIN_FILES):
            pinned = self.PINNED_SHA256.get(name)
            files.append(
                SourceFile(
                    filename=name,
                    urls=tuple(base + name for base in self.URLS),
                    mirror_folder=self.mirror_folder,
                    pinned_sha256={pinned: "the official MNIST file"} if pinned else {},
                    optional=name in TRAIN_FILES,
                )
            )
        return files

    def read(self, dataset: Any, raw_dir: Path) -> Any:
        """Images and labels of the test set, and of the training set when fetched."""
        from seqlab.data.mnist import read_mnist

        return read_mnist(_required(raw_dir, dataset))


KINDS: dict[str, Kind] = {
    kind.name: kind for kind in (AclImdb(), GissStation(), HadCet(), CsvSeries(), Synthetic(), MnistRows())
}


def _required(path: Path, dataset: Any) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; run `seqlab fetch {dataset.name}` (or `dvc repro`) first")
    return path


# --------------------------------------------------------------------------- resolution

_DATASET_NAME = re.compile(r"[a-z][a-z0-9_]*")


def kind_named(name: Any, where: str) -> Kind:
    """Return the registry entry of a kind, with an error naming where it was asked for."""
    if name not in KINDS:
        raise ValueError(f"{where}: unknown kind {name!r}; expected one of {', '.join(KINDS)}")
    return KINDS[name]


def check_dataset_name(name: Any) -> str:
    """Dataset names become file, stage, experiment and model names: keep them simple."""
    if not isinstance(name, str) or not _DATASET_NAME.fullmatch(name):
        raise ValueError(
            f"datasets: {name!r} is not a valid dataset name (lowercase letters, digits and _, "
            "starting with a letter)"
        )
    return name


def merge(base: Any, override: Any) -> Any:
    """Deep-merge ``override`` onto ``base``: mappings key by key, anything else replaced.

    A search-space entry and the dropout variants are replaced whole: merging ``{values: [..]}`` into
    ``{value: x}`` would make an entry that is neither.
    """
    if not isinstance(base, Mapping) or not isinstance(override, Mapping):
        return override
    merged = dict(base)
    for key, value in override.items():
        replace_whole = key in ("space", "variants")
        merged[key] = value if replace_whole or key not in merged else merge(merged[key], value)
    return merged


def describe_source(dataset: DatasetConfig) -> str:
    """One line saying where a dataset comes from, for ``seqlab datasets``."""
    fields = dataset.source.model_dump(mode="json", exclude={"kind"}, exclude_none=True)
    own = sorted(fields, key=lambda key: key in SeriesSource.model_fields)  # the kind's own keys first
    details = ", ".join(f"{key}={fields[key]}" for key in own)
    return details or "(the official files)"


__all__ = [
    "KINDS",
    "OPTIONAL_SECTIONS",
    "PROTOCOL_KEYS",
    "SECTIONS",
    "DatasetConfig",
    "ImageDataset",
    "Kind",
    "Season",
    "SeriesDataset",
    "TextDataset",
    "check_dataset_name",
    "kind_named",
    "merge",
]
