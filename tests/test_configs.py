"""Every config in training_config/ evaluates and builds its system."""
import pytest
from allennlp.common import Params
from allennlp.data import Vocabulary
from allennlp.models import Model

from tests.conftest import ROOT

CONFIGS = sorted((ROOT / "training_config").glob("*.jsonnet"))
PAPER = {"embedding_dim": 100, "hidden_size": 1000, "batch_size": 100, "lr": 0.001, "num_epochs": 40}
# system -> (copy scorer, mask M, tagging head, decoders, length prediction)
EXPECTED = {
    "copyre_one": ("linear", True, False, 1, False),
    "copyre_mul": ("linear", True, False, 5, False),
    "copyre_prime": ("selu", False, False, 1, False),
    "copyre_prime5": ("selu", False, False, 1, True),
    "copymtl": ("selu", False, True, 1, False),
    "copymtl_mul": ("selu", False, True, 5, False),
}


@pytest.fixture(autouse=True)
def data_paths(monkeypatch):
    for name in ("WEBNLG_TRAIN_PATH", "WEBNLG_DEV_PATH", "NYT_TRAIN_PATH", "NYT_DEV_PATH"):
        monkeypatch.setenv(name, "fixtures/data/sentences.jsonl")


def test_there_is_a_config_per_system_and_dataset():
    names = {c.stem for c in CONFIGS}
    for system in EXPECTED:
        assert {f"{system}_webnlg", f"{system}_nyt"} <= names
    assert "copymtl_demo" in names


PAPER_CONFIGS = [c for c in CONFIGS if c.stem != "copymtl_demo" and "_glove" not in c.stem]
VECTOR_CONFIGS = [c for c in CONFIGS if "_glove" in c.stem]


@pytest.mark.parametrize("config", PAPER_CONFIGS, ids=lambda c: c.stem)
def test_paper_configs(config):
    params = Params.from_file(str(config)).as_dict()
    system = config.stem.rsplit("_", 1)[0]
    model = params["model"]
    scorer, mask, tagging, decoders, lengths = EXPECTED[system]
    assert (model["copy_scorer"], model["mask_head_at_tail"], model["tagging_head"]) == (scorer, mask, tagging)
    assert model["num_decoders"] == decoders
    assert (model["max_entity_length"] > 0) == lengths == params["dataset_reader"]["entity_lengths"]
    assert model["encoder"]["hidden_size"] == PAPER["hidden_size"]
    assert model["source_embedder"]["token_embedders"]["tokens"]["embedding_dim"] == PAPER["embedding_dim"]
    assert params["data_loader"]["batch_sampler"]["batch_size"] == PAPER["batch_size"]
    assert params["trainer"]["optimizer"] == {"type": "fused_adam", "lr": PAPER["lr"]}  # Adam, fused update
    assert params["trainer"]["num_epochs"] == PAPER["num_epochs"]
    assert params["trainer"]["validation_metric"] == "+f1"
    assert "cuda_device" not in params["trainer"]
    assert params["random_seed"] == params["pytorch_seed"] == params["numpy_seed"]
    assert params["validation_dataset_reader"]["max_sentence_length"] is None

    # the system builds (at a small size)
    model["encoder"]["hidden_size"] = 8
    model["attention"].update(vector_dim=8, matrix_dim=8)
    vocab = Vocabulary(
        {"tokens": {"a": 1}, "relation_labels": {"r": 1, "s": 1}, "entity_tags": {"B": 1, "I": 1, "O": 1}},
        non_padded_namespaces=["*labels", "*tags"],
    )
    built = Model.from_params(vocab=vocab, params=Params(model))
    assert len(built.decoder.cells) == decoders
    assert (built.tagging_head is not None) == tagging


@pytest.mark.parametrize("config", VECTOR_CONFIGS, ids=lambda c: c.stem)
def test_word_vector_configs_build_with_a_vector_file(config, tmp_path):
    params = Params.from_file(str(config)).as_dict()
    # the system named by the file
    scorer, mask, tagging, decoders, lengths = EXPECTED[config.stem.replace("_glove_webnlg", "")]
    assert (params["model"]["copy_scorer"], params["model"]["tagging_head"], params["model"]["num_decoders"]) == (scorer, tagging, decoders)
    assert (params["model"]["max_entity_length"] > 0) == lengths == params["dataset_reader"]["entity_lengths"]
    embedders = params["model"]["source_embedder"]["token_embedders"]
    assert embedders["tokens"]["pretrained_file"] == "vectors/glove.6B.50d.txt"  # what `make vectors` writes
    assert embedders["tokens"]["embedding_dim"] == 50
    # every embedder has its indexer, in training and evaluation data
    for reader in ("dataset_reader", "validation_dataset_reader"):
        assert set(params[reader]["token_indexers"]) == set(embedders)
    width = sum(
        e.get("embedding_dim", 0) if e["type"] == "embedding" else e["encoder"]["num_filters"] for e in embedders.values()
    )
    assert params["model"]["encoder"]["input_size"] == width
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("a " + " ".join(["0.25"] * 50) + "\n")
    embedders["tokens"]["pretrained_file"] = str(vectors)
    model = params["model"]
    model["encoder"]["hidden_size"] = 8
    model["attention"].update(vector_dim=8, matrix_dim=8)
    vocab = Vocabulary(
        {"tokens": {"a": 1, "b": 1}, "token_characters": {"a": 1}, "relation_labels": {"r": 1}, "entity_tags": {"B": 1, "I": 1, "O": 1}},
        non_padded_namespaces=["*labels", "*tags"],
    )
    built = Model.from_params(vocab=vocab, params=Params(model))
    weight = built.source_embedder._token_embedders["tokens"].weight
    assert weight[vocab.get_token_index("a")].tolist() == [0.25] * 50
