from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from seqlab.data.imdb import Review, read_imdb

REPO = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("SEQLAB_DATA_MIRROR", str(REPO.parent / "shared" / "data")))
ARCHIVE = MIRROR / "imdb" / "aclImdb_train_test.tar.gz"


@pytest.fixture(scope="module")
def reviews() -> list[Review]:
    if not ARCHIVE.is_file():
        pytest.skip(f"IMDB archive not in the data mirror: {ARCHIVE}")
    return read_imdb(ARCHIVE)


@pytest.mark.data
def test_split_and_label_counts(reviews: list[Review]) -> None:
    counts = Counter((review.split, review.label) for review in reviews)
    assert counts == {("train", 1): 12500, ("train", 0): 12500, ("test", 1): 12500, ("test", 0): 12500}
    assert sum(1 for review in reviews if review.split == "train") == 25000
    assert sum(1 for review in reviews if review.split == "test") == 25000


@pytest.mark.data
def test_ids_are_complete_per_split_and_label(reviews: list[Review]) -> None:
    ids: dict[tuple[str, int], list[int]] = {}
    for review in reviews:
        ids.setdefault((review.split, review.label), []).append(review.id)
    for key, found in ids.items():
        assert found == list(range(12500)), key


@pytest.mark.data
def test_rating_ranges_per_label(reviews: list[Review]) -> None:
    positive = {review.rating for review in reviews if review.label == 1}
    negative = {review.rating for review in reviews if review.label == 0}
    assert positive == {7, 8, 9, 10}
    assert negative == {1, 2, 3, 4}
    train_pos = Counter(review.rating for review in reviews if review.split == "train" and review.label == 1)
    assert train_pos == {7: 2496, 8: 3009, 9: 2263, 10: 4732}


@pytest.mark.data
def test_no_line_breaks_left(reviews: list[Review]) -> None:
    assert not [review for review in reviews if "<br" in review.text.lower()]
    assert all(review.text.strip() for review in reviews)


@pytest.mark.data
def test_known_first_reviews(reviews: list[Review]) -> None:
    by_key = {(review.split, review.label, review.id): review for review in reviews}
    assert by_key[("train", 1, 0)].text.startswith("Bromwell High is a cartoon comedy.")
    assert by_key[("train", 1, 0)].rating == 9
    assert by_key[("test", 0, 0)].text.startswith("Once again Mr. Costner has dragged out a movie")
    assert by_key[("test", 0, 0)].rating == 2


@pytest.mark.data
def test_distinct_texts_match_provenance(reviews: list[Review]) -> None:
    # PROVENANCE.md counts 49,582 distinct raw texts; two pairs (test/neg 8912_2 and 8922_3, train/pos
    # 1327_9 and 1330_9) differ only in whitespace next to a <br /> and become equal once line breaks
    # are normalised.
    assert len({review.text for review in reviews}) == 49582 - 2


@pytest.mark.data
def test_mirror_archive_is_a_pinned_release_and_the_locked_file(reviews: list[Review]) -> None:
    """What `seqlab fetch imdb` accepts: one of the registry's known archives, recorded in the lock."""
    import json

    from seqlab.config import load_params
    from seqlab.fileio import sha256_file

    config = load_params(REPO / "params.yaml").dataset("imdb")
    (source,) = config.kind.source_files(config, REPO)
    assert ARCHIVE.name in source.mirror_names and source.mirror_folder == ARCHIVE.parent.name
    digest = sha256_file(ARCHIVE)
    assert digest in source.pinned_sha256
    lock = json.loads((REPO / "data" / "sources.lock.json").read_text(encoding="utf-8"))
    assert lock["imdb"][source.filename] == {"sha256": digest, "size": ARCHIVE.stat().st_size}
