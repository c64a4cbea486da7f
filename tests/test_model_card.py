"""Every shipped config's archive carries a model card (AllenNLP's ModelCard, in allennlp-models'
JSON layout), written at the end of training and printed by copymtl-model-card."""
import json
import tarfile

import pytest
from allennlp.commands.train import train_model_from_file
from allennlp.common import Params

from copymtl_allennlp.commands.model_card import main as model_card
from copymtl_allennlp.training.model_card import card_from_json, system_name
from tests.conftest import FIXTURES, ROOT

CONFIGS = sorted((ROOT / "training_config").glob("*.jsonnet"))


@pytest.fixture
def data_paths(monkeypatch):
    for name in ("WEBNLG_TRAIN_PATH", "WEBNLG_DEV_PATH", "NYT_TRAIN_PATH", "NYT_DEV_PATH"):
        monkeypatch.setenv(name, "fixtures/data/sentences.jsonl")


def test_every_shipped_config_writes_and_archives_a_card(data_paths):
    for config in CONFIGS:
        params = Params.from_file(str(config)).as_dict()
        assert {"type": "model_card"} in params["trainer"]["callbacks"], config.name
        assert params["include_in_archive"] == ["model_card.json"], config.name


def test_each_config_is_named_as_its_paper_names_it(data_paths):
    names = {c.stem: system_name(Params.from_file(str(c)).as_dict()["model"]) for c in CONFIGS}
    assert names["copyre_one_webnlg"] == "CopyRE-One" and names["copyre_mul_nyt"] == "CopyRE-Mul"
    assert names["copyre_prime_webnlg"] == "CopyRE'" and names["copyre_prime5_glove_webnlg"] == "CopyRE'5"
    assert names["copymtl_webnlg"] == "CopyMTL-One" and names["copymtl_mul_tuned_webnlg"] == "CopyMTL-Mul"
    assert names["novel_tagging_nyt"] == "NovelTagging (LSTM-LSTM-Bias)" and names["graphrel_1p_glove_webnlg"] == "GraphRel-1p"
    assert names["copymtl_set_glove_webnlg"] == names["copymtl_set_minilm_webnlg"] == "CopyMTL-Set"
    assert names["tplinker_glove_webnlg"] == "TPLinker"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("card") / "run"
    overrides = {
        "trainer.callbacks": [{"type": "model_card"}, {"type": "random_state_checkpoint"}],
        "include_in_archive": ["model_card.json"],
        "train_data_path": "fixtures/data/sentences.jsonl",
        "validation_data_path": "fixtures/demo/dev.jsonl",
    }
    train_model_from_file(str(FIXTURES / "configs" / "copymtl_tiny.jsonnet"), str(directory), overrides=json.dumps(overrides))
    return directory


def test_the_card_is_in_the_archive_and_loads_as_a_model_card(run):
    with tarfile.open(run / "model.tar.gz") as archive:
        card = json.load(archive.extractfile("model_card.json"))
    assert card == json.loads((run / "model_card.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    loaded = card_from_json(card)  # as allennlp_models.pretrained reads its cards
    assert loaded.registered_model_name == "copymtl" and loaded.registered_predictor_name == "copymtl"
    assert loaded.model_details.model_type == "CopyMTL-One"
    assert loaded.model_details.paper.title.startswith("CopyMTL: Copy Mechanism")
    results = loaded.quantitative_analyses.unitary_results
    assert f"dev strict P / R / F1 {metrics['best_validation_precision']:.3f} / {metrics['best_validation_recall']:.3f}" in results
    assert f"best epoch {metrics['best_epoch'] + 1} of 2 (seed 1)" in results
    assert loaded.training_data.dataset.notes.startswith("fixtures/data/sentences.jsonl; fixtures/data/sentences.jsonl: the licence of your data")
    assert loaded.evaluation_data.dataset.notes == "dev split: fixtures/demo/dev.jsonl"
    assert "copymtl-allennlp: Apache License 2.0" in loaded.model_details.license


def test_copymtl_model_card_prints_it(run, capsys, tmp_path):
    assert model_card([str(run / "model.tar.gz")]) == 0
    out = capsys.readouterr().out
    assert "model_details.model_type: CopyMTL-One" in out and "quantitative_analyses.unitary_results: dev strict P / R / F1" in out
    assert model_card([str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip() == f"copymtl-model-card: {tmp_path}: no model_card.json (the model_card callback writes it at the end of training)"


def test_licences_follow_the_data_and_the_embeddings():
    from copymtl_allennlp.training.model_card import build_model_card

    config = {
        "train_data_path": "../shared/data/webnlg_exact/train.jsonl", "validation_data_path": "../shared/data/webnlg_exact/dev.jsonl",
        "model": {"type": "copymtl", "source_embedder": {"token_embedders": {
            "tokens": {"type": "embedding", "embedding_dim": 50, "pretrained_file": "vectors/glove.6B.50d.txt"},
            "transformer": {"type": "pretrained_transformer_mismatched", "model_name": "sentence-transformers/all-MiniLM-L6-v2"},
        }}, "encoder": {"type": "averaged_bidirectional", "hidden_size": 300}},
        "trainer": {"num_epochs": 80}, "random_seed": 77,
    }
    card = build_model_card(config, {"best_validation_f1": 0.5, "best_epoch": 3}, "allennlp train x")
    licence = card.model_details.license
    assert "WebNLG: CC BY-NC-SA 4.0" in licence and "PDDL 1.0" in licence and "all-MiniLM-L6-v2: Apache License 2.0" in licence
    assert card.training_data.dataset.name == "webnlg_exact"


def test_a_card_written_afterwards_goes_into_the_archive(tmp_path, capsys):

    run = tmp_path / "run"
    train_model_from_file(str(FIXTURES / "configs" / "copymtl_tiny.jsonnet"), str(run))  # no callback: no card
    assert model_card([str(run / "model.tar.gz")]) == 1
    assert "the archive holds no model_card.json" in capsys.readouterr().err
    assert model_card([str(run), "--write", "--command", "allennlp train tiny"]) == 0
    assert "unitary_results: dev strict P / R / F1" in capsys.readouterr().out
    assert model_card([str(run / "model.tar.gz"), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["quantitative_analyses"]["unitary_results"].endswith("Command: allennlp train tiny")


def test_a_truncated_archive_is_named(run, tmp_path, capsys):
    damaged = tmp_path / "model.tar.gz"
    data = (run / "model.tar.gz").read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    assert model_card([str(damaged)]) == 1
    assert capsys.readouterr().err.startswith(f"copymtl-model-card: {damaged}: not a complete model archive (the file is truncated or corrupt: ")
