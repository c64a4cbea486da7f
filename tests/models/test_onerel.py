import json

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.testing import ModelTestCase
from allennlp.models import Model

from copymtl_allennlp.data.triplets import Triplet
from copymtl_allennlp.dataset_readers.table_filling import TableFillingDatasetReader, horns_ambiguities
from copymtl_allennlp.models.table_filling import masked_cross_entropy
from copymtl_allennlp.modules.horns_tagging import HB_TB, HB_TE, HE_TE, NUM_HORNS_TAGS, decode_horns, horns_tags
from copymtl_allennlp.modules.precision import flush_subnormal_gradient
from tests.conftest import FIXTURES, assert_allennlp_predict_matches_the_api, fit_and_decode, tiny_model_in_evaluation

CONFIG = FIXTURES / "configs" / "onerel_tiny.jsonnet"
DATA = FIXTURES / "data" / "sentences.jsonl"

# a 6-token sentence, relations 0 and 1 (spans half-open):
# (0, head [0, 2), tail [3, 4)): a two-token head, a single-token tail after it
# (1, head [3, 4), tail [0, 2)): the same entities the other way round (one entity in two triplets)
# (0, head [5, 6), tail [0, 1)): single-token head and tail, the tail nested in the first head
# (1, head [0, 4), tail [1, 2)): a head that holds its single-token tail (nested spans)
SENTENCE = [(0, (0, 2), (3, 4)), (1, (3, 4), (0, 2)), (0, (5, 6), (0, 1)), (1, (0, 4), (1, 2))]


def tags_of(triplets, seq_len=6, num_relations=2):
    relations = torch.tensor([[r for r, _, _ in triplets]])
    spans = torch.tensor([[[*h, *t] for _, h, t in triplets]])
    return horns_tags(relations, spans, seq_len, num_relations)


def cells(tags):
    """The tagged cells of one sentence's tags as {(head token, tail token, relation): tag}."""
    return {tuple(cell): tags[0][tuple(cell)].item() for cell in tags[0].nonzero().tolist()}


def test_horns_tags_by_hand():
    assert cells(tags_of(SENTENCE)) == {
        # first triplet: HB-TB and HB-TE share (0, 3) (single-token tail), HE-TE at (1, 3)
        (0, 3, 0): HB_TB | HB_TE, (1, 3, 0): HE_TE,
        # second: HB-TB at (3, 0); HB-TE and HE-TE share (3, 1) (single-token head)
        (3, 0, 1): HB_TB, (3, 1, 1): HB_TE | HE_TE,
        # third: all three horns in one cell
        (5, 0, 0): HB_TB | HB_TE | HE_TE,
        # fourth: HB-TB and HB-TE at (0, 1); its HE-TE at (3, 1) is the second triplet's too
        (0, 1, 1): HB_TB | HB_TE,
    }


def test_decoding_the_gold_tags_gives_the_triplets_back():
    assert sorted(decode_horns(tags_of(SENTENCE), [6])[0]) == sorted(SENTENCE)
    # a single-token head and tail at one position (head = tail span), overlapping spans
    more = [(1, (2, 3), (2, 3)), (0, (1, 4), (2, 5))]
    assert sorted(decode_horns(tags_of(more), [6])[0]) == sorted(more)


def test_decoding_by_hand_needs_every_horn():
    # without its HE-TE, the first triplet is not decoded; the others are
    tags = tags_of(SENTENCE)
    tags[0, 1, 3, 0] = 0
    assert sorted(decode_horns(tags, [6])[0]) == sorted(SENTENCE[1:])
    # without its HB-TE bit (HB-TB kept), the third is not decoded
    tags = tags_of(SENTENCE)
    tags[0, 5, 0, 0] = HB_TB | HE_TE
    assert (0, (5, 6), (0, 1)) not in decode_horns(tags, [6])[0]
    # the nearest ends: an extra HB-TE after the first triplet's tail and an extra HE-TE below its
    # head end change nothing
    tags = tags_of(SENTENCE)
    tags[0, 0, 5, 0] = HB_TE
    tags[0, 4, 3, 0] = HE_TE
    assert (0, (0, 2), (3, 4)) in decode_horns(tags, [6])[0]
    # tags past a sentence's length are ignored: the third triplet's head is token 5
    assert sorted(decode_horns(tags_of(SENTENCE), [5])[0]) == sorted(t for t in SENTENCE if t[1] != (5, 6))


def test_ambiguous_rectangles_are_counted():
    # one relation, one head begin, two tails whose ends cross: the first HB-TB finds the nearer
    # HB-TE, which is the other triplet's
    crossing = [(0, (0, 1), (2, 4)), (0, (0, 1), (3, 5))]
    decoded = decode_horns(tags_of(crossing), [6])[0]
    assert sorted(decoded) == [(0, (0, 1), (2, 4)), (0, (0, 1), (3, 4))]
    assert horns_ambiguities([Triplet("r", h, t) for _, h, t in crossing]) == 1
    assert horns_ambiguities([Triplet(str(r), h, t) for r, h, t in SENTENCE]) == 0
    assert horns_ambiguities([]) == 0


def test_unseen_relations_padding_and_spans_past_the_table_mark_nothing():
    relations = torch.tensor([[-2, -1, 0]])
    spans = torch.tensor([[[0, 1, 2, 3], [0, 0, 0, 0], [4, 8, 0, 1]]])  # the last reaches past 6 tokens
    assert horns_tags(relations, spans, 6, 2).sum() == 0


def test_decoding_stops_at_max_triplets_a_sentence():
    everywhere = torch.full((1, 6, 6, 2), HB_TB | HB_TE | HE_TE)
    everything = decode_horns(everywhere, [6])[0]
    assert len(everything) == 6 * 6 * 2  # every cell a start, its own corner both ends
    capped = decode_horns(everywhere, [6], max_triplets=7)[0]
    assert capped == everything[:7]


def test_the_cell_loss_by_hand_in_both_layouts():
    # three cells, tags last: O, a horn, padding
    scores = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 9.0]]])
    tags = torch.tensor([[0, 1, 2]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    o_loss = -torch.log_softmax(scores[0, 0], -1)[0].item()
    horn_loss = -torch.log_softmax(scores[0, 1], -1)[1].item()
    assert masked_cross_entropy(scores, tags, mask).item() == pytest.approx((o_loss + horn_loss) / 2)
    assert masked_cross_entropy(scores, tags, mask, 10.0).item() == pytest.approx((o_loss + 10 * horn_loss) / 11)
    # the same cells with the classes on dimension 1: scores (1, classes, cells)
    assert masked_cross_entropy(scores.transpose(1, 2), tags, mask, 10.0, class_dim=1).item() == pytest.approx(
        (o_loss + 10 * horn_loss) / 11
    )


def test_subnormal_gradients_are_flushed():
    scores = torch.zeros(3, requires_grad=True)
    flush_subnormal_gradient(scores).backward(torch.tensor([1e-40, -1e-39, 1e-30]))
    assert scores.grad.tolist() == [0.0, 0.0, pytest.approx(1e-30)]


class TestOneRel(ModelTestCase):
    def test_train_save_load_every_gradient_and_batch_consistency(self):
        self.set_up_model(CONFIG, DATA)
        self.ensure_model_can_train_save_and_load(self.param_file)
        self.ensure_batch_predictions_are_consistent()

    def test_learns_the_fixture_corpus(self):
        self.set_up_model(CONFIG, DATA)
        torch.manual_seed(0)
        model = Model.from_params(vocab=self.vocab, params=Params.from_file(str(CONFIG)).pop("model"))
        fit_and_decode(model, self.instances, self.vocab, steps=600)
        assert model.get_metrics()["f1"] > 0.9


def fixture_model(**model_params):
    """The tiny config's model (``model_params`` changed) in evaluation mode, the fixture corpus and
    its tensors."""
    return tiny_model_in_evaluation(CONFIG, TableFillingDatasetReader(tag_scheme="horns"), **model_params)


def favour_all_horns(model, bias: float) -> None:
    """Sets the bias of tag 7 (all three horns) of every relation to ``bias``."""
    with torch.no_grad():
        model.scorer.relation_tags.bias.view(NUM_HORNS_TAGS, -1)[7] = bias


def test_long_sentences_are_decoded_on_their_first_tokens_and_counted():
    model, data, tensors = fixture_model(max_table_length=5)
    favour_all_horns(model, 100.0)
    output = model(**tensors)
    assert any(output["triplets"])
    for triplets in output["triplets"]:
        assert all(t.head[1] <= 5 and t.tail[1] <= 5 for t in triplets)
    longer = sum(len(i["source_tokens"]) > 5 for i in data)
    assert model.get_metrics(reset=True)["truncated_sentences"] == longer > 0


def test_an_untrained_model_decodes_at_most_max_decoded_triplets_and_counts_the_capped_sentences():
    model, data, tensors = fixture_model(max_decoded_triplets=2)
    favour_all_horns(model, 100.0)  # every cell every horn: every cell a triplet
    output = model(**tensors)
    assert all(len(triplets) == 2 for triplets in output["triplets"])
    assert model.get_metrics(reset=True)["capped_sentences"] == len(data)
    assert "capped_sentences" not in model.get_metrics(reset=True)


def test_decoding_o_weight_only_changes_decoding_and_must_be_positive():
    model, _, tensors = fixture_model()
    favour_all_horns(model, 3.0)
    before = model(**tensors)
    assert any(before["triplets"])
    model.decoding_o_weight = 1e6
    output = model(**tensors)
    assert output["loss"] == before["loss"]
    assert output["triplets"] == [[] for _ in output["triplets"]]
    with pytest.raises(ConfigurationError, match="decoding_o_weight"):
        fixture_model(decoding_o_weight=0.0)


def test_the_reader_checks_its_tag_scheme():
    with pytest.raises(ConfigurationError, match="tag_scheme"):
        TableFillingDatasetReader(tag_scheme="horn")


def test_allennlp_predict_and_python_api(tmp_path, monkeypatch):
    assert_allennlp_predict_matches_the_api(CONFIG, tmp_path, monkeypatch)


def test_the_tiny_config_trains_with_allennlp(tmp_path):
    from allennlp.commands.train import train_model_from_file

    model = train_model_from_file(str(CONFIG), str(tmp_path / "run"), overrides=json.dumps({"trainer.num_epochs": 1}))
    assert model.scorer.relation_tags.out_features == NUM_HORNS_TAGS * model.num_relations
