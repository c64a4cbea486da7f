"""docs/model.md states where the model departs from the paper; the facts it states hold in the code."""
import torch
from allennlp.data import Vocabulary

from copymtl_allennlp.modules.step_attention import StepAdditiveAttention
from copymtl_allennlp.modules.tagging_head import TaggingHead
from tests.conftest import ROOT

MODEL_MD = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_attention_is_additive_without_a_bias_and_docs_say_so():
    attention = StepAdditiveAttention(vector_dim=3, matrix_dim=4)
    assert {name for name, _ in attention.named_parameters()} == {"_w_matrix", "_u_matrix", "_v_vector"}
    assert "`v · tanh(W h_t + U o_i)` (no bias term" in _flat(MODEL_MD)
    assert "one linear layer over the concatenation `[h_t; o_i]`" in _flat(MODEL_MD)


def test_the_crf_has_start_and_end_transitions_and_docs_say_so():
    vocab = Vocabulary({"entity_tags": {"B": 1, "I": 1, "O": 1}}, non_padded_namespaces=["entity_tags"])
    head = TaggingHead(vocab, input_dim=4)
    assert head.crf.include_start_end_transitions
    assert isinstance(head.crf.start_transitions, torch.nn.Parameter)
    assert "with its start and end transitions" in _flat(MODEL_MD)


def test_docs_say_how_evaluation_decodes_and_what_dropout_does():
    flat = _flat(MODEL_MD)
    assert "Evaluation always decodes greedily" not in flat
    assert "by beam search with a larger one" in flat
    assert "drops embedding units before the encoder and encoder outputs" in flat
    assert "The vocabulary (words, characters, relations, tags) is built from the training data alone" in flat
