"""benchmarks/epoch_f1.py: the per-epoch dev F1 of runs, in epoch order."""
import json
import subprocess
import sys

from tests.conftest import ROOT


def test_epoch_f1_reads_every_epoch_in_order_and_names_an_empty_run(tmp_path):
    run = tmp_path / "run_a"
    run.mkdir()
    for epoch, f1 in [(0, 0.1), (10, 0.55556), (2, 0.3), (1, 0.2)]:
        (run / f"metrics_epoch_{epoch}.json").write_text(json.dumps({"validation_f1": f1, "epoch": epoch}))
    (run / "metrics.json").write_text(json.dumps({"validation_f1": 9.0}))
    result = subprocess.run([sys.executable, "benchmarks/epoch_f1.py", str(run)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"run_a": [0.1, 0.2, 0.3, 0.5556]}
    empty = tmp_path / "empty"
    empty.mkdir()
    result = subprocess.run([sys.executable, "benchmarks/epoch_f1.py", str(empty)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and f"no metrics_epoch_N.json in {empty}" in result.stderr


def test_epoch_f1_names_a_missing_directory_and_a_missing_metric(tmp_path):
    missing = tmp_path / "missing"
    result = subprocess.run([sys.executable, "benchmarks/epoch_f1.py", str(missing)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and f"{missing}: no such serialization directory" in result.stderr
    assert "Traceback" not in result.stderr
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics_epoch_0.json").write_text(json.dumps({"validation_f1": 0.5}))
    result = subprocess.run(
        [sys.executable, "benchmarks/epoch_f1.py", str(run), "--metric", "validation_text_f1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1 and "metrics_epoch_0.json: no metric 'validation_text_f1'" in result.stderr
