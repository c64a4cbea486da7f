"""One test per private or undocumented part of torch and AllenNLP the package relies on
(copymtl_allennlp/compat.py): an upgrade that changes one fails here, in the test that names it."""
import inspect

import pytest
import torch
from allennlp.data import Vocabulary
from allennlp.data.fields import LabelField
from allennlp.modules import ConditionalRandomField
from allennlp.modules.conditional_random_field import allowed_transitions
from allennlp.modules.text_field_embedders import BasicTextFieldEmbedder
from allennlp.modules.token_embedders import Embedding

from copymtl_allennlp import compat


@pytest.mark.skipif(not compat.onednn_packed_linear_available(), reason="this torch has no oneDNN packed linear (the plain matmul runs)")
def test_torch_ops_mkldnn_packed_linear_is_x_times_weight_transposed():
    torch.manual_seed(0)
    weight, x = torch.randn(8, 5), torch.randn(3, 5)
    assert torch.allclose(compat.onednn_packed_linear(weight, 3)(x), x @ weight.t(), atol=1e-5)


def test_torch_lstm_positional_signature_is_one_layer_of_torch_nn_lstm():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(4, 3)
    inputs, h0, c0 = torch.randn(5, 2, 4), torch.randn(1, 2, 3), torch.randn(1, 2, 3)
    expected, (h, c) = lstm(inputs, (h0, c0))
    weights = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0]
    outputs, h_n, c_n = compat.fused_lstm(inputs, (h0, c0), weights, False)
    assert torch.allclose(outputs, expected, atol=1e-6) and torch.allclose(h_n, h, atol=1e-6) and torch.allclose(c_n, c, atol=1e-6)


def test_crf_constraint_mask_holds_the_allowed_transitions_with_start_and_end_last():
    labels = {0: "B", 1: "I", 2: "O"}
    crf = ConditionalRandomField(3, constraints=allowed_transitions("BIO", labels))
    mask = compat.crf_constraint_mask(crf)
    assert mask.shape == (5, 5)
    assert mask[2, 1] == 0 and mask[0, 1] == 1  # O -> I forbidden, B -> I allowed
    assert mask[3, 1] == 0 and mask[3, 0] == 1  # start -> I forbidden, start -> B allowed


def test_basic_text_field_embedder_keeps_its_token_embedders_by_key_as_token_embedder_modules():
    first, second = Embedding(embedding_dim=2, num_embeddings=3), Embedding(embedding_dim=2, num_embeddings=3, vocab_namespace="pos_tokens")
    embedder = BasicTextFieldEmbedder({"tokens": first, "pos_tags": second})
    assert compat.token_embedders(embedder) == {"tokens": first, "pos_tags": second}
    assert dict(embedder.named_children()) == {compat.EMBEDDER_MODULE_PREFIX + "tokens": first, compat.EMBEDDER_MODULE_PREFIX + "pos_tags": second}


def test_embedding_keeps_its_vocabulary_namespace():
    vocab = Vocabulary({"pos_tokens": {"NN": 1}})
    assert compat.embedding_namespace(Embedding(embedding_dim=2, vocab=vocab, vocab_namespace="pos_tokens")) == "pos_tokens"


def test_vocabulary_namespaces_can_be_truncated_and_name_their_unknown_word():
    vocab = Vocabulary({"relation_labels": {"a": 3, "b": 2, "c": 1}}, non_padded_namespaces=["*labels"])
    compat.truncate_namespace(vocab, "relation_labels", 2)
    assert vocab.get_index_to_token_vocabulary("relation_labels") == {0: "a", 1: "b"}
    assert vocab.get_token_to_index_vocabulary("relation_labels") == {"a": 0, "b": 1}
    assert compat.oov_token(vocab) == "@@UNKNOWN@@"


def test_label_field_keeps_its_index_and_namespace():
    field = LabelField("r", label_namespace="relation_labels")
    assert compat.label_field_state(field) == (None, "relation_labels")
    compat.set_label_id(field, -2)
    assert field.as_tensor(field.get_padding_lengths()).item() == -2


def test_moving_average_keeps_its_parameters_and_shadows_by_name():
    from allennlp.training.moving_average import ExponentialMovingAverage

    linear = torch.nn.Linear(2, 1)
    average = ExponentialMovingAverage(list(linear.named_parameters()), decay=0.5)
    names, shadows = compat.moving_average_shadows(average)
    assert names == ["weight", "bias"] and set(shadows) == {"weight", "bias"}
    before = linear.weight.detach().clone()
    with torch.no_grad():
        linear.weight.add_(2.0)
    average.apply()
    assert torch.allclose(shadows["weight"], before + 1.0)  # the live shadow: 0.5 old + 0.5 new
    average.assign_average_value()
    assert torch.allclose(linear.weight, before + 1.0)  # the averages assigned from the live shadows


def test_gradient_descent_trainer_counts_epochs_where_random_state_reads_them():
    from allennlp.training.gradient_descent_trainer import GradientDescentTrainer

    source = inspect.getsource(GradientDescentTrainer)
    for name in ("self._epochs_completed", "self._start_after_epochs_completed", "self.data_loader"):
        assert name in source, f"GradientDescentTrainer no longer has {name}"

    class Trainer:
        _epochs_completed, _start_after_epochs_completed = 3, 2

    assert compat.trainer_epochs(Trainer()) == (3, 2)


def test_from_params_reads_a_synthesized_signature():
    from allennlp.common import FromParams
    from allennlp.common.from_params import infer_method_params

    def make(cls, **kwargs):
        return cls()

    signature = inspect.Signature([
        inspect.Parameter("cls", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("size", inspect.Parameter.KEYWORD_ONLY, default=1, annotation=int),
    ])
    compat.set_signature(make, signature)
    assert list(infer_method_params(FromParams, make)) == ["cls", "size"]


def test_predict_manager_keeps_its_input_file():
    from allennlp.commands.predict import _PredictManager

    assert "self._input_file" in inspect.getsource(_PredictManager)
    manager = _PredictManager.__new__(_PredictManager)
    manager._input_file = "data.jsonl"

    def method_of(self):  # a _PredictManager method's frame, one frame above the helper's caller
        return helper()

    def helper():
        return compat.predict_input_file_of_caller(1)

    assert method_of(manager) == "data.jsonl"
    manager._input_file = "-"
    assert method_of(manager) is None
    assert method_of(object()) is None


def test_sequence_label_field_keeps_its_indices_and_namespace_and_labels_can_be_replaced():
    from allennlp.data import Token, Vocabulary
    from allennlp.data.fields import SequenceLabelField, TextField

    text = TextField([Token("a"), Token("b")])
    field = SequenceLabelField(["X", "Y"], text, label_namespace="novel_tags")
    assert compat.sequence_label_field_state(field) == (None, "novel_tags")
    compat.set_sequence_labels(field, ["O", "O"])
    vocab = Vocabulary({"novel_tags": {"O": 1}}, non_padded_namespaces=["novel_tags"])
    field.index(vocab)
    assert compat.sequence_label_field_state(field)[0] == [0, 0]
