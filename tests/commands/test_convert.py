import json
import os
import subprocess
import sys

from copymtl_allennlp.commands.convert import main
from tests.conftest import FIXTURES, ROOT, write

DATA = FIXTURES / "data"


def test_converts_and_prints_counts(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert main([str(DATA / "casrel.json"), str(out)]) == 0
    assert out.read_text() == (DATA / "sentences.jsonl").read_text()
    counts = capsys.readouterr().err
    assert "sentences written: 8" in counts
    assert "triplets written: 17" in counts
    assert "repeated triplets removed: 1" in counts
    assert "entities found only after removing accents/case: 3" in counts
    assert "triplets whose head or tail occurs more than once (nearest pair chosen): 1" in counts


def test_id_format_with_explicit_vocabularies(tmp_path, capsys):
    ids = DATA / "copyre_ids"
    out = tmp_path / "ids.jsonl"
    args = [str(ids / "train.json"), str(out), "--format", "copyre_ids"]
    args += ["--words2id", str(ids / "words2id.json"), "--relations2id", str(ids / "relations2id.json")]
    assert main(args) == 0
    first = json.loads(out.read_text().splitlines()[0])
    assert first["triplets"][0] == {"head": [1, 2], "relation": "founder_of", "tail": [7, 8]}


def test_bad_input_exits_with_the_location(tmp_path, capsys):
    bad = write(tmp_path / "bad.json", '{"sentText": "a b", "relationMentions": [{"em1Text": "a", "label": "r"}]}\n')
    assert main([bad, str(tmp_path / "o.jsonl")]) == 1
    assert f"{bad}, line 1: relation mention 0: missing field 'em2Text'" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_skip_policy(tmp_path, capsys):
    bad = write(tmp_path / "bad.json", '{"sentText": "a b", "relationMentions": []}\n{"sentText": ""}\n')
    assert main([bad, "-", "--on-error", "skip"]) == 0
    captured = capsys.readouterr()
    assert captured.out == '{"tokens": ["a", "b"], "triplets": []}\n'
    assert "bad records skipped (--on-error skip): 1" in captured.err


def test_console_script_is_installed():
    script = os.path.join(os.path.dirname(sys.executable), "copymtl-convert")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0
    assert "canonical JSONL" in result.stdout
