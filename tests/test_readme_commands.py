"""The README's and docs' `allennlp evaluate` commands show their metrics: AllenNLP 2.10 logs and
writes the final metrics only with --output-file."""
import json
import os
import re
import subprocess
import sys

from tests.conftest import FIXTURES, ROOT

DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))


def _evaluate_commands(text: str):
    """Every `allennlp evaluate` command of a text, its continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [m.group(0) for m in re.finditer(r"allennlp evaluate [^\n`]*", joined) if "ARCHIVE" not in m.group(0)]


def test_every_documented_evaluate_command_writes_its_metrics():
    commands = [c for doc in DOCS for c in _evaluate_commands(doc.read_text(encoding="utf-8"))]
    commands = [c for c in commands if ".tar.gz" in c]  # commands, not prose that names the tool
    assert len(commands) >= 5
    for command in commands:
        assert "--output-file" in command, command


def test_allennlp_evaluate_with_output_file_prints_the_metrics(tmp_path):
    from allennlp.commands.train import train_model_from_file

    train_model_from_file(str(FIXTURES / "configs" / "copymtl_tiny.jsonnet"), str(tmp_path / "run"))
    out = tmp_path / "metrics.json"
    command = [sys.executable, "-m", "allennlp", "evaluate", str(tmp_path / "run" / "model.tar.gz"),
               str(FIXTURES / "data" / "sentences.jsonl"), "--include-package", "copymtl_allennlp", "--output-file", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Metrics: {" in result.stderr and '"f1":' in result.stderr
    assert set(json.loads(out.read_text())) >= {"precision", "recall", "f1", "text_f1"}


def test_the_demo_runs_on_the_thread_count_the_readme_states():
    demo = (ROOT / "scripts" / "demo.sh").read_text(encoding="utf-8")
    assert 'export OMP_NUM_THREADS=${DEMO_THREADS:-1}' in demo
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "it runs on one thread, `DEMO_THREADS=2 make demo` for two" in readme
