"""benchmarks/gpu_check.py's CPU dry run: every step runs and the figures file holds what the docs
read from it (the GPU run itself: benchmarks/gpu_check.sh on a GPU machine)."""
import json
import shutil
import subprocess
import sys

import pytest
import torch

from tests.conftest import FIXTURES, ROOT


def test_dry_run_writes_every_figure(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "dev"):
        shutil.copy(FIXTURES / "data" / "sentences.jsonl", data / f"{split}.jsonl")
    out = tmp_path / "gpu_check.json"
    result = subprocess.run(
        [sys.executable, "benchmarks/gpu_check.py", "--data", str(data), "--out", str(out), "--dry-run",
         "--epochs", "2", "--precisions", "float32,bfloat16", "--batch-sizes", "4,16", "--work", str(tmp_path / "runs")],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["dry_run"] and figures["seed"] == 77 and figures["skipped"] == []
    assert set(figures["training"]) == {"float32", "bfloat16"}
    for run in figures["training"].values():
        assert [epoch["epoch"] for epoch in run["epochs"]] == [0, 1]
        assert all(epoch["sentences"] == 8 and epoch["train_sentences_per_s"] > 0 for epoch in run["epochs"])
        assert 0.0 <= run["best_dev_f1"] <= 1.0
    # on a CPU, bfloat16 trains in float32: the same losses
    losses = [[e["training_loss"] for e in run["epochs"]] for run in figures["training"].values()]
    assert losses[0] == losses[1]
    for dtype in ("float32", "bfloat16"):
        assert figures["inference"][dtype]["16"]["sentences"] == 48
        assert figures["inference"][dtype]["4"]["sentences_per_s"] > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is visible")
def test_without_a_gpu_the_check_says_so(tmp_path):
    result = subprocess.run(
        [sys.executable, "benchmarks/gpu_check.py", "--data", str(tmp_path), "--out", str(tmp_path / "x.json")],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 1
    assert "torch sees no CUDA device (torch.cuda.is_available() is False); --dry-run runs on the CPU" in result.stderr
