import re

import pytest
from allennlp.commands.train import train_model_from_file

from copymtl_allennlp import load_extractor
from copymtl_allennlp.data.tokenizers import SpacyRulesTokenizer
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A small archive trained by the tests on the fixture corpus (the Python API and the CLI of
    every model: test_every_model_predicts.py)."""
    directory = tmp_path_factory.mktemp("tiny_run")
    train_model_from_file(str(FIXTURES / "configs" / "copymtl_tiny.jsonnet"), str(directory / "run"))
    return str(directory / "run" / "model.tar.gz")


def test_tokens_input_and_output_shape(archive):
    predictor = load_extractor(archive)
    output = predictor.predict_json({"tokens": ["Lena", "Park", "joined", "Vovo", "Motors", "."]})
    assert output["tokens"] == ["Lena", "Park", "joined", "Vovo", "Motors", "."]
    assert len(output["entity_tags"]) == 6
    for triplet in output["triplets"]:
        start, end = triplet["tail_span"]
        assert triplet["tail"] == " ".join(output["tokens"][start:end])


@pytest.mark.parametrize(
    "record, message",
    [
        ({"text": "no such field"}, "expected a 'sentence' (raw text) or 'tokens'"),
        ({"tokens": "not a list"}, "'tokens' must be a list of strings, got str"),
        ({"sentence": "   "}, "empty sentence"),
    ],
)
def test_bad_records_are_refused(archive, record, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        load_extractor(archive).predict_json(record)


def test_tokenizer_splits_punctuation_without_downloads():
    tokens = [t.text for t in SpacyRulesTokenizer().tokenize("Jobs, 56, died in Palo Alto.")]
    assert tokens == ["Jobs", ",", "56", ",", "died", "in", "Palo", "Alto", "."]


def test_lists_are_bucketed_by_length_but_answered_in_order(archive):
    extract = load_extractor(archive)
    sentences = [
        "Paris is the capital of France.",
        "Lena Park joined Vovo Motors in Seoul .",
        "Maria Lopez studied at the University of Texas and later taught in Austin, Texas.",
        "A town.",
    ]
    one_by_one = [extract(s) for s in sentences]
    for batch_size in (1, 2, 64):
        assert extract(sentences, batch_size=batch_size) == one_by_one
    tokenized = [s.split() for s in sentences]
    assert extract(tokens=tokenized, batch_size=2) == [extract(tokens=t) for t in tokenized]
