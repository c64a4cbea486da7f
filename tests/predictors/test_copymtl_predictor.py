import json
import os
import re
import subprocess
import sys

import pytest
from allennlp.commands.train import train_model_from_file

from copymtl_allennlp import load_extractor
from copymtl_allennlp.data.tokenizers import SpacyRulesTokenizer
from tests.conftest import FIXTURES, ROOT

ALLENNLP = os.path.join(os.path.dirname(sys.executable), "allennlp")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A small archive trained by the tests on the fixture corpus."""
    directory = tmp_path_factory.mktemp("tiny_run")
    train_model_from_file(str(FIXTURES / "configs" / "copymtl_tiny.jsonnet"), str(directory / "run"))
    return str(directory / "run" / "model.tar.gz")


def test_python_api_on_strings_and_lists(archive):
    extract = load_extractor(archive)
    one = extract("Steven Jobs, the founder of Apple Computer, was born in San Francisco.")
    assert isinstance(one, list)
    for triplet in one:
        assert set(triplet) == {"head", "head_span", "relation", "tail", "tail_span"}
    many = extract(["Lena Park joined Vovo Motors in Seoul.", "Paris is the capital of France."])
    assert len(many) == 2 and all(isinstance(t, list) for t in many)
    # a batch gives what each sentence gives alone
    assert many[0] == extract("Lena Park joined Vovo Motors in Seoul.")


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


def test_cli_predict_and_evaluate(archive, tmp_path):
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"sentence": "Lena Park joined Vovo Motors in Seoul."}\n{"tokens": ["Paris", "is", "nice"]}\n')
    out = tmp_path / "out.jsonl"
    result = subprocess.run(
        [ALLENNLP, "predict", archive, str(inputs), "--output-file", str(out), "--batch-size", "2", "--silent"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [len(line["tokens"]) for line in lines] == [8, 3]

    inputs.write_text('{"sentence": "fine"}\n{"sentence": "broken"\n')
    result = subprocess.run(
        [ALLENNLP, "predict", archive, str(inputs), "--output-file", str(tmp_path / "o2.jsonl"), "--silent"],
        capture_output=True, text=True, cwd=ROOT,
    )
    # a bad line is skipped and logged; its output line says why, so the output keeps one line per input
    assert result.returncode == 0, result.stderr[-2000:]
    assert "skipped input line 2: malformed JSON" in result.stderr
    lines = [json.loads(line) for line in (tmp_path / "o2.jsonl").read_text().splitlines()]
    assert lines[0]["tokens"] == ["fine"]
    assert lines[1] == {"error": "input line 2: malformed JSON (Expecting ',' delimiter, column 22)", "tokens": [], "triplets": []}

    metrics = tmp_path / "metrics.json"
    result = subprocess.run(
        [ALLENNLP, "evaluate", archive, str(FIXTURES / "data" / "casrel.json"), "--output-file", str(metrics)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert {"f1", "lenient_f1", "tagging_f1", "swaps"} <= set(json.loads(metrics.read_text()))


def test_lists_are_bucketed_by_length_but_answered_in_order(archive):
    extract = load_extractor(archive)
    sentences = [
        "Paris is the capital of France.",
        ["Lena", "Park", "joined", "Vovo", "Motors", "in", "Seoul", "."],
        "Maria Lopez studied at the University of Texas and later taught in Austin, Texas.",
        "A town.",
    ]
    one_by_one = [extract(s if isinstance(s, str) else " ".join(s)) for s in sentences]
    for batch_size in (1, 2, 64):
        assert extract(sentences, batch_size=batch_size) == one_by_one
