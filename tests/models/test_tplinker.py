import json
import math

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.testing import ModelTestCase
from allennlp.data import Vocabulary
from allennlp.models import Model

from copymtl_allennlp.data.triplets import Triplet
from copymtl_allennlp.dataset_readers.table_filling import TableFillingDatasetReader, handshaking_collisions
from copymtl_allennlp.models.table_filling import masked_cross_entropy
from copymtl_allennlp.modules.handshaking import decode_handshaking, handshaking_tags, pair_index
from tests.conftest import FIXTURES, assert_allennlp_predict_matches_the_api, fit_and_decode, tiny_model_in_evaluation

CONFIG = FIXTURES / "configs" / "tplinker_tiny.jsonnet"
DATA = FIXTURES / "data" / "sentences.jsonl"


def test_pair_index_is_the_upper_triangle_in_row_order():
    assert pair_index(3, torch.device("cpu")).tolist() == [[0, 1, 2], [-1, 3, 4], [-1, -1, 5]]


# a 6-token sentence, relations 0 and 1:
# (0, head [0, 2), tail [3, 4)): a two-token head, a single-token tail after it
# (1, head [3, 4), tail [0, 2)): the same entities, the other way round (one entity in two triplets)
# (0, head [5, 6), tail [0, 1)): the tail nested in the first head, the head after the tail
SENTENCE = [(0, (0, 2), (3, 4)), (1, (3, 4), (0, 2)), (0, (5, 6), (0, 1))]


def tags_of(triplets, seq_len=6, num_relations=2):
    relations = torch.tensor([[r for r, _, _ in triplets]])
    spans = torch.tensor([[[*h, *t] for _, h, t in triplets]])
    return handshaking_tags(relations, spans, seq_len, num_relations)


def test_handshaking_tags_by_hand():
    entity, head, tail = tags_of(SENTENCE)
    index = pair_index(6, torch.device("cpu"))
    # entities: [0, 1], [3, 3], [5, 5], [0, 0]
    expected_entities = {index[0, 1].item(), index[3, 3].item(), index[5, 5].item(), index[0, 0].item()}
    assert set(entity[0].nonzero().flatten().tolist()) == expected_entities
    # head links: r0 SH-OH (0, 3); r1 OH-SH at (0, 3) (head 3 after tail 0); r0 OH-SH at (0, 5)
    assert {(p, r, head[0, p, r].item()) for p, r in head[0].nonzero().tolist()} == {
        (index[0, 3].item(), 0, 1), (index[0, 3].item(), 1, 2), (index[0, 5].item(), 0, 2),
    }
    # tail links: r0 ST-OT (1, 3); r1 OT-ST at (1, 3); r0 OT-ST at (0, 5)
    assert {(p, r, tail[0, p, r].item()) for p, r in tail[0].nonzero().tolist()} == {
        (index[1, 3].item(), 0, 1), (index[1, 3].item(), 1, 2), (index[0, 5].item(), 0, 2),
    }


def test_decoding_the_gold_tags_gives_the_triplets_back():
    assert sorted(decode_handshaking(*tags_of(SENTENCE), lengths=[6])[0]) == sorted(SENTENCE)
    # a single-token head and tail at one position (head = tail span), and overlapping spans
    more = [(1, (2, 2 + 1), (2, 3)), (0, (1, 4), (2, 5))]
    assert sorted(decode_handshaking(*tags_of(more), lengths=[6])[0]) == sorted(more)


def test_decoding_by_hand_needs_both_links_and_both_entities():
    entity, head, tail = tags_of(SENTENCE)
    index = pair_index(6, torch.device("cpu"))
    # without its tail link, the first triplet is not decoded
    tail[0, index[1, 3], 0] = 0
    assert (0, (0, 2), (3, 4)) not in decode_handshaking(entity, head, tail, [6])[0]
    # an entity the entity tags lack breaks every triplet that uses it
    entity, head, tail = tags_of(SENTENCE)
    entity[0, index[3, 3]] = 0
    assert decode_handshaking(entity, head, tail, [6])[0] == [(0, (5, 6), (0, 1))]
    # tags past a sentence's length are ignored
    assert decode_handshaking(*tags_of(SENTENCE), lengths=[5])[0] == [(0, (0, 2), (3, 4)), (1, (3, 4), (0, 2))]


def test_collisions_are_counted_and_the_larger_tag_stays():
    # relation 0 both ways between starts 0 and 3: one head cell, two directions
    clash = [(0, (0, 1), (3, 4)), (0, (3, 4), (0, 1))]
    _, head, _ = tags_of(clash)
    assert head[0, pair_index(6, torch.device("cpu"))[0, 3], 0].item() == 2
    assert handshaking_collisions([Triplet("r", h, t) for _, h, t in clash]) == 2
    assert handshaking_collisions([Triplet(str(r), h, t) for r, h, t in SENTENCE]) == 0


def test_unseen_relations_padding_and_spans_past_the_table_mark_nothing():
    relations = torch.tensor([[-2, -1, 0]])
    spans = torch.tensor([[[0, 1, 2, 3], [0, 0, 0, 0], [4, 8, 0, 1]]])  # the last reaches past 6 tokens
    entity, head, tail = handshaking_tags(relations, spans, 6, 2)
    assert entity.sum() == head.sum() == tail.sum() == 0


def test_loss_weights_by_hand():
    data = list(TableFillingDatasetReader().read(str(DATA)))
    vocab = Vocabulary.from_instances(data)
    params = Params.from_file(str(CONFIG)).pop("model")
    model = Model.from_params(vocab=vocab, params=params)
    r = vocab.get_vocab_size("relation_labels")
    z = 2 * r + 1
    # step 0: the entity tags weigh 1 + 1/z, the relations nothing; after S = 4 steps: 1/z and r/z
    assert model.loss_weights() == pytest.approx((1 + 1 / z, 0.0))
    model.training_steps.fill_(2)
    assert model.loss_weights() == pytest.approx((1 / z + 0.5, r / z / 2))
    model.training_steps.fill_(40)
    assert model.loss_weights() == pytest.approx((1 / z, r / z))


def test_the_cell_loss_by_hand_weighs_the_rare_tags():
    # three cells: O, SH-OH, and padding
    scores = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 9.0]]])
    tags = torch.tensor([[0, 1, 2]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    o_loss = -torch.log_softmax(scores[0, 0], -1)[0].item()
    link_loss = -torch.log_softmax(scores[0, 1], -1)[1].item()
    assert masked_cross_entropy(scores, tags, mask).item() == pytest.approx((o_loss + link_loss) / 2)
    assert masked_cross_entropy(scores, tags, mask, positive_weight=10.0).item() == pytest.approx((o_loss + 10 * link_loss) / 11)


class TestTPLinker(ModelTestCase):
    def test_train_save_load_every_gradient_and_batch_consistency(self):
        self.set_up_model(CONFIG, DATA)
        # the loss weights fully recovered after one step: the loss does not change with the steps
        # the gradient check takes
        self.ensure_model_can_train_save_and_load(self.param_file, overrides=json.dumps({"model.loss_weight_recover_steps": 1}))
        self.ensure_batch_predictions_are_consistent()

    @pytest.mark.parametrize("positive_weight", [10.0, 1.0])
    def test_learns_the_fixture_corpus_with_the_positive_weight(self, positive_weight):
        # 600 steps on 8 sentences: with the rare tags weighted 10 the model reproduces the corpus;
        # the paper's plain average (weight 1) leaves every cell O (the class imbalance)
        self.set_up_model(CONFIG, DATA)
        torch.manual_seed(0)
        params = Params.from_file(str(CONFIG)).pop("model")
        params["positive_weight"] = positive_weight
        model = Model.from_params(vocab=self.vocab, params=params)
        output = fit_and_decode(model, self.instances, self.vocab, steps=600)
        if positive_weight == 1.0:
            assert output["triplets"] == [[] for _ in self.instances]
        else:
            assert model.get_metrics()["f1"] > 0.9


def fixture_model(**model_params):
    """The tiny config's model (``model_params`` changed) in evaluation mode, the fixture corpus and
    its tensors."""
    return tiny_model_in_evaluation(CONFIG, TableFillingDatasetReader(), **model_params)


def favour_links(model, bias: float) -> None:
    """Sets the bias of the first link tag of every tagger (the entity tag, and SH-to-OH / ST-to-OT
    of every relation) to ``bias``, the rest of the biases as they are."""
    with torch.no_grad():
        for tagger in (model.entity_tagger, model.head_tagger, model.tail_tagger):
            tagger.bias.view(-1, tagger.out_features if tagger is model.entity_tagger else 3)[:, 1] = bias


def test_long_sentences_are_decoded_on_their_first_tokens_and_counted():
    model, data, tensors = fixture_model(max_table_length=5)
    output = model(**tensors)
    for triplets in output["triplets"]:
        assert all(t.head[1] <= 5 and t.tail[1] <= 5 for t in triplets)
    longer = sum(len(i["source_tokens"]) > 5 for i in data)
    assert model.get_metrics(reset=True)["truncated_sentences"] == longer > 0


def test_allennlp_predict_and_python_api(tmp_path, monkeypatch):
    assert_allennlp_predict_matches_the_api(CONFIG, tmp_path, monkeypatch)


def test_decoding_stops_at_max_triplets_a_sentence():
    # every pair an entity, every link tagged both ways: 21 spans, hundreds of triplets
    seq_len, relations = 6, 2
    num_pairs = seq_len * (seq_len + 1) // 2
    entity = torch.ones(1, num_pairs, dtype=torch.long)
    head = torch.ones(1, num_pairs, relations, dtype=torch.long)
    tail = torch.ones(1, num_pairs, relations, dtype=torch.long)
    everything = decode_handshaking(entity, head, tail, [seq_len])[0]
    assert len(everything) > 100
    capped = decode_handshaking(entity, head, tail, [seq_len], max_triplets=7)[0]
    assert len(capped) == 7 and set(capped) <= set(everything)
    # a sentence under the cap keeps all its triplets
    assert sorted(decode_handshaking(*tags_of(SENTENCE), lengths=[6], max_triplets=3)[0]) == sorted(SENTENCE)


def test_an_untrained_model_decodes_at_most_max_decoded_triplets_and_counts_the_capped_sentences():
    model, data, tensors = fixture_model(max_decoded_triplets=2)
    favour_links(model, 100.0)  # links everywhere: every cell's SH-to-OH / ST-to-OT tag wins
    output = model(**tensors)
    assert all(len(triplets) == 2 for triplets in output["triplets"])
    assert model.get_metrics(reset=True)["capped_sentences"] == len(data)
    assert "capped_sentences" not in model.get_metrics(reset=True)


def test_decoding_o_weight_by_hand():
    model, _, _ = fixture_model(decoding_o_weight=4.0)
    # cells: O at 0 against a link at log 3 (O's probability x 4 beats it), O at 0 against a link at
    # log 5 (the link stays), a reverse link at log 3 against a forward one at log 2 (O stays lowest)
    scores = torch.tensor([[0.0, math.log(3.0), -9.0], [0.0, math.log(5.0), -9.0], [-9.0, 2.0, 3.0]])
    assert model.decoded_tags(scores).tolist() == [0, 1, 2]
    assert fixture_model()[0].decoded_tags(scores).tolist() == [1, 1, 2]


def test_decoding_o_weight_only_changes_decoding_and_must_be_positive():
    model, _, tensors = fixture_model()
    favour_links(model, 3.0)  # links favoured in every cell, by e^3 against O
    before = model(**tensors)
    assert any(before["triplets"])
    loss = before["loss"]
    model.decoding_o_weight = 1e6
    output = model(**tensors)
    assert output["loss"] == loss
    assert output["triplets"] == [[] for _ in output["triplets"]]
    with pytest.raises(ConfigurationError, match="decoding_o_weight"):
        fixture_model(decoding_o_weight=0.0)
