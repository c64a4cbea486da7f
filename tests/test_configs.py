"""Every config in training_config/ evaluates and builds its system."""
import pytest
from allennlp.common import Params
from allennlp.data import Vocabulary
from allennlp.models import Model

from tests.conftest import ROOT

CONFIGS = sorted((ROOT / "training_config").glob("*.jsonnet"))
PAPER = {"embedding_dim": 100, "hidden_size": 1000, "batch_size": 100, "lr": 0.001, "num_epochs": 40}
# the paper's model settings (its released code): no dropout, teacher forcing, the decoder loss over
# all max_triplets steps (NA padding included), 5 triplets, λ 1, greedy decoding
PAPER_MODEL = {
    "dropout": 0.0, "decoder_dropout": 0.0, "word_dropout": 0.0, "feeding": "gold", "gold_ratio": 1.0, "na_loss": "all",
    "max_triplets": 5, "tagging_loss_weight": 1.0, "beam_size": 1, "max_decoding_triplets": None,
    "copy_feedback": "word", "copy_hidden_size": 100,
}
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


BASELINE_CONFIGS = [c for c in CONFIGS if c.stem.startswith(("novel_tagging", "graphrel"))]
SET_CONFIGS = [c for c in CONFIGS if c.stem.startswith("copymtl_set_")]
TABLE_CONFIGS = [c for c in CONFIGS if c.stem.startswith(("tplinker_", "onerel_"))]
FAMILY_CONFIGS = [c for c in CONFIGS if c not in BASELINE_CONFIGS + SET_CONFIGS + TABLE_CONFIGS]
TUNED_CONFIGS = [c for c in FAMILY_CONFIGS if "_tuned" in c.stem]
PAPER_CONFIGS = [
    c for c in FAMILY_CONFIGS if c.stem != "copymtl_demo" and not any(k in c.stem for k in ("_glove", "_minilm", "_tuned"))
]
VECTOR_CONFIGS = [c for c in FAMILY_CONFIGS if "_glove" in c.stem]


@pytest.mark.parametrize("config", PAPER_CONFIGS, ids=lambda c: c.stem)
def test_paper_configs(config):
    params = Params.from_file(str(config)).as_dict()
    system = config.stem.rsplit("_", 1)[0]
    model = params["model"]
    assert {k: model[k] for k in PAPER_MODEL} == PAPER_MODEL
    assert params["dataset_reader"]["max_triplets"] == 5 and params["dataset_reader"]["triplet_order"] == "given"
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


def test_each_tuned_config_is_its_paper_config_with_named_changes():
    assert {c.stem for c in TUNED_CONFIGS} == {"copymtl_tuned_webnlg", "copymtl_mul_tuned_webnlg", "copyre_prime5_tuned_webnlg"}
    for config in TUNED_CONFIGS:
        tuned = Params.from_file(str(config)).as_dict()
        paper = Params.from_file(str(config.with_name(config.name.replace("_tuned", "")))).as_dict()
        changed = {k for k in paper["model"] if paper["model"][k] != tuned["model"][k]}
        assert changed and changed <= {"dropout", "na_loss"}, config.stem
        assert {k: v for k, v in tuned.items() if k != "model"} == {k: v for k, v in paper.items() if k != "model"}


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


TRANSFORMER_CONFIGS = [c for c in FAMILY_CONFIGS if "_minilm" in c.stem]


def test_there_is_a_transformer_config_for_copymtl_one_and_copyre_prime5():
    assert {c.stem for c in TRANSFORMER_CONFIGS} >= {
        "copymtl_minilm_webnlg", "copymtl_minilm_nobilstm_webnlg", "copyre_prime5_minilm_webnlg",
    }


@pytest.mark.parametrize("config", TRANSFORMER_CONFIGS, ids=lambda c: c.stem)
def test_transformer_configs_build_with_a_local_transformer(config, tiny_bert):
    params = Params.from_file(str(config)).as_dict()
    scorer, mask, tagging, decoders, lengths = EXPECTED[config.stem.split("_minilm")[0]]
    model = params["model"]
    assert (model["copy_scorer"], model["tagging_head"], model["num_decoders"]) == (scorer, tagging, decoders)
    assert (model["max_entity_length"] > 0) == lengths == params["dataset_reader"]["entity_lengths"]
    embedders = model["source_embedder"]["token_embedders"]
    transformer = embedders["transformer"]
    # the name `make transformer` installs MiniLM under, read from local files only; the same model
    # and length for the indexer and the embedder
    assert transformer["model_name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert transformer["type"] == "pretrained_transformer_mismatched" and transformer["train_parameters"]
    assert transformer["transformer_kwargs"] == transformer["tokenizer_kwargs"] == {"local_files_only": True}
    for reader in ("dataset_reader", "validation_dataset_reader"):
        indexer = params[reader]["token_indexers"]["transformer"]
        assert indexer == {
            "type": "pretrained_transformer_mismatched", "model_name": transformer["model_name"], "max_length": 512,
            "tokenizer_kwargs": {"local_files_only": True},
        }
        assert set(params[reader]["token_indexers"]) == set(embedders)
    if "_nobilstm" in config.stem:
        assert model["encoder"] == {"type": "pooled_state", "input_size": 384, "hidden_size": 384, "cell": "lstm"}
    else:
        # MiniLM-L6 lower-cases its input: a trained, cased 50d word embedding beside it
        assert embedders["trainable_tokens"] == {"type": "embedding", "embedding_dim": 50, "trainable": True}
        assert model["encoder"] == {"type": "averaged_bidirectional", "input_size": 384 + 50, "hidden_size": 300, "cell": "lstm"}
    trainer = params["trainer"]
    assert trainer["learning_rate_scheduler"]["type"] == "linear_with_warmup"
    assert trainer["grad_norm"] == 5.0
    groups = trainer["optimizer"]["parameter_groups"]
    assert groups[0][1] == {"lr": 5e-5} and trainer["optimizer"]["lr"] == 0.001

    # built on the tiny local BERT (hidden 16) with a layer mix: the parameter group holds the
    # transformer's parameters and nothing else; the mix's scalars train at the main rate
    transformer["model_name"] = tiny_bert
    transformer["last_layer_only"] = False
    model["encoder"].update(input_size=model["encoder"]["input_size"] - 384 + 16, hidden_size=8)  # (pooled_state: projected to 8)
    model["attention"].update(vector_dim=8, matrix_dim=8)
    vocab = Vocabulary(
        {"relation_labels": {"r": 1}, "entity_tags": {"B": 1, "I": 1, "O": 1}}, non_padded_namespaces=["*labels", "*tags"]
    )
    built = Model.from_params(vocab=vocab, params=Params(model))
    import re

    pattern = re.compile(groups[0][0][0])
    in_group = {n for n, _ in built.named_parameters() if pattern.search(n)}
    assert in_group and all("transformer_model" in n for n in in_group)
    assert all(n in in_group for n, _ in built.named_parameters() if "transformer_model" in n)
    mix = {n for n, _ in built.named_parameters() if "_scalar_mix" in n}
    assert mix and not mix & in_group


def test_a_transformer_config_without_the_bilstm(tiny_bert, tmp_path):
    config = tmp_path / "nolstm.jsonnet"
    config.write_text(
        f'local lib = import "{ROOT}/training_config/copymtl.libsonnet";\n'
        f'lib.config("train", "dev", transformer="{tiny_bert}", transformer_dim=16, hidden_size=16, encoder="none")'
    )
    model = Params.from_file(str(config)).as_dict()["model"]
    assert model["encoder"] == {"type": "pooled_state", "input_size": 16, "hidden_size": 16, "cell": "lstm"}
    model["attention"].update(vector_dim=16, matrix_dim=16)
    vocab = Vocabulary({"relation_labels": {"r": 1}, "entity_tags": {"B": 1, "I": 1, "O": 1}}, non_padded_namespaces=["*labels", "*tags"])
    built = Model.from_params(vocab=vocab, params=Params(model))
    assert built.encoder.projection is None  # the transformer's width is the decoder's


def test_a_transformer_config_with_a_separate_copied_word_embedding(tiny_bert, tmp_path):
    config = tmp_path / "separate.jsonnet"
    config.write_text(
        f'local lib = import "{ROOT}/training_config/copymtl.libsonnet";\n'
        f'lib.config("train", "dev", transformer="{tiny_bert}", transformer_dim=16, hidden_size=8, separate_copied_word_embedding=true)'
    )
    params = Params.from_file(str(config)).as_dict()
    assert set(params["dataset_reader"]["token_indexers"]) == {"transformer", "copied_words"}
    model = params["model"]
    assert model["copied_word_embedder"] == {"token_embedders": {"copied_words": {"type": "embedding", "embedding_dim": 16, "trainable": True}}}
    model["attention"].update(vector_dim=8, matrix_dim=8)
    vocab = Vocabulary({"relation_labels": {"r": 1}, "entity_tags": {"B": 1, "I": 1, "O": 1}}, non_padded_namespaces=["*labels", "*tags"])
    built = Model.from_params(vocab=vocab, params=Params(model))
    assert built.copied_word_embedder.get_output_dim() == 16


def test_there_is_a_baseline_config_per_dataset():
    names = {c.stem for c in BASELINE_CONFIGS}
    assert {"novel_tagging_glove_webnlg", "novel_tagging_nyt"} <= names
    assert {f"graphrel_{p}_{d}" for p in ("1p", "2p") for d in ("glove_webnlg", "nyt")} <= names
    # the comparison of the families on the same two encoders (docs/results.md)
    assert {"novel_tagging_minilm_webnlg", "graphrel_1p_minilm_webnlg"} <= names


def check_baseline_inputs(config, params, tiny_bert, tmp_path):
    """A baseline's inputs: GloVe or MiniLM as the copy family reads them (check_inputs_and_shrink),
    random word embeddings in the NYT configs (the BiLSTM reads every embedder's output)."""
    if "_glove" in config.stem or "_minilm" in config.stem:
        check_inputs_and_shrink(config, params, tiny_bert, tmp_path)
        return
    embedders = params["model"]["source_embedder"]["token_embedders"]
    assert params["model"]["encoder"]["input_size"] == sum(e["embedding_dim"] for e in embedders.values())


@pytest.mark.parametrize("config", [c for c in BASELINE_CONFIGS if c.stem.startswith("novel_tagging")], ids=lambda c: c.stem)
def test_novel_tagging_configs(config, tiny_bert, tmp_path):
    params = Params.from_file(str(config)).as_dict()
    model = params["model"]
    # the published sizes and bias weight (Zheng et al. 2017)
    assert model["encoder"]["hidden_size"] == 300 and model["encoder"]["bidirectional"]
    assert model["decoder_hidden_size"] == 600 and model["bias_weight"] == 10
    embedders = model["source_embedder"]["token_embedders"]
    for reader in ("dataset_reader", "validation_dataset_reader"):
        assert params[reader]["type"] == "novel_tagging"
        assert set(params[reader]["token_indexers"]) == set(embedders)
    assert params["validation_dataset_reader"]["max_sentence_length"] is None
    assert params["trainer"]["callbacks"][-1] == {"type": "random_state_checkpoint"}
    check_baseline_inputs(config, params, tiny_bert, tmp_path)
    vocab = Vocabulary({"tokens": {"a": 1}, "novel_tags": {"O": 1, "S-r-1": 1, "S-r-2": 1}}, non_padded_namespaces=["*tags"])
    built = Model.from_params(vocab=vocab, params=Params(model))
    assert built.num_tags == 3


@pytest.mark.parametrize("config", [c for c in BASELINE_CONFIGS if c.stem.startswith("graphrel")], ids=lambda c: c.stem)
def test_graphrel_configs(config, tiny_bert, tmp_path):
    params = Params.from_file(str(config)).as_dict()
    model = params["model"]
    # the phases named by the file; the published sizes (Fu et al. 2019: 15d POS, 2 GCN layers)
    assert model["phases"] == int(config.stem.split("_")[1][0])
    assert model["gcn_layers"] == 2 and model["encoder"]["bidirectional"]
    embedders = model["source_embedder"]["token_embedders"]
    assert embedders["pos_tags"] == {"type": "embedding", "embedding_dim": 15, "vocab_namespace": "pos_tokens"}
    for reader in ("dataset_reader", "validation_dataset_reader"):
        assert params[reader]["type"] == "graphrel"
        assert set(params[reader]["token_indexers"]) == set(embedders)
        assert params[reader]["token_indexers"]["pos_tags"]["namespace"] == "pos_tokens"
    assert params["validation_dataset_reader"]["max_sentence_length"] is None
    check_baseline_inputs(config, params, tiny_bert, tmp_path)
    vocab = Vocabulary(
        {"tokens": {"a": 1}, "pos_tokens": {"NN": 1}, "relation_labels": {"r": 1, "s": 1}, "bioes_tags": {"O": 1, "S": 1}},
        non_padded_namespaces=["*labels", "*tags"],
    )
    built = Model.from_params(vocab=vocab, params=Params(model))
    assert built.num_relations == 2
    assert (built.phases == 2) == hasattr(built, "relation_gcn")


def test_every_config_trains_with_the_trainer_that_checks_its_keys():
    for config in CONFIGS:
        trainer = Params.from_file(str(config)).as_dict()["trainer"]
        assert trainer["type"] == "mixed_precision" and trainer.get("amp_dtype") is None, config.stem  # float32, keys checked


def test_every_config_has_the_evaluation_batch_size_the_readme_overrides():
    # README: `allennlp evaluate --batch-size` cannot be combined with a batch sampler; the
    # documented override `validation_data_loader.batch_sampler.batch_size` must name a real key
    for config in CONFIGS:
        loader = Params.from_file(str(config)).as_dict()["validation_data_loader"]
        assert "batch_size" not in loader and isinstance(loader["batch_sampler"]["batch_size"], int), config.stem


def test_a_config_of_your_own_elsewhere_imports_the_library_by_a_relative_path(tmp_path):
    import os

    folder = tmp_path / "experiments"
    folder.mkdir()
    library = os.path.relpath(ROOT / "training_config" / "copymtl.libsonnet", folder)
    config = folder / "mine.jsonnet"
    config.write_text(
        f'local lib = import "{library}";\n'
        'lib.config(train=std.extVar("WEBNLG_TRAIN_PATH"), validation=std.extVar("WEBNLG_DEV_PATH"), system="copyre_prime5", dropout=0.3)\n'
    )
    params = Params.from_file(str(config)).as_dict()
    assert params["model"]["max_entity_length"] == 10 and params["model"]["dropout"] == 0.3


def test_moving_average_decay_selects_the_average_that_recovers_exactly(tmp_path):
    import torch
    from allennlp.training.moving_average import MovingAverage

    from copymtl_allennlp.training.moving_average import RecoverableExponentialMovingAverage

    library = ROOT / "training_config" / "copymtl.libsonnet"
    trainers = []
    for extra in ("", ", moving_average_decay=0.995"):
        config = tmp_path / f"set{len(trainers)}.jsonnet"
        config.write_text(
            f'local lib = import "{library}";\n'
            f'lib.set_config(train=std.extVar("WEBNLG_TRAIN_PATH"), validation=std.extVar("WEBNLG_DEV_PATH"){extra})\n'
        )
        trainers.append(Params.from_file(str(config)).as_dict()["trainer"])
    assert "moving_average" not in trainers[0]
    average = MovingAverage.from_params(
        Params(trainers[1]["moving_average"]), parameters=list(torch.nn.Linear(2, 1).named_parameters())
    )
    assert isinstance(average, RecoverableExponentialMovingAverage) and average._decay == 0.995


def test_there_are_set_decoder_configs_for_both_encoders():
    assert {c.stem for c in SET_CONFIGS} == {"copymtl_set_glove_webnlg", "copymtl_set_minilm_webnlg"}


def check_inputs_and_shrink(config, params, tiny_bert, tmp_path):
    """The inputs of a CopyMTL-Set or table-filling config (every embedder has its indexer in training
    and evaluation data; GloVe from `make vectors`' file, or MiniLM from local files at its own
    learning rate; vocabulary from train), then the model made buildable here: a one-word vectors
    file or the tiny local BERT, a 4-wide BiLSTM."""
    model = params["model"]
    embedders = model["source_embedder"]["token_embedders"]
    for reader in ("dataset_reader", "validation_dataset_reader"):
        assert set(params[reader]["token_indexers"]) == set(embedders)
    assert params["datasets_for_vocab_creation"] == ["train"]
    if "_glove" in config.stem:
        assert embedders["tokens"]["pretrained_file"] == "vectors/glove.6B.50d.txt"
        assert model["encoder"]["input_size"] == sum(e["embedding_dim"] for e in embedders.values())
        vectors = tmp_path / "vectors.txt"
        vectors.write_text("a " + " ".join(["0.25"] * 50) + "\n")
        embedders["tokens"]["pretrained_file"] = str(vectors)
    else:
        assert embedders["transformer"]["model_name"] == "sentence-transformers/all-MiniLM-L6-v2"
        assert embedders["transformer"]["transformer_kwargs"] == {"local_files_only": True}
        assert params["trainer"]["optimizer"]["parameter_groups"][0][1] == {"lr": 5e-5}
        # MiniLM-L6 lower-cases its input: a trained, cased 50d word embedding beside it
        assert embedders["trainable_tokens"] == {"type": "embedding", "embedding_dim": 50, "trainable": True}
        others = sum(e["embedding_dim"] for key, e in embedders.items() if key != "transformer")
        assert model["encoder"]["input_size"] == 384 + others
        embedders["transformer"]["model_name"] = tiny_bert
        model["encoder"]["input_size"] = 16 + others
    model["encoder"]["hidden_size"] = 4


@pytest.mark.parametrize("config", SET_CONFIGS, ids=lambda c: c.stem)
def test_set_decoder_configs_build(config, tiny_bert, tmp_path):
    params = Params.from_file(str(config)).as_dict()
    model = params["model"]
    assert model["type"] == "copymtl_set"
    for reader in ("dataset_reader", "validation_dataset_reader"):
        # the pointer targets' starts; every gold triplet of WebNLG train (at most 7) gets a slot
        assert params[reader]["entity_lengths"] and params[reader]["max_triplets"] == model["num_slots"] >= 7
    assert params["validation_dataset_reader"]["max_sentence_length"] is None
    assert params["trainer"]["validation_metric"] == "+f1" and params["trainer"]["type"] == "mixed_precision"
    if "_glove" in config.stem:  # the average that recovers exactly (AllenNLP's own does not)
        assert params["trainer"]["moving_average"] == {"type": "exponential_recoverable", "decay": 0.999}
    check_inputs_and_shrink(config, params, tiny_bert, tmp_path)
    slots = model["num_slots"]
    vocab = Vocabulary(
        {"tokens": {"a": 1}, "relation_labels": {"r": 1, "s": 1}, "entity_tags": {"B": 1, "I": 1, "O": 1}},
        non_padded_namespaces=["*labels", "*tags"],
    )
    built = Model.from_params(vocab=vocab, params=Params(model))
    assert built.decoder.num_slots == slots
    assert built.decoder.relation_classifier.out_features == 3  # two relations and NA


@pytest.mark.parametrize("config", TABLE_CONFIGS, ids=lambda c: c.stem)
def test_table_filling_configs_build(config, tiny_bert, tmp_path):
    params = Params.from_file(str(config)).as_dict()
    model = params["model"]
    kind = config.stem.split("_")[0]
    assert model["type"] == kind
    scheme = {"tplinker": "handshaking", "onerel": "horns"}[kind]
    for reader in ("dataset_reader", "validation_dataset_reader"):
        assert params[reader]["type"] == "table_filling"
        assert params[reader].get("tag_scheme", "handshaking") == scheme
    assert params["validation_dataset_reader"]["max_sentence_length"] is None
    check_inputs_and_shrink(config, params, tiny_bert, tmp_path)
    vocab = Vocabulary({"tokens": {"a": 1}, "relation_labels": {"r": 1, "s": 1}}, non_padded_namespaces=["*labels"])
    built = Model.from_params(vocab=vocab, params=Params(model))
    if kind == "tplinker":
        assert built.head_tagger.out_features == built.tail_tagger.out_features == 2 * 3
    else:
        assert built.scorer.relation_tags.out_features == 2 * 8  # two relations, 8 horn tags each
        assert "loss_weight_recover_steps" not in model and "shaking_size" not in model


def test_there_are_table_filling_configs_for_both_encoders():
    assert {c.stem for c in TABLE_CONFIGS} == {
        "tplinker_glove_webnlg", "tplinker_minilm_webnlg", "onerel_glove_webnlg", "onerel_minilm_webnlg",
    }
