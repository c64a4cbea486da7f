"""Evaluation data with a relation that training never saw (as in the public WebNLG test split)."""
import json
import os
import subprocess
import sys

import pytest
import torch
from allennlp.commands.train import train_model_from_file
from allennlp.data import Batch
from allennlp.models.archival import load_archive

from copymtl_allennlp.data.triplets import Triplet
from copymtl_allennlp.data.namespaces import UNSEEN_RELATION
from copymtl_allennlp.metrics import TripletF1
from copymtl_allennlp.models.copymtl import CopyMTL
from tests.conftest import FIXTURES, ROOT

ALLENNLP = os.path.join(os.path.dirname(sys.executable), "allennlp")
SENTENCES = FIXTURES / "data" / "sentences.jsonl"


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    directory = tmp_path_factory.mktemp("unseen_run")
    train_model_from_file(str(FIXTURES / "configs" / "copymtl_tiny.jsonnet"), str(directory / "run"))
    return str(directory / "run" / "model.tar.gz")


def _renamed(tmp_path, relation="never_seen_in_training"):
    """The fixture corpus with the second triplet of the first sentence renamed."""
    records = [json.loads(line) for line in SENTENCES.read_text().splitlines()]
    records[0]["triplets"][1]["relation"] = relation
    path = tmp_path / "unseen.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path, records


def _evaluate(archive, path, output):
    result = subprocess.run(
        [ALLENNLP, "evaluate", archive, str(path), "--output-file", str(output)], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(output.read_text()), result.stderr


def test_allennlp_evaluate_counts_an_unseen_relation_in_recall(archive, tmp_path):
    path, _ = _renamed(tmp_path)
    metrics, log = _evaluate(archive, path, tmp_path / "metrics.json")
    assert metrics["unseen_relation_triplets"] == 1.0
    assert "1 gold triplets have a relation that the model's vocabulary lacks" in log
    baseline, _ = _evaluate(archive, SENTENCES, tmp_path / "baseline.json")
    assert "unseen_relation_triplets" not in baseline
    # the model's predictions are the same on both files; the renamed triplet is still gold (the
    # 17 of recall's denominator) and can never be predicted correctly
    assert round(metrics["recall"] * 17, 9) == int(round(metrics["recall"] * 17))
    assert metrics["recall"] <= baseline["recall"]


def test_metric_counts_an_unseen_relation_by_hand():
    gold = [[Triplet("born_in", (0, 1), (2, 3)), Triplet("new_relation", (0, 1), (4, 5))]]
    predicted = [[Triplet("born_in", (0, 1), (2, 3))]]
    metric = TripletF1(known_relations={"born_in", "located_in"})
    metric(predicted, gold)
    scores = metric.get_metric(reset=True)
    assert (scores["precision"], scores["recall"]) == (1.0, 0.5)
    assert scores["unseen_relation_triplets"] == 1.0
    metric(predicted, [gold[0][:1]])
    assert "unseen_relation_triplets" not in metric.get_metric()


def test_decoder_targets_leave_the_unseen_triplet_out(archive, tmp_path):
    model = load_archive(archive).model
    reader = load_archive(archive).dataset_reader
    model.eval()
    path, records = _renamed(tmp_path)
    renamed = list(reader.read(str(path)))[0]
    dropped_record = dict(records[0], triplets=[t for i, t in enumerate(records[0]["triplets"]) if i != 1])
    dropped_path = tmp_path / "dropped.jsonl"
    dropped_path.write_text(json.dumps(dropped_record) + "\n")
    dropped = list(reader.read(str(dropped_path)))[0]
    for instance in (renamed, dropped):
        instance.index_fields(model.vocab)
    assert [f._label_id for f in renamed["target_relations"].field_list][1] == UNSEEN_RELATION
    with torch.no_grad():
        losses = [model(**Batch([i]).as_tensor_dict())["loss"] for i in (renamed, dropped)]
    # the loss of the sentence is the loss without that triplet (the later triplets move up)
    assert torch.equal(losses[0], losses[1])


def test_without_unseen_relations_by_hand():
    u, na = UNSEEN_RELATION, -1
    targets = {
        "relations": torch.tensor([[4, u, 2, na], [u, u, 1, na], [3, 1, na, na]]),
        "head_ends": torch.tensor([[1, 5, 2, na], [7, 8, 3, na], [0, 2, na, na]]),
        "tail_lengths": torch.tensor([[1, 2, 3, 0], [4, 5, 6, 0], [1, 1, 0, 0]]),
    }
    out = CopyMTL._without_unseen_relations(targets)
    assert out["relations"].tolist() == [[4, 2, na, na], [1, na, na, na], [3, 1, na, na]]
    assert out["head_ends"].tolist() == [[1, 2, na, na], [3, na, na, na], [0, 2, na, na]]
    assert out["tail_lengths"].tolist() == [[1, 3, 0, 0], [6, 0, 0, 0], [1, 1, 0, 0]]
