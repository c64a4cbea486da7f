"""The model family on a pretrained transformer (AllenNLP's ``pretrained_transformer_mismatched``
indexer and embedder), with a tiny randomly initialised BERT built locally (tests/conftest.py)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from allennlp.common import Params
from allennlp.common.testing import ModelTestCase
from allennlp.data import Batch, DatasetReader

from copymtl_allennlp.modules import PooledStateEncoder
from tests.conftest import FIXTURES, ROOT

CONFIG = FIXTURES / "configs" / "copymtl_tiny.jsonnet"
DATA = FIXTURES / "data" / "sentences.jsonl"
ALLENNLP = os.path.join(os.path.dirname(sys.executable), "allennlp")
BERT_WIDTH = 16

# model switches; "encoder": None keeps the BiLSTM of the tiny config
SYSTEMS = {
    "copymtl_one": {},
    "copyre_prime5": {"copy_scorer": "selu", "tagging_head": False, "max_entity_length": 4},
    "copymtl_one_beam": {"beam_size": 3, "max_decoding_triplets": 6},
    "copymtl_one_without_bilstm": {"encoder": {"type": "pooled_state", "input_size": BERT_WIDTH, "hidden_size": BERT_WIDTH}},
    "copyre_prime5_without_bilstm_projected": {
        "copy_scorer": "selu", "tagging_head": False, "max_entity_length": 4,
        "encoder": {"type": "pooled_state", "input_size": BERT_WIDTH, "hidden_size": 10},
    },
    "copymtl_one_encoder_feedback": {"copy_feedback": "encoder"},
    "copymtl_one_transformer_and_word_embedding": {},
    "copymtl_one_separate_copied_word_embedding": {},
    # the fixture sentences have 14-55 wordpieces: most are folded into segments of 20
    "copymtl_one_long_sentences_folded": {},
}


def transformer_params(tiny_bert: str, system: str) -> dict:
    """The tiny test config with the transformer as the embedder, as copymtl.libsonnet builds it."""
    params = Params.from_file(str(CONFIG)).as_dict()
    max_length = 20 if system == "copymtl_one_long_sentences_folded" else 512
    transformer = {"type": "pretrained_transformer_mismatched", "model_name": tiny_bert, "max_length": max_length}
    indexers = {"transformer": dict(transformer)}
    embedders = {"transformer": dict(transformer, train_parameters=True)}
    width = BERT_WIDTH
    if system == "copymtl_one_transformer_and_word_embedding":
        indexers["trainable_tokens"] = {"type": "single_id"}
        embedders["trainable_tokens"] = {"type": "embedding", "embedding_dim": 4}
        width += 4
    if system == "copymtl_one_separate_copied_word_embedding":
        indexers["copied_words"] = {"type": "single_id"}
        params["model"]["copied_word_embedder"] = {
            "token_embedders": {"copied_words": {"type": "embedding", "embedding_dim": BERT_WIDTH}}
        }
    params["dataset_reader"]["token_indexers"] = indexers
    params["model"]["source_embedder"] = {"token_embedders": embedders}
    params["model"]["encoder"]["input_size"] = width
    switches = dict(SYSTEMS[system])
    if "encoder" in switches:
        params["model"]["encoder"] = switches.pop("encoder")
        hidden = params["model"]["encoder"]["hidden_size"]
        params["model"]["attention"] = {"type": "step_additive", "vector_dim": hidden, "matrix_dim": hidden}
    params["model"].update(switches)
    if params["model"].get("max_entity_length"):
        params["dataset_reader"]["entity_lengths"] = True
    params["trainer"]["optimizer"]["parameter_groups"] = [[["^source_embedder\\.token_embedder_transformer\\."], {"lr": 1e-3}]]
    return params


# BERT's pooler (the [CLS] layer) is not read by a word-level embedder
POOLER = {
    "source_embedder.token_embedder_transformer._matched_embedder.transformer_model.pooler.dense.weight",
    "source_embedder.token_embedder_transformer._matched_embedder.transformer_model.pooler.dense.bias",
}


class TestCopyMTLOnATransformer(ModelTestCase):
    @pytest.fixture(autouse=True)
    def bert(self, tiny_bert):
        self.tiny_bert = tiny_bert

    def set_up_system(self, system):
        path = self.TEST_DIR / f"{system}.json"
        Params(transformer_params(self.tiny_bert, system)).to_file(str(path))
        self.set_up_model(path, DATA)

    @pytest.mark.parametrize("system", sorted(SYSTEMS))
    def test_trains_saves_loads_and_every_parameter_gets_gradient(self, system, monkeypatch):
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
        self.set_up_system(system)
        self.ensure_model_can_train_save_and_load(self.param_file, gradients_to_ignore=POOLER)

    @pytest.mark.parametrize("system", sorted(SYSTEMS))
    def test_batch_predictions_are_consistent(self, system):
        self.set_up_system(system)
        self.ensure_batch_predictions_are_consistent(keys_to_ignore=["loss"])

    def fed_to_the_decoder(self, tensors):
        """The copied-word vectors (``embedded_source``) the model gives its decoder on ``tensors``."""
        fed = {}
        decoder_forward = self.model.decoder.forward

        def recording(encoder_outputs, mask, embedded_source, *args, **kwargs):
            fed["embedded_source"] = embedded_source
            return decoder_forward(encoder_outputs, mask, embedded_source, *args, **kwargs)

        self.model.decoder.forward = recording
        with torch.no_grad():
            self.model(**tensors)
        return fed["embedded_source"]

    def test_the_copied_word_is_fed_its_contextual_vector(self):
        """With the transformer as the embedder, a copy step feeds the copied word's contextual
        vector (its wordpieces' mean), which differs between two occurrences of one word."""
        self.set_up_system("copymtl_one")
        self.model.eval()
        batch = Batch(self.instances[:2])
        batch.index_instances(self.vocab)
        tensors = batch.as_tensor_dict()
        fed = self.fed_to_the_decoder(tensors)
        with torch.no_grad():
            embedded = self.model.source_embedder(tensors["source_tokens"])
        assert embedded.shape[-1] == BERT_WIDTH
        assert torch.equal(fed, embedded)
        words = self.instances[0]["metadata"]["tokens"]
        first, second = [i for i, w in enumerate(words) if w == ","][:2]
        assert not torch.allclose(fed[0, first], fed[0, second])

    def test_a_sentence_longer_than_the_transformer_is_folded(self):
        """Past the tiny BERT's 64 positions, a sentence is read in segments of ``max_length``
        wordpieces, and a sentence's result does not depend on its batch."""
        self.set_up_system("copymtl_one_long_sentences_folded")
        self.model.eval()
        words = self.instances[0]["metadata"]["tokens"] * 3  # 165 wordpieces
        reader = DatasetReader.from_params(Params.from_file(self.param_file)["dataset_reader"])
        long_instance = reader.text_to_instance(words)
        reader.apply_token_indexers(long_instance)
        alone = self.model.forward_on_instance(long_instance)
        assert len(alone["entity_tags"]) == len(words)
        short_instance = reader.text_to_instance(self.instances[1]["metadata"]["tokens"])
        reader.apply_token_indexers(short_instance)
        batched = self.model.forward_on_instances([long_instance, short_instance])[0]
        assert batched["triplets"] == alone["triplets"] and batched["entity_tags"] == alone["entity_tags"]
        # without folding the same sentence does not fit the model
        self.model.source_embedder._token_embedders["transformer"]._matched_embedder._max_length = None
        with pytest.raises((IndexError, RuntimeError)):
            self.model.forward_on_instance(long_instance)

    def test_a_separate_copied_word_embedding_is_what_copy_steps_feed(self):
        """With ``copied_word_embedder``, the decoder's copied-word inputs are that embedding's
        vectors (the same for two occurrences of a word), and the source embedder reads the
        transformer alone."""
        self.set_up_system("copymtl_one_separate_copied_word_embedding")
        self.model.eval()
        batch = Batch(self.instances[:2])
        batch.index_instances(self.vocab)
        tensors = batch.as_tensor_dict()
        fed = self.fed_to_the_decoder(tensors)
        words = tensors["source_tokens"]["copied_words"]["tokens"]
        with torch.no_grad():
            expected = self.model.copied_word_embedder({"copied_words": tensors["source_tokens"]["copied_words"]})
        assert torch.equal(fed, expected)
        first, second = [i for i, w in enumerate(self.instances[0]["metadata"]["tokens"]) if w == ","][:2]
        assert words[0, first] == words[0, second]
        assert torch.equal(fed[0, first], fed[0, second])


def test_copied_word_embedder_configuration_errors(tiny_bert):
    from allennlp.common.checks import ConfigurationError
    from allennlp.data import Vocabulary
    from allennlp.models import Model

    vocab = Vocabulary({"relation_labels": {"r": 1}, "entity_tags": {"B": 1, "I": 1, "O": 1}}, non_padded_namespaces=["*labels", "*tags"])
    for override, message in (
        ({"embedding_dim": 5}, "copied_word_embedder output 5 != source embedder output 16"),
        ({"embedding_dim": BERT_WIDTH, "feedback": "encoder"}, "needs copy_feedback 'word'"),
    ):
        params = transformer_params(tiny_bert, "copymtl_one")["model"]
        params["copied_word_embedder"] = {"token_embedders": {"copied_words": {"type": "embedding", "embedding_dim": override["embedding_dim"]}}}
        if "feedback" in override:
            params["copy_feedback"] = override["feedback"]
        with pytest.raises(ConfigurationError, match=message):
            Model.from_params(vocab=vocab, params=Params(params))


def test_pooled_state_encoder_by_hand():
    encoder = PooledStateEncoder(input_size=2, hidden_size=2)
    inputs = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]], [[5.0, 6.0], [0.0, 0.0], [0.0, 0.0]]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    outputs, (h, c) = encoder.forward_with_state(inputs, mask)
    assert outputs.tolist() == [[[1.0, 2.0], [3.0, 4.0], [0.0, 0.0]], [[5.0, 6.0], [0.0, 0.0], [0.0, 0.0]]]
    assert h.tolist() == [[2.0, 3.0], [5.0, 6.0]]  # masked mean
    assert c.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    gru = PooledStateEncoder(input_size=2, hidden_size=3, cell="gru")
    outputs, (h, c) = gru.forward_with_state(inputs, mask)
    assert outputs.shape == (2, 3, 3) and c is None
    assert outputs[0, 2].abs().sum() == 0 and outputs[1, 1:].abs().sum() == 0  # padding stays zero


def test_cli_train_and_predict_offline(tiny_bert, tmp_path):
    """`allennlp train` and `allennlp predict` on the transformer config with the hub switched off,
    the model named as on the hub and read from the Hugging Face cache that `copymtl-transformer`
    fills (as `make transformer` does for MiniLM); the archive, moved to another folder, loads from
    any working directory, and without the model installed the error says what to install."""
    import zipfile

    model_zip = tmp_path / "model.zip"
    with zipfile.ZipFile(model_zip, "w") as archive:
        for file in Path(tiny_bert).iterdir():
            archive.write(file, f"tiny/{file.name}")
    name = "copymtl-test/tiny-bert"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1", HF_HOME=str(tmp_path / "hf"))
    env.pop("TRANSFORMERS_CACHE", None)
    convert = Path(ALLENNLP).with_name("copymtl-transformer")
    result = subprocess.run([str(convert), "--zip", str(model_zip), "--name", name], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "hf" / "hub" / "models--copymtl-test--tiny-bert" / "refs" / "main").is_file()

    params = transformer_params(name, "copymtl_one")
    for part in (params["dataset_reader"]["token_indexers"]["transformer"], params["model"]["source_embedder"]["token_embedders"]["transformer"]):
        part["tokenizer_kwargs"] = {"local_files_only": True}
    params["model"]["source_embedder"]["token_embedders"]["transformer"]["transformer_kwargs"] = {"local_files_only": True}
    params["trainer"]["num_epochs"] = 1
    config = tmp_path / "config.json"
    config.write_text(json.dumps(params))
    run = tmp_path / "run"
    result = subprocess.run([ALLENNLP, "train", str(config), "-s", str(run)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    shared = tmp_path / "elsewhere" / "model.tar.gz"
    shared.parent.mkdir()
    shutil.move(str(run / "model.tar.gz"), str(shared))
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"sentence": "Lena Park joined Vovo Motors in Seoul."}\n{"tokens": ["Paris", "is", "nice"]}\n')
    out = tmp_path / "out.jsonl"
    predict = [ALLENNLP, "predict", str(shared), str(inputs), "--output-file", str(out), "--batch-size", "2", "--silent",
               "--include-package", "copymtl_allennlp"]
    result = subprocess.run(predict, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    # another machine, without the model: one line saying what to install
    missing = dict(env, HF_HOME=str(tmp_path / "empty"))
    result = subprocess.run(predict, capture_output=True, text=True, cwd=tmp_path, env=missing)
    assert result.returncode != 0
    assert (
        f"ConfigurationError: the transformer '{name}' is not on this machine (neither a model folder nor in the Hugging Face cache "
        f"{tmp_path / 'empty' / 'hub'}; nothing is downloaded at run time): put it there with "
        f"`copymtl-transformer --zip MODEL.zip --name {name}`, or name a local model folder"
    ) in result.stderr.splitlines()[-1]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [len(line["tokens"]) for line in lines] == [8, 3]
    assert all(len(line["entity_tags"]) == len(line["tokens"]) for line in lines)
