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


@pytest.mark.parametrize("config", [c for c in CONFIGS if c.stem != "copymtl_demo"], ids=lambda c: c.stem)
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
