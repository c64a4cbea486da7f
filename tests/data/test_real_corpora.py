"""The reader's figures on the real corpora in ../shared/data (skipped when it is absent)."""
import json
from collections import Counter

import pytest

from copymtl_allennlp.data.formats import read_sentences
from copymtl_allennlp.data.triplets import deduplicate, Triplet


def read(path, **kwargs):
    stats = Counter()
    sentences = [s for _, s in read_sentences(str(path), stats=stats, **kwargs)]
    return sentences, stats


@pytest.mark.parametrize(
    "name, n_sentences, n_raw, n_unique",
    [("train.json", 5019, 11776, 11687), ("valid.json", 500, 1118, 1113)],
)
def test_webnlg_id_format(shared_data, name, n_sentences, n_raw, n_unique):
    sentences, stats = read(shared_data / "raw" / "webnlg_copyre_ids" / name)
    assert stats["sentences"] == n_sentences
    assert stats["triplets"] == n_unique
    assert stats["triplets"] + stats["duplicates_removed"] == n_raw


def test_webnlg_id_format_equals_the_lastword_corpus(shared_data):
    decoded, _ = read(shared_data / "raw" / "webnlg_copyre_ids" / "train.json")
    with open(shared_data / "webnlg_lastword" / "train.jsonl") as handle:
        reference = [json.loads(line) for line in handle]
    assert [s.tokens for s in decoded] == [r["tokens"] for r in reference]
    for sentence, record in zip(decoded, reference):
        gold = [Triplet(t["relation"], tuple(t["head"]), tuple(t["tail"])) for t in record["triplets"]]
        assert sentence.triplets == deduplicate(gold)[0]


@pytest.mark.parametrize("path", ["nyt_copyre_raw/valid.json", "nyt_casrel/val_triples.json"])
def test_nyt_raw_formats_reproduce_the_canonical_dev_set(shared_data, path):
    sentences, stats = read(shared_data / "raw" / path)
    assert stats["sentences"] == 5000
    assert stats["triplets"] == 7985
    assert stats["entities_not_found"] == 0
    canonical, _ = read(shared_data / "nyt" / "dev.jsonl")
    assert [s.tokens for s in sentences] == [s.tokens for s in canonical]
    # the two raw files list a sentence's triplets in different orders
    assert [set(s.triplets) for s in sentences] == [set(s.triplets) for s in canonical]


def test_nyt_casrel_lists_duplicates(shared_data):
    _, stats = read(shared_data / "raw" / "nyt_casrel" / "val_triples.json")
    assert stats["triplets"] + stats["duplicates_removed"] == 8489


def test_webnlg_canonical_and_casrel(shared_data):
    _, stats = read(shared_data / "webnlg" / "train.jsonl")
    assert (stats["sentences"], stats["triplets"]) == (5019, 11687)
    _, stats = read(shared_data / "raw" / "webnlg_star_casrel" / "train_triples.json")
    assert (stats["sentences"], stats["triplets"], stats["entities_not_found"]) == (5019, 11687, 0)
