"""The vocabulary comes from the training data alone; words that training never saw get their
pretrained vectors through the extension (evaluate --extend-vocab, predict's and the Python API's
``vectors``), and every other new word reads as the unknown word."""
import json
import re

import pytest
import torch
from allennlp.commands.evaluate import evaluate_from_archive
from allennlp.commands.train import train_model_from_file
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.models.archival import load_archive

from copymtl_allennlp import load_extractor
from copymtl_allennlp.data.namespaces import UNSEEN_RELATION
from copymtl_allennlp.models.triplet_model import WORD_EMBEDDING_PATH
from tests.conftest import FIXTURES, ROOT

TRAIN = FIXTURES / "data" / "sentences.jsonl"
NEW_WORD = "Zorblax"  # in the dev file and the vectors file, never in training
NEW_RELATION = "orbits"  # a relation of the dev file only
ABSENT = "Quuxvillia"  # in the dev file, in no vectors file


def _vector(word: str, dim: int = 8):
    generator = torch.Generator().manual_seed(sum(map(ord, word)))
    return [round(v, 4) for v in torch.randn(dim, generator=generator).tolist()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vocab_corpus")
    dev = folder / "dev.jsonl"
    lines = TRAIN.read_text(encoding="utf-8").splitlines()
    extra = {
        "tokens": [NEW_WORD, "orbits", ABSENT, "near", "San", "Francisco", "."],
        "triplets": [
            {"head": [0, 1], "relation": NEW_RELATION, "tail": [2, 3]},
            {"head": [2, 3], "relation": "located_in", "tail": [4, 6]},
        ],
    }
    dev.write_text("\n".join(lines[:3] + [json.dumps(extra)]) + "\n", encoding="utf-8")
    train_words = {t for line in lines for t in json.loads(line)["tokens"]}
    vectors = folder / "vectors.txt"
    vectors.write_text(
        "".join(f"{w} {' '.join(map(str, _vector(w)))}\n" for w in sorted(train_words) + [NEW_WORD]), encoding="utf-8"
    )
    return {"dev": str(dev), "vectors": str(vectors), "folder": folder}


@pytest.fixture(scope="module")
def archive(corpus):
    """The tiny CopyMTL with pretrained vectors (fine-tuned) beside a trained embedding, trained on
    the fixture corpus, validated on a dev file with a new word and a new relation."""
    overrides = {
        "validation_data_path": corpus["dev"],
        "dataset_reader.token_indexers": {"tokens": {"type": "single_id"}, "trainable_tokens": {"type": "single_id"}},
        "model.source_embedder.token_embedders": {
            "tokens": {"type": "embedding", "embedding_dim": 8, "pretrained_file": corpus["vectors"]},
            "trainable_tokens": {"type": "embedding", "embedding_dim": 4},
        },
        "model.encoder.input_size": 12,
    }
    run = corpus["folder"] / "run"
    train_model_from_file(str(FIXTURES / "configs" / "copymtl_tiny.jsonnet"), str(run), overrides=json.dumps(overrides))
    return str(run / "model.tar.gz")


def test_every_config_builds_its_vocabulary_from_training_data_alone(monkeypatch):
    for name in ("WEBNLG_TRAIN_PATH", "WEBNLG_DEV_PATH", "NYT_TRAIN_PATH", "NYT_DEV_PATH"):
        monkeypatch.setenv(name, "fixtures/data/sentences.jsonl")
    configs = sorted((ROOT / "training_config").glob("*.jsonnet")) + sorted((FIXTURES / "configs").glob("*.jsonnet"))
    assert len(configs) > 20
    for config in configs:
        assert Params.from_file(str(config)).get("datasets_for_vocab_creation") == ["train"], config.name


def test_dev_words_and_relations_stay_out_of_the_vocabulary(archive, corpus):
    vocab = load_archive(archive).model.vocab
    assert NEW_WORD not in vocab.get_token_to_index_vocabulary("tokens")
    assert "Francisco" in vocab.get_token_to_index_vocabulary("tokens")
    assert NEW_RELATION not in vocab.get_token_to_index_vocabulary("relation_labels")
    # so the dev triplet of the new relation is counted as unseen in validation
    metrics = json.loads((corpus["folder"] / "run" / "metrics.json").read_text())
    assert metrics["best_validation_unseen_relation_triplets"] == 1


def _rows(model, word):
    vocab = model.vocab
    index = vocab.get_token_index(word, "tokens")
    embedders = model.source_embedder
    return (
        embedders.token_embedder_tokens.weight[index].detach(),
        embedders.token_embedder_trainable_tokens.weight[index].detach(),
    )


def test_allennlp_evaluate_extend_vocab_keeps_relations_as_trained(archive, corpus):
    """AllenNLP's --extend-vocab path also adds the dev file's relation to the vocabulary; the model
    restores its relations, so evaluation runs and the new relation stays unseen (the vectors:
    test_extension_rules_on_the_model)."""
    plain = evaluate_from_archive(archive, corpus["dev"], cuda_device=-1)
    extended = evaluate_from_archive(
        archive, corpus["dev"], cuda_device=-1, extend_vocab=True,
        embedding_sources_mapping=json.dumps({WORD_EMBEDDING_PATH: corpus["vectors"]}),
    )
    # the new relation is still unseen: relations keep their trained labels
    assert extended["unseen_relation_triplets"] == plain["unseen_relation_triplets"] == 1
    assert set(extended) == set(plain)
    # the same steps on a model of our own: its relations are as trained, the dev relation's
    # decoder target is UNSEEN_RELATION (not a new class the decoder does not have)
    loaded = load_archive(archive)
    model, instances = loaded.model, list(loaded.validation_dataset_reader.read(corpus["dev"]))
    relations = dict(model.vocab.get_token_to_index_vocabulary("relation_labels"))
    model.vocab.extend_from_instances(instances)  # what allennlp evaluate --extend-vocab does
    model.extend_embedder_vocab({WORD_EMBEDDING_PATH: corpus["vectors"]})
    assert model.vocab.get_token_to_index_vocabulary("relation_labels") == relations
    for instance in instances:
        instance.index_fields(model.vocab)
    targets = [field._label_id for instance in instances for field in instance["target_relations"].field_list]
    assert UNSEEN_RELATION in targets and max(targets) < len(relations)


def test_extension_rules_on_the_model(archive, corpus):
    model = load_archive(archive).model
    unknown = _rows(model, "@@UNKNOWN@@")
    relations = model.vocab.get_vocab_size("relation_labels")
    model.vocab.add_tokens_to_namespace([NEW_WORD, ABSENT], "tokens")
    model.vocab.add_token_to_namespace(NEW_RELATION, "relation_labels")  # what extend_from_instances does
    model.extend_embedder_vocab({WORD_EMBEDDING_PATH: corpus["vectors"]})
    pretrained, trained = _rows(model, NEW_WORD)
    assert torch.allclose(pretrained, torch.tensor(_vector(NEW_WORD)))  # the file's vector
    assert torch.equal(trained, unknown[1])  # no file for the trained embedding: the unknown word's row
    assert all(torch.equal(a, b) for a, b in zip(_rows(model, ABSENT), unknown))  # in no file: the unknown word
    assert model.vocab.get_vocab_size("relation_labels") == relations
    assert NEW_RELATION not in model.vocab.get_token_to_index_vocabulary("relation_labels")


def test_python_api_and_predictor_vectors(archive, corpus):
    plain = load_extractor(archive)
    extended = load_extractor(archive, vectors=corpus["vectors"])
    assert NEW_WORD in extended._model.vocab.get_token_to_index_vocabulary("tokens")
    assert torch.allclose(_rows(extended._model, NEW_WORD)[0], torch.tensor(_vector(NEW_WORD)))
    # a sentence of training words, or with a word in no file, reads as before
    for tokens in (["Steven", "Jobs", "was", "born", "in", "San", "Francisco", "."], [ABSENT, "was", "born", "in", "Paris", "."]):
        assert extended(tokens=tokens) == plain(tokens=tokens)


def test_bad_vectors_files_are_named(archive, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("a 0.1 0.2\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=f"^{re.escape(str(empty))}: no vectors in the file"):
        load_extractor(archive, vectors=str(empty))
    with pytest.raises(ConfigurationError, match=f"^{re.escape(str(wrong))}, line 1: a vector of 2 values, the embedding has 8"):
        load_extractor(archive, vectors=str(wrong))


def test_error_analysis_counts_what_the_vocabulary_lacks(archive, corpus, monkeypatch, tmp_path):
    """The counts docs/results.md cites (benchmarks/error_analysis.py's `vocabulary` field), on a
    dev file with one new word that the vectors file has, one it lacks and one new relation."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("error_analysis", ROOT / "benchmarks" / "error_analysis.py")
    error_analysis = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(error_analysis)
    out = tmp_path / "report.json"
    argv = ["error_analysis.py", archive, corpus["dev"], "--extend-vocab", corpus["vectors"], "--output", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    error_analysis.main()
    vocabulary = json.loads(out.read_text())["vocabulary"]
    assert vocabulary["unseen_relations"] == [NEW_RELATION] and vocabulary["gold_triplets_of_unseen_relations"] == 1
    train_words = {t for line in TRAIN.read_text(encoding="utf-8").splitlines() for t in json.loads(line)["tokens"]}
    dev_tokens = [t for line in open(corpus["dev"], encoding="utf-8") for t in json.loads(line)["tokens"]]
    new_tokens = [t for t in dev_tokens if t not in train_words]
    assert NEW_WORD in new_tokens and ABSENT in new_tokens
    # the vectors file has NEW_WORD alone of them: every other new word stays unknown
    assert (vocabulary["unknown_tokens"], vocabulary["unknown_words"]) == (len(new_tokens), len(set(new_tokens)))
    assert vocabulary["unknown_tokens_after_extension"] == len(new_tokens) - new_tokens.count(NEW_WORD)
    assert vocabulary["unknown_words_after_extension"] == len(set(new_tokens)) - 1
    assert vocabulary["words"] == len(train_words)
