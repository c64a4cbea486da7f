"""AllenNLP's distributed training (2 CPU processes, gloo) with the tagging head on: the reader
shards, and every validation metric aggregates across the processes."""
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES, ROOT

ALLENNLP = os.path.join(os.path.dirname(sys.executable), "allennlp")
CONFIG = str(FIXTURES / "configs" / "copymtl_tiny.jsonnet")


# length buckets, as every config of training_config/ has them
BUCKETS = {
    "data_loader": {"batch_sampler": {"type": "bucket", "batch_size": 4, "sorting_keys": ["source_tokens"]}},
    "validation_data_loader": {"batch_sampler": {"type": "bucket", "batch_size": 4, "sorting_keys": ["source_tokens"], "shuffle": False}},
}


def _train(serialization_dir, overrides):
    overrides = dict(BUCKETS, **overrides)
    result = subprocess.run(
        [ALLENNLP, "train", CONFIG, "-s", str(serialization_dir), "--include-package", "copymtl_allennlp",
         "-o", json.dumps(overrides)],
        capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(os.path.join(serialization_dir, "metrics.json")) as handle:
        return json.load(handle)


def test_two_processes_give_the_validation_metrics_of_one(tmp_path):
    # a model that predicts triplets (the fixture config trained longer)
    trained = _train(tmp_path / "trained", {"trainer.num_epochs": 40, "model.na_loss": "first", "trainer.optimizer.lr": 0.03})
    assert trained["best_validation_f1"] > 0.2
    # one more epoch at learning rate 0 from those weights: the validation pass sees the same model
    # in one process and in two (each process reads every other sentence of the corpus)
    frozen = {
        "model.na_loss": "first",
        "model.initializer": {"regexes": [[".*", {"type": "pretrained", "weights_file_path": str(tmp_path / "trained" / "best.th"), "parameter_name_overrides": {}}]]},
        "trainer.optimizer.lr": 0.0,
        "trainer.num_epochs": 1,
        # the training-set F1 callback decodes in every process (its metrics are all-reduced)
        "trainer.callbacks": [{"type": "training_set_f1", "max_sentences": 8}, {"type": "random_state_checkpoint"}],
    }
    one = _train(tmp_path / "one", frozen)
    two = _train(tmp_path / "two", dict(frozen, distributed={"cuda_devices": [-1, -1]}))
    assert "peak_worker_1_memory_MB" in two  # two processes ran
    for run in ("one", "two"):
        with open(tmp_path / run / "training_set_f1_epoch_0.json") as handle:
            assert json.load(handle)["sentences"] == 8
    metrics = [key for key in one if key.startswith("validation_") and key != "validation_loss"]
    assert {"validation_f1", "validation_tagging_f1", "validation_text_f1"} <= set(metrics)
    assert one["validation_f1"] == trained["best_validation_f1"]
    for key in metrics:
        assert two[key] == one[key], key
    # the loss is a mean over batches: equal up to rounding when the batches are of one size, as here
    assert two["validation_loss"] == pytest.approx(one["validation_loss"], rel=1e-5)
