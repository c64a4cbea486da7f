"""Every model (the CopyMTL family and the paper's baselines) through the same predictor, Python API
and CLI."""
import json
import os
import subprocess
import sys

import pytest
from allennlp.commands.train import train_model_from_file

from copymtl_allennlp import load_extractor
from tests.conftest import FIXTURES, ROOT

ALLENNLP = os.path.join(os.path.dirname(sys.executable), "allennlp")
MODELS = ["copymtl", "novel_tagging", "graphrel"]  # fixtures/configs/<model>_tiny.jsonnet


@pytest.fixture(scope="module", params=MODELS)
def archive(request, tmp_path_factory):
    """A small archive of each model, trained by the tests on the fixture corpus."""
    directory = tmp_path_factory.mktemp(request.param)
    train_model_from_file(str(FIXTURES / "configs" / f"{request.param}_tiny.jsonnet"), str(directory / "run"))
    return request.param, str(directory / "run" / "model.tar.gz")


def test_python_api(archive):
    _, path = archive
    extract = load_extractor(path)
    one = extract("Steven Jobs, the founder of Apple Computer, was born in San Francisco.")
    assert isinstance(one, list)
    for triplet in one:
        assert set(triplet) == {"head", "head_span", "relation", "tail", "tail_span"}
    many = extract(["Lena Park joined Vovo Motors in Seoul.", "Steven Jobs, the founder of Apple Computer, was born in San Francisco."])
    # a batch gives what each sentence gives alone
    assert many[1] == one and many[0] == extract("Lena Park joined Vovo Motors in Seoul.")
    with pytest.raises(TypeError, match="got dict"):
        extract({"sentence": "x"})


def test_cli_predict_and_evaluate(archive, tmp_path):
    model, path = archive
    inputs = tmp_path / "in.jsonl"
    inputs.write_text(
        '{"sentence": "Lena Park joined Vovo Motors in Seoul."}\n{"sentence": ""}\n{"tokens": ["Paris", "is", "nice"]}\n'
        '{"sentence": "broken"\n'
    )
    out = tmp_path / "out.jsonl"
    result = subprocess.run(
        [ALLENNLP, "predict", path, str(inputs), "--output-file", str(out), "--batch-size", "2", "--silent"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    # a bad line is skipped and logged; its output line says why, so the output keeps one line per input
    assert [len(line["tokens"]) for line in lines] == [8, 0, 3, 0]
    assert lines[1] == {"error": "input line 2: empty sentence", "tokens": [], "triplets": []}
    assert lines[3] == {"error": "input line 4: malformed JSON (Expecting ',' delimiter, column 22)", "tokens": [], "triplets": []}
    assert "skipped input line 4: malformed JSON" in result.stderr
    metrics = tmp_path / "metrics.json"
    result = subprocess.run(
        [ALLENNLP, "evaluate", path, str(FIXTURES / "data" / "casrel.json"), "--output-file", str(metrics)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    expected = {"f1", "lenient_f1", "text_f1", "swaps"} | ({"tagging_f1"} if model == "copymtl" else set())  # its tagging head
    assert expected <= set(json.loads(metrics.read_text()))
