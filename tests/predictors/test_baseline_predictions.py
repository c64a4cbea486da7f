"""The paper's baselines share the predictor, the Python API and the CLI with CopyMTL."""
import json
import os
import subprocess
import sys

import pytest
from allennlp.commands.train import train_model_from_file

from copymtl_allennlp import load_extractor
from tests.conftest import FIXTURES, ROOT

ALLENNLP = os.path.join(os.path.dirname(sys.executable), "allennlp")
BASELINES = ["novel_tagging", "graphrel"]


@pytest.fixture(scope="module", params=BASELINES)
def archive(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(request.param)
    train_model_from_file(str(FIXTURES / "configs" / f"{request.param}_tiny.jsonnet"), str(directory / "run"))
    return str(directory / "run" / "model.tar.gz")


def test_python_api(archive):
    extract = load_extractor(archive)
    one = extract("Steven Jobs, the founder of Apple Computer, was born in San Francisco.")
    assert isinstance(one, list)
    for triplet in one:
        assert set(triplet) == {"head", "head_span", "relation", "tail", "tail_span"}
    many = extract(["Lena Park joined Vovo Motors in Seoul.", "Steven Jobs, the founder of Apple Computer, was born in San Francisco."])
    assert many[1] == one
    with pytest.raises(TypeError, match="got dict"):
        extract({"sentence": "x"})


def test_cli_predict_and_evaluate(archive, tmp_path):
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"sentence": "Lena Park joined Vovo Motors in Seoul."}\n{"sentence": ""}\n{"tokens": ["Paris", "is", "nice"]}\n')
    out = tmp_path / "out.jsonl"
    result = subprocess.run(
        [ALLENNLP, "predict", archive, str(inputs), "--output-file", str(out), "--batch-size", "2", "--silent"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [len(line["tokens"]) for line in lines] == [8, 0, 3]
    assert lines[1]["error"] == "input line 2: empty sentence"
    metrics = tmp_path / "metrics.json"
    result = subprocess.run(
        [ALLENNLP, "evaluate", archive, str(FIXTURES / "data" / "casrel.json"), "--output-file", str(metrics)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert {"f1", "lenient_f1", "text_f1", "swaps"} <= set(json.loads(metrics.read_text()))
