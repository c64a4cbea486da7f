import math

import pytest
import torch
from allennlp.common.testing import ModelTestCase
from allennlp.data import Batch, Vocabulary

from copymtl_allennlp.data.triplets import Triplet
from copymtl_allennlp.data.namespaces import NOVEL_TAG_NAMESPACE
from copymtl_allennlp.dataset_readers.novel_tagging import NovelTaggingDatasetReader
from copymtl_allennlp.modules import cpu_lstm
from copymtl_allennlp.modules.lstm_tag_decoder import LstmTagDecoder
from tests.conftest import FIXTURES

CONFIG = FIXTURES / "configs" / "novel_tagging_tiny.jsonnet"
DATA = FIXTURES / "data" / "sentences.jsonl"


class TestNovelTagging(ModelTestCase):
    def setup_method(self):
        super().setup_method()
        self.set_up_model(CONFIG, DATA)

    def test_train_save_load_and_every_gradient(self):
        self.ensure_model_can_train_save_and_load(self.param_file)

    def test_batch_predictions_are_consistent(self):
        self.ensure_batch_predictions_are_consistent()

    def test_bias_loss_by_hand(self):
        model = self.model
        outside = model._outside
        other = next(i for i in range(model.num_tags) if i != outside)
        # one sentence of 3 tokens (the last is padding), 2 tags scored uniformly but one
        scores = torch.zeros(1, 3, model.num_tags)
        scores[0, 0, other] = math.log(3.0)  # p(other) = 3 / (num_tags + 2)
        tags = torch.tensor([[other, outside, outside]])
        mask = torch.tensor([[True, True, False]])
        loss = model.bias_loss(scores, tags, mask)
        n = model.num_tags
        expected = -(model.bias_weight * math.log(3 / (n + 2)) + 1.0 * math.log(1 / n))
        assert loss.item() == pytest.approx(expected, rel=1e-6)

    def test_predictions_are_triplets_of_the_predicted_tags(self):
        self.model.eval()
        output = self.model.forward_on_instances(self.instances[:3])
        for sentence in output:
            assert len(sentence["novel_tags"]) == len(sentence["tokens"])
            for triplet in sentence["triplets"]:
                start, end = triplet["head_span"]
                assert triplet["head"] == " ".join(sentence["tokens"][start:end])
                assert all(tag.endswith("-1") and triplet["relation"] in tag for tag in sentence["novel_tags"][start:end])


@pytest.mark.parametrize("run", ["cpu_kernels", "torch_lstm"])
def test_decoder_is_the_papers_step_with_the_tag_vector_fed_back(run, monkeypatch):
    torch.manual_seed(0)
    decoder = LstmTagDecoder(input_size=4, hidden_size=5, tag_vector_dim=3, num_tags=6)
    if run == "torch_lstm":
        # the GPU path (torch's LSTM on the folded weights), run here on the CPU
        monkeypatch.setattr(cpu_lstm, "uses_cpu_kernels", lambda tensor: False)
    inputs = torch.randn(2, 4, 4)
    mask = torch.tensor([[True] * 4, [True, True, True, False]])
    scores = decoder(inputs, mask)
    assert scores.shape == (2, 4, 6)
    # by hand, the literal cell: it reads [h_t; T_{t-1}], T_t = W_ts h^d_t + b_ts, y_t = W_y T_t + b_y,
    # from the zero state (whose tag vector is b_ts)
    state = memory = torch.zeros(2, 5)
    tag_vector = decoder.tag_vector(state)
    for t in range(4):
        state, memory = decoder.cell(torch.cat([inputs[:, t], tag_vector], -1), (state, memory))
        tag_vector = decoder.tag_vector(state)
        real = mask[:, t]
        assert torch.allclose(scores[real, t], decoder.tag_scores(tag_vector)[real], atol=1e-5)
    # gradients reach every parameter through the folded weights
    scores[mask].sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in decoder.parameters())
    # a later token does not change an earlier token's scores (padding at the end is harmless)
    longer = torch.cat([inputs, torch.randn(2, 3, 4)], dim=1)
    longer_mask = torch.cat([torch.ones(2, 4, dtype=torch.bool), torch.ones(2, 3, dtype=torch.bool)], dim=1)
    assert torch.allclose(decoder(longer, longer_mask)[:, :4][mask], scores[mask], atol=1e-5)


def test_reader_counts_what_the_scheme_loses_and_reads_unknown_relations_as_outside(caplog):
    reader = NovelTaggingDatasetReader()
    instances = list(reader.read(str(DATA)))
    for instance in instances:
        reader.apply_token_indexers(instance)
    assert "gold triplets the tagging scheme cannot express" in caplog.text
    # gold for the metric keeps every triplet, tagged or not
    assert sum(len(i["metadata"]["gold_triplets"]) for i in instances) == 17
    vocab = Vocabulary.from_instances(instances[:1])
    unseen = reader.text_to_instance(["Ann", "met", "Bob"], [Triplet("never_seen", (0, 1), (2, 3))])
    reader.apply_token_indexers(unseen)
    batch = Batch([unseen])
    batch.index_instances(vocab)
    tensors = batch.as_tensor_dict()
    outside = vocab.get_token_index("O", NOVEL_TAG_NAMESPACE)
    assert tensors["tags"].tolist() == [[outside] * 3]


def test_the_decoder_has_no_hidden_modules():
    """Everything the decoder holds is in its module tree: .to() and state_dict see it all."""
    decoder = LstmTagDecoder(input_size=4, hidden_size=5, tag_vector_dim=3, num_tags=6)
    assert not [name for name, value in vars(decoder).items() if isinstance(value, torch.nn.Module)]
    assert set(decoder.state_dict()) == {f"{m}.{p}" for m, p in [
        ("cell", "weight_ih"), ("cell", "weight_hh"), ("cell", "bias_ih"), ("cell", "bias_hh"),
        ("tag_vector", "weight"), ("tag_vector", "bias"), ("tag_scores", "weight"), ("tag_scores", "bias"),
    ]}
