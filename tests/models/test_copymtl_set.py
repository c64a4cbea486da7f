import json

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.testing import ModelTestCase
from allennlp.data import Batch, Vocabulary
from allennlp.data.token_indexers import SingleIdTokenIndexer
from allennlp.models import Model

from copymtl_allennlp.data.triplets import Triplet
from copymtl_allennlp.dataset_readers.copymtl import CopyMTLDatasetReader
from copymtl_allennlp.models.copymtl_set import CopyMTLSet
from tests.conftest import FIXTURES, assert_allennlp_predict_matches_the_api, fit_and_decode

CONFIG = FIXTURES / "configs" / "copymtl_set_tiny.jsonnet"
DATA = FIXTURES / "data" / "sentences.jsonl"
# spaCy's POS tags beside the words (the reader's part_of_speech switch)
POS_TAGS = {
    "dataset_reader.part_of_speech": True,
    "dataset_reader.token_indexers": {
        "tokens": {"type": "single_id"},
        "pos_tags": {"type": "single_id", "namespace": "pos_tokens", "feature_name": "tag_"},
    },
    "model.source_embedder.token_embedders.pos_tags": {"type": "embedding", "embedding_dim": 3, "vocab_namespace": "pos_tokens"},
    "model.encoder.input_size": 11,
    "model.word_dropout": 0.3,
}


class TestCopyMTLSet(ModelTestCase):
    @pytest.mark.parametrize(
        "overrides",
        [
            {},
            {"model.slot_reader": "attention", "model.tagging_head": False},
            {"model.pointer_scorer": "linear"},
            POS_TAGS,
        ],
    )
    def test_train_save_load_every_gradient_and_batch_consistency(self, overrides):
        self.set_up_model(CONFIG, DATA)
        self.ensure_model_can_train_save_and_load(self.param_file, overrides=json.dumps(overrides))
        self.ensure_batch_predictions_are_consistent()

    def test_learns_the_fixture_corpus(self):
        # enough steps on 8 sentences to reproduce them: the matching, loss and decoding agree
        self.set_up_model(CONFIG, DATA)
        torch.manual_seed(0)
        model = self.model
        output = fit_and_decode(model, self.instances, self.vocab, steps=300)
        assert model.get_metrics()["f1"] == 1.0
        # every gold triplet, as the spans of the metadata
        gold = [sorted(i["metadata"]["gold_triplets"], key=repr) for i in self.instances]
        assert [sorted(t, key=repr) for t in output["triplets"]] == gold


def tiny_model(vocab: Vocabulary, **overrides) -> CopyMTLSet:
    params = Params.from_file(str(CONFIG)).pop("model")
    for key, value in overrides.items():
        params[key] = value
    return Model.from_params(vocab=vocab, params=params)  # type: ignore[return-value]


def instances(**reader_args):
    reader = CopyMTLDatasetReader(entity_lengths=True, **reader_args)
    return list(reader.read(str(DATA)))


def test_more_gold_triplets_than_slots_is_a_configuration_error():
    data = instances(max_triplets=6)
    vocab = Vocabulary.from_instances(data)
    model = tiny_model(vocab, num_slots=3)
    batch = Batch(data)
    batch.index_instances(vocab)
    with pytest.raises(ConfigurationError, match=r"sentences\.jsonl:\d+: 4 gold triplets, more than the model's 3 slots"):
        model(**batch.as_tensor_dict())


def test_needs_entity_lengths():
    data = list(CopyMTLDatasetReader().read(str(DATA)))
    vocab = Vocabulary.from_instances(data)
    batch = Batch(data)
    batch.index_instances(vocab)
    with pytest.raises(ConfigurationError, match="entity_lengths: true"):
        tiny_model(vocab)(**batch.as_tensor_dict())


def test_sentence_without_gold_and_prediction_input():
    data = instances(max_triplets=6)
    vocab = Vocabulary.from_instances(data)
    model = tiny_model(vocab)
    empty = [i for i in data if not i["metadata"]["gold_triplets"]]
    assert empty, "the fixture has a sentence without triplets"
    batch = Batch(empty)
    batch.index_instances(vocab)
    loss = model(**batch.as_tensor_dict())["loss"]
    assert torch.isfinite(loss) and loss > 0
    # prediction input: no targets at all
    reader = CopyMTLDatasetReader(entity_lengths=True)
    instance = reader.text_to_instance(["Alan", "Shepard", "was", "born", "in", "New", "Hampshire", "."])
    reader.apply_token_indexers(instance)
    batch = Batch([instance])
    batch.index_instances(vocab)
    model.eval()
    output = model(**batch.as_tensor_dict())
    assert "loss" not in output and len(output["triplets"]) == 1
    for triplet in output["triplets"][0]:
        assert isinstance(triplet, Triplet)
        assert 0 <= triplet.head[0] < triplet.head[1] <= 8 and 0 <= triplet.tail[0] < triplet.tail[1] <= 8


def test_repeated_slot_predictions_collapse():
    data = instances(max_triplets=6)
    vocab = Vocabulary.from_instances(data)
    model = tiny_model(vocab, num_slots=4).eval()
    # every slot predicts the same triplet: one triplet comes out
    with torch.no_grad():
        model.decoder.slots.copy_(model.decoder.slots[:1].expand(4, -1))
    batch = Batch(data[:1])
    batch.index_instances(vocab)
    output = model(**batch.as_tensor_dict())
    relations = output["predicted_relations"][0]
    assert len(set(relations.tolist())) == 1
    assert len(output["triplets"][0]) == (0 if relations[0] < 0 else 1)


def test_allennlp_predict_and_python_api(tmp_path, monkeypatch):
    assert_allennlp_predict_matches_the_api(CONFIG, tmp_path, monkeypatch)

def test_word_dropout_keeps_the_pos_tags():
    reader = CopyMTLDatasetReader(
        entity_lengths=True,
        part_of_speech=True,
        token_indexers={
            "tokens": SingleIdTokenIndexer(),
            "pos_tags": SingleIdTokenIndexer(namespace="pos_tokens", feature_name="tag_"),
        },
    )
    data = list(reader.read(str(DATA)))
    tags = [token.tag_ for token in data[0]["source_tokens"].tokens]
    assert tags[:2] == ["NNP", "NNP"] and "," in tags, tags
    vocab = Vocabulary.from_instances(data)
    params = Params.from_file(str(CONFIG), json.dumps(POS_TAGS)).pop("model")
    params["word_dropout"] = 0.5
    model = Model.from_params(vocab=vocab, params=params)
    batch = Batch(data)
    batch.index_instances(vocab)
    tokens = batch.as_tensor_dict()["source_tokens"]
    model.train()
    mask = tokens["tokens"]["tokens"] > 0
    dropped = model._drop_words(tokens, mask)
    assert (dropped["tokens"]["tokens"][mask] == 1).any()
    assert torch.equal(dropped["pos_tags"]["tokens"], tokens["pos_tags"]["tokens"])


@pytest.mark.parametrize("threshold", [0.0, 1.5])
def test_a_relation_threshold_outside_zero_one_is_a_configuration_error(threshold):
    vocab = Vocabulary.from_instances(instances(max_triplets=6))
    with pytest.raises(ConfigurationError, match="relation_threshold"):
        tiny_model(vocab, relation_threshold=threshold)


def test_the_relation_threshold_is_read_at_inference():
    data = instances(max_triplets=6)
    vocab = Vocabulary.from_instances(data)
    model = tiny_model(vocab).eval()
    batch = Batch(data)
    batch.index_instances(vocab)
    tensors = batch.as_tensor_dict()
    with torch.no_grad():
        model.decoder.relation_classifier.bias.fill_(0.0)
        model.decoder.relation_classifier.bias[-1] = -100.0  # NA never wins: every slot a triplet
        assert all(output for output in model(**tensors)["triplets"])
        model.relation_threshold = 1.0  # no relation is that certain
        assert not any(model(**tensors)["triplets"])
