import json
import sys

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import comparison  # noqa: E402


def test_the_table_reads_the_records_and_marks_rows_not_run(tmp_path):
    results = tmp_path / "results.jsonl"
    record = {"label": "A", "epochs": 20, "best_epoch": 17, "wall_time_s": 1200, "seed": 77, "dev_metrics": {"f1": 0.8123, "text_f1": 0.8201}}
    results.write_text(json.dumps({"label": "other"}) + "\n" + json.dumps(record) + "\n")
    speed = tmp_path / "speed.json"
    speed.write_text(json.dumps({"inference_python_api": {"batch_100": {"sentences_per_s": 250.4}}, "inference_allennlp_predict_batch_100": {"peak_rss_mb": 1500}}))
    rows = [
        comparison.row_figures({"system": "S", "encoder": "GloVe", "results": str(results), "label": "A", "speed": str(speed)}),
        comparison.row_figures({"system": "T", "encoder": "MiniLM", "results": str(results), "label": "missing", "command": "allennlp train x"}),
        comparison.row_figures({"system": "U", "encoder": "MiniLM", "results": str(results), "label": "missing", "command": "allennlp train y",
                                "not_run_because": "4 CPU hours"}),
    ]
    table = comparison.markdown(rows, [{"system": "P", "encoder": "BERT", "text_f1": 0.91}])
    lines = table.splitlines()
    assert lines[2] == "| S | GloVe | 0.812 | 0.820 | 1.0 | 18 / 20 | 250 | 1500 |"
    assert lines[3] == "| T | MiniLM | not run (1) | | | | | |"
    assert lines[4] == "| U | MiniLM | not run (2) | | | | | |"
    assert lines[5].startswith("| P (published, **test**) | BERT | - | 0.910 |")
    assert lines[-2:] == ["(1) T, MiniLM: `allennlp train x`", "(2) U, MiniLM (not run: 4 CPU hours): `allennlp train y`"]
    comparison.plot(rows, str(tmp_path / "plot.png"))
    assert (tmp_path / "plot.png").stat().st_size > 1000


def test_speed_is_measured_for_the_archives_that_have_no_speed_file(tmp_path, monkeypatch):
    archive = tmp_path / "model.tar.gz"
    archive.write_text("x")
    done = tmp_path / "done.json"
    done.write_text("{}")
    calls = []

    class Finished:
        returncode = 0
        stdout = '{"inference_python_api": {}}'

    def run(command, **kwargs):
        calls.append(command)
        return Finished()

    monkeypatch.setattr(comparison.subprocess, "run", run)
    rows = [
        {"system": "A", "encoder": "E", "config": "a.jsonnet", "archive": str(archive), "speed": str(tmp_path / "out" / "a.json")},
        {"system": "B", "encoder": "E", "config": "b.jsonnet", "archive": str(archive), "speed": str(done)},
        {"system": "C", "encoder": "E", "config": "c.jsonnet", "archive": str(tmp_path / "missing.tar.gz"), "speed": str(tmp_path / "c.json")},
    ]
    comparison.measure_speed(rows, "dev.jsonl")
    assert [call[-4:] for call in calls] == [["a.jsonnet", "dev.jsonl", "--archive", str(archive)]]
    assert (tmp_path / "out" / "a.json").read_text() == Finished.stdout
    assert not (tmp_path / "c.json").exists()
