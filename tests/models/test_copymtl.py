import copy

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.testing import ModelTestCase
from allennlp.data import Batch
from allennlp.models import Model
from allennlp.nn import util

from tests.conftest import FIXTURES

CONFIG = FIXTURES / "configs" / "copymtl_tiny.jsonnet"
DATA = FIXTURES / "data" / "sentences.jsonl"

# the switches of each system of the paper, as in training_config/copymtl.libsonnet
SYSTEMS = {
    "copyre_one": {"copy_scorer": "linear", "mask_head_at_tail": True, "tagging_head": False},
    "copyre_mul": {"copy_scorer": "linear", "mask_head_at_tail": True, "tagging_head": False, "num_decoders": 5},
    "copyre_prime": {"copy_scorer": "selu", "tagging_head": False},
    "copyre_prime5": {"copy_scorer": "selu", "tagging_head": False, "max_entity_length": 4},
    "copymtl_one": {},
    "copymtl_mul": {"num_decoders": 5},
    "copymtl_gru_scheduled": {"feeding": "scheduled", "gold_ratio": 0.5},
    "copymtl_own_feeding": {"feeding": "own"},
    "copymtl_na_loss_first": {"na_loss": "first"},
    "copymtl_beam": {"beam_size": 3},
    "copymtl_decoding_past_max_triplets": {"max_decoding_triplets": 7},
    "copymtl_blocked_repeats": {"block_repeated_triplets": True},
    "copyre_prime5_beam_blocked_repeats": {
        "copy_scorer": "selu", "tagging_head": False, "max_entity_length": 4, "beam_size": 3, "block_repeated_triplets": True,
    },
    "copymtl_two_layer_encoder": {"encoder": {"num_layers": 2}},
    "copymtl_word_and_decoder_dropout": {"word_dropout": 0.3, "decoder_dropout": 0.3},
    "copyre_prime5_decoder_dropout": {"copy_scorer": "selu", "tagging_head": False, "max_entity_length": 4, "decoder_dropout": 0.5},
    "copyre_prime5_beam": {"copy_scorer": "selu", "tagging_head": False, "max_entity_length": 4, "beam_size": 3},
    "copyre_mul_beam": {"copy_scorer": "linear", "mask_head_at_tail": True, "tagging_head": False, "num_decoders": 5, "beam_size": 2},
    "copymtl_glove_trainable_characters": {},
    "copymtl_encoder_feedback": {"copy_feedback": "encoder", "beam_size": 2},
    "copyre_prime5_start_pointer": {"copy_scorer": "selu", "tagging_head": False, "max_entity_length": 4, "length_scorer": "start_pointer"},
    "copymtl_tags_and_start_pointer": {"max_entity_length": 4, "length_scorer": "start_pointer", "entity_starts": "length"},
}


class TestCopyMTL(ModelTestCase):
    def set_up_system(self, system):
        overrides = {"model": dict(SYSTEMS[system])}
        if system.startswith("copyre_prime5") or system == "copymtl_tags_and_start_pointer":
            overrides["dataset_reader"] = {"entity_lengths": True}
        if system == "copymtl_glove_trainable_characters":
            # pretrained vectors (a GloVe text file written here) beside a trained embedding and a
            # character CNN, as copymtl.libsonnet builds them
            vectors = self.TEST_DIR / "vectors.txt"
            vectors.write_text("".join(f"{word} " + " ".join(["0.5"] * 8) + "\n" for word in ("the", "of", "in")))
            indexers = {
                "tokens": {"type": "single_id"},
                "trainable_tokens": {"type": "single_id"},
                "token_characters": {"type": "characters", "min_padding_length": 3},
            }
            overrides["dataset_reader"] = {"token_indexers": indexers}
            overrides["model"]["source_embedder"] = {
                "token_embedders": {
                    "tokens": {"type": "embedding", "embedding_dim": 8, "pretrained_file": str(vectors)},
                    "trainable_tokens": {"type": "embedding", "embedding_dim": 4},
                    "token_characters": {
                        "type": "character_encoding",
                        "embedding": {"embedding_dim": 5, "vocab_namespace": "token_characters"},
                        "encoder": {"type": "cnn", "embedding_dim": 5, "num_filters": 3, "ngram_filter_sizes": [3]},
                    },
                }
            }
            overrides["model"]["encoder"] = {"input_size": 15}
        if system == "copymtl_gru_scheduled":
            overrides["model"]["encoder"] = {"cell": "gru"}
        params = Params.from_file(str(CONFIG)).as_dict()
        for section, values in overrides.items():
            for key, value in values.items():
                if isinstance(value, dict) and key in params[section]:
                    params[section][key].update(value)
                else:
                    params[section][key] = value
        path = self.TEST_DIR / f"{system}.json"
        Params(params).to_file(str(path))
        self.set_up_model(path, DATA)

    @pytest.mark.parametrize("system", sorted(SYSTEMS))
    def test_trains_saves_loads_and_every_parameter_gets_gradient(self, system):
        self.set_up_system(system)
        # with na_loss "first" and gold feeding no trained step follows an NA copy
        ignore = {"decoder.na_copy_embedding"} if system == "copymtl_na_loss_first" else None
        self.ensure_model_can_train_save_and_load(self.param_file, gradients_to_ignore=ignore)

    @pytest.mark.parametrize("system", sorted(SYSTEMS))
    def test_batch_predictions_are_consistent(self, system):
        self.set_up_system(system)
        self.ensure_batch_predictions_are_consistent(keys_to_ignore=["loss"])

    def test_batch_size_one(self):
        self.set_up_system("copymtl_one")
        self.model.eval()
        for instance in self.instances[:3]:
            batch = Batch([instance])
            batch.index_instances(self.vocab)
            output = self.model(**batch.as_tensor_dict())
            assert output["predicted_relations"].shape == (1, 5)
            assert len(output["triplets"]) == 1

    def test_training_loss_is_decoder_plus_lambda_tagging(self):
        self.set_up_system("copymtl_one")
        batch = Batch(self.instances)
        batch.index_instances(self.vocab)
        tensors = batch.as_tensor_dict()
        self.model.train()
        torch.manual_seed(0)
        total = self.model(**tensors)["loss"]
        mask = tensors["source_tokens"]["tokens"]["tokens"] != 0
        encoder_outputs, _ = self.model.encoder.forward_with_state(self.model.source_embedder(tensors["source_tokens"]), mask)
        emissions = self.model.tagging_head(encoder_outputs)
        tagging = -self.model.tagging_head.crf(emissions, tensors["entity_tags"], mask) / len(self.instances)
        self.model.tagging_head = None
        decoder_only = self.model(**tensors)["loss"]
        assert total.item() == pytest.approx(decoder_only.item() + tagging.item(), rel=1e-5)

    def test_human_readable_output(self):
        self.set_up_system("copymtl_one")
        self.model.eval()
        output = self.model.forward_on_instances(self.instances[:2])
        for sentence in output:
            assert set(sentence) == {"tokens", "triplets", "entity_tags"}
            assert len(sentence["entity_tags"]) == len(sentence["tokens"])
            for triplet in sentence["triplets"]:
                assert set(triplet) == {"head", "head_span", "relation", "tail", "tail_span"}
                start, end = triplet["head_span"]
                assert triplet["head"] == " ".join(sentence["tokens"][start:end])

    @pytest.mark.parametrize("system", ["copymtl_one", "copyre_prime5", "copyre_mul"])
    def test_beam_search_of_width_one_gives_the_greedy_predictions(self, system):
        self.set_up_system(system)
        self.model.eval()
        keys = ("predicted_relations", "predicted_head_starts", "predicted_head_ends", "predicted_tail_starts", "predicted_tail_ends")
        batch = Batch(self.instances)
        batch.index_instances(self.vocab)
        tensors = batch.as_tensor_dict()
        with torch.no_grad():
            self.model.decoder.na_scorer.bias.fill_(-3.0)  # an untrained model predicts triplets
            greedy = self.model(**tensors)
            # the search path with a beam of one: AllenNLP's BeamSearch, then entity completion
            self.model._search = lambda *args: self.model.decoder.beam_search(*args, 1)
            self.model.beam_size = 2  # takes the search path; _search above searches with width 1
            searched = self.model(**tensors)
        assert searched["triplets"] == greedy["triplets"]
        assert any(greedy["triplets"])  # (the untrained model predicts something to compare)
        for key in keys:
            assert searched[key].tolist() == greedy[key].tolist(), key
        assert searched["loss"].item() == pytest.approx(greedy["loss"].item())

    def test_decoding_switches_change_a_built_model_at_inference(self):
        self.set_up_system("copymtl_one")
        self.model.eval()
        batch = Batch(self.instances)
        batch.index_instances(self.vocab)
        tensors = batch.as_tensor_dict()
        self.model.max_decoding_triplets = 8
        with torch.no_grad():
            assert self.model(**tensors)["predicted_relations"].shape == (len(self.instances), 8)
            self.model.beam_size = 3
            output = self.model(**tensors)
        assert output["predicted_relations"].shape == (len(self.instances), 8)
        assert len(output["triplets"]) == len(self.instances) and "loss" in output
        assert "f1" in self.model.get_metrics(reset=True)

    def test_word_dropout_reads_the_same_tokens_as_unknown_for_every_indexer_in_training_only(self):
        self.set_up_system("copymtl_glove_trainable_characters")
        batch = Batch(self.instances)
        batch.index_instances(self.vocab)
        tokens = batch.as_tensor_dict()["source_tokens"]
        mask = util.get_text_field_mask(tokens)
        self.model.word_dropout = 0.5
        self.model.train()
        torch.manual_seed(0)
        dropped = self.model._drop_words(tokens, mask)
        unknown = self.vocab.get_token_index("@@UNKNOWN@@", "tokens")
        changed = dropped["tokens"]["tokens"] != tokens["tokens"]["tokens"]
        assert changed.any() and (changed & ~mask).sum() == 0  # padding stays padding
        assert (dropped["tokens"]["tokens"][changed] == unknown).all()
        assert torch.equal(changed, dropped["trainable_tokens"]["tokens"] != tokens["trainable_tokens"]["tokens"])
        assert torch.equal(dropped["token_characters"]["token_characters"], tokens["token_characters"]["token_characters"])
        # about half of the tokens
        assert 0.3 < changed.sum().item() / mask.sum().item() < 0.7
        self.model.eval()
        assert self.model._drop_words(tokens, mask) is tokens

    def test_metrics_only_in_evaluation(self):
        self.set_up_system("copymtl_one")
        self.model.train()
        assert self.model.get_metrics() == {}
        self.model.eval()
        metrics = self.model.get_metrics()
        assert {"f1", "lenient_f1", "relation_f1", "entity_f1", "swaps", "tagging_f1"} <= set(metrics)


def test_configuration_errors():
    base = Params.from_file(str(CONFIG)).as_dict()["model"]
    from allennlp.data import Vocabulary

    vocab = Vocabulary({"entity_tags": {"B": 1, "I": 1, "O": 1}, "relation_labels": {"r": 1}}, non_padded_namespaces=["*labels", "*tags"])
    bad_models = [
        ({"encoder": {"type": "pass_through", "input_dim": 8}}, "averaged_bidirectional"),
        ({"feeding": "teacher"}, "feeding"),
        ({"gold_ratio": 1.5}, "gold_ratio"),
        ({"max_entity_length": 4}, "one way to complete entities"),
        ({"copy_scorer": "bilinear"}, "Eq. 3"),
        ({"num_decoders": 3}, "num_decoders"),
        ({"na_loss": "none"}, "na_loss"),
        ({"beam_size": 0}, "beam_size"),
        ({"max_decoding_triplets": 0}, "max_decoding_triplets"),
        ({"word_dropout": 1.0}, "word_dropout"),
        ({"num_decoders": 5, "max_decoding_triplets": 7}, "OneDecoder"),
        ({"entity_starts": "length"}, "needs max_entity_length"),
        ({"tagging_head": False, "entity_starts": "tags"}, "needs tagging_head"),
        ({"max_entity_length": 4, "entity_starts": "first"}, "entity_starts must be one of"),
    ]
    for override, message in bad_models:
        params = copy.deepcopy(base)
        params.update(override)
        with pytest.raises(ConfigurationError, match=message):
            Model.from_params(vocab=vocab, params=Params(params))
