import itertools
import math

import pytest
import torch
from allennlp.common.checks import ConfigurationError

from copymtl_allennlp.modules.set_decoder import SetDecoder, SetPredictions, best_spans
from copymtl_allennlp.modules.set_matching import hungarian_match, matching_cost, set_loss


def log_probs(rows):
    return torch.tensor(rows, dtype=torch.float).log()


def test_matching_cost_by_hand():
    # one sentence, two slots, two relations + NA (3 classes), three tokens
    relation_probs = torch.tensor([[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]])
    pointer_probs = torch.tensor(
        [
            [
                [[0.5, 0.3, 0.2], [0.1, 0.8, 0.1], [0.6, 0.2, 0.2], [0.3, 0.3, 0.4]],
                [[0.2, 0.2, 0.6], [0.2, 0.2, 0.6], [0.9, 0.05, 0.05], [0.1, 0.1, 0.8]],
            ]
        ]
    )
    # gold: (relation 0, head [0, 1], tail [2, 2]) and (relation 1, head [2, 2], tail [0, 0])
    gold_relations = torch.tensor([[0, 1]])
    gold_positions = torch.tensor([[[0, 1, 2, 2], [2, 2, 0, 0]]])
    cost = matching_cost(relation_probs, pointer_probs, gold_relations, gold_positions)
    expected = -torch.tensor(
        [
            [0.7 + 0.5 + 0.8 + 0.2 + 0.4, 0.2 + 0.2 + 0.1 + 0.6 + 0.3],
            [0.1 + 0.2 + 0.2 + 0.05 + 0.8, 0.1 + 0.6 + 0.6 + 0.9 + 0.1],
        ]
    )
    assert torch.allclose(cost[0], expected)


def test_hungarian_match_by_hand_skips_padding_and_empty_sentences():
    cost = torch.tensor(
        [
            # slot 0 is cheapest for both golds; the minimum total gives gold 0 to slot 1
            [[1.0, 0.0, 9.0], [2.0, 5.0, 9.0], [4.0, 6.0, 9.0]],
            # no valid gold
            [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
            # one gold, in column 2 (columns 0 and 1 padding)
            [[0.0, 0.0, 3.0], [0.0, 0.0, 1.0], [0.0, 0.0, 2.0]],
        ]
    )
    valid = torch.tensor([[True, True, False], [False, False, False], [False, False, True]])
    sentences, slots, golds = hungarian_match(cost, valid)
    assert sorted(zip(sentences.tolist(), slots.tolist(), golds.tolist())) == [(0, 0, 1), (0, 1, 0), (2, 1, 2)]


def test_hungarian_match_with_no_gold_at_all():
    sentences, slots, golds = hungarian_match(torch.zeros(2, 3, 1), torch.zeros(2, 1, dtype=torch.bool))
    assert sentences.numel() == slots.numel() == golds.numel() == 0


def test_set_loss_by_hand():
    # two slots, one relation + NA, two tokens; gold: relation 0, head [0, 0], tail [1, 1]
    relation = log_probs([[0.6, 0.4], [0.3, 0.7]])
    pointers = log_probs(
        [
            [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]],
            [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]],
        ]
    )
    loss = set_loss(relation.unsqueeze(0), pointers.unsqueeze(0), torch.tensor([[0, -1]]), torch.tensor([[[0, 0, 1, 1], [0, 0, 0, 0]]]), na_weight=0.25)
    # slot 0 matches (cost -(0.6+0.9+0.8+0.7+0.6) < -(0.3+0.5*4)); slot 1 is NA with weight 0.25
    relation_loss = (-math.log(0.6) + 0.25 * -math.log(0.7)) / (1 + 0.25)
    pointer_loss = -(math.log(0.9) + math.log(0.8) + math.log(0.7) + math.log(0.6))
    assert loss.item() == pytest.approx(relation_loss + pointer_loss, rel=1e-6)


def test_set_loss_without_gold_trains_every_slot_on_na():
    relation = log_probs([[0.6, 0.4], [0.3, 0.7]]).unsqueeze(0)
    pointers = torch.zeros(1, 2, 4, 2).log_softmax(-1)
    loss = set_loss(relation, pointers, torch.tensor([[-1]]), torch.zeros(1, 1, 4, dtype=torch.long), na_weight=0.5)
    assert loss.item() == pytest.approx((-math.log(0.4) - math.log(0.7)) / 2, rel=1e-6)


def test_set_loss_leaves_out_relations_the_vocabulary_lacks():
    torch.manual_seed(0)
    relation = torch.randn(1, 3, 4).log_softmax(-1)
    pointers = torch.randn(1, 3, 4, 5).log_softmax(-1)
    positions = torch.tensor([[[0, 1, 2, 3], [4, 4, 0, 0]]])
    with_unseen = set_loss(relation, pointers, torch.tensor([[1, -2]]), positions, 0.25)
    without = set_loss(relation, pointers, torch.tensor([[1, -1]]), positions, 0.25)
    assert with_unseen.item() == without.item()


def test_set_loss_does_not_depend_on_the_order_of_the_gold_triplets():
    torch.manual_seed(0)
    batch, slots, classes, length = 3, 5, 6, 7
    relation = torch.randn(batch, slots, classes).log_softmax(-1)
    pointers = torch.randn(batch, slots, 4, length).log_softmax(-1)
    gold_relations = torch.tensor([[0, 3, 4, -1], [2, 2, 1, 0], [-1, -1, -1, -1]])
    gold_positions = torch.randint(0, length, (batch, 4, 4))
    reference = set_loss(relation, pointers, gold_relations, gold_positions, 0.25)
    for permutation in itertools.permutations(range(4)):
        order = torch.tensor(permutation)
        permuted = set_loss(relation, pointers, gold_relations[:, order], gold_positions[:, order], 0.25)
        assert permuted.item() == pytest.approx(reference.item(), rel=1e-6, abs=1e-6)
    # a different target gives a different loss (the test can fail)
    changed = gold_positions.clone()
    changed[0, 0, 0] = (changed[0, 0, 0] + 1) % length
    assert set_loss(relation, pointers, gold_relations, changed, 0.25).item() != pytest.approx(reference.item())


def test_best_spans_by_hand_never_end_before_they_start():
    # independent argmaxes give start 2, end 0; the best valid span is [0, 0] (0.4 * 0.5 = 0.2) over
    # [0, 1] (0.4 * 0.1), [2, 2] (0.5 * 0.2 = 0.1), [1, 1] (0.1 * 0.1)
    starts = log_probs([0.4, 0.1, 0.5])
    ends = log_probs([0.5, 0.3, 0.2])
    start, end = best_spans(starts, ends)
    assert (start.item(), end.item()) == (0, 0)
    # with the end mass moved right, [2, 2] (0.5 * 0.6) beats [0, 2] (0.4 * 0.6) and [0, 0]
    start, end = best_spans(starts, log_probs([0.3, 0.1, 0.6]))
    assert (start.item(), end.item()) == (2, 2)


def test_best_spans_is_the_brute_force_argmax():
    torch.manual_seed(0)
    starts = torch.randn(50, 9).log_softmax(-1)
    ends = torch.randn(50, 9).log_softmax(-1)
    start, end = best_spans(starts, ends)
    for row in range(50):
        candidates = {(i, j): (starts[row, i] + ends[row, j]).item() for i in range(9) for j in range(i, 9)}
        assert (start[row].item(), end[row].item()) == max(candidates, key=candidates.get)


def test_decode_by_hand():
    decoder = SetDecoder(input_dim=4, num_relations=2, num_slots=2, num_heads=1)
    relation = log_probs([[0.1, 0.7, 0.2], [0.2, 0.3, 0.5]]).unsqueeze(0)  # slot 1 is NA
    pointers = log_probs(
        [
            [[0.1, 0.2, 0.7], [0.8, 0.1, 0.1], [0.6, 0.2, 0.2], [0.1, 0.2, 0.7]],
            [[0.6, 0.2, 0.2], [0.6, 0.2, 0.2], [0.6, 0.2, 0.2], [0.6, 0.2, 0.2]],
        ]
    ).unsqueeze(0)
    relations, head_starts, head_ends, tail_starts, tail_ends = decoder.decode(SetPredictions(relation, pointers))
    assert relations.tolist() == [[1, -1]]
    # head: starts favour 2, ends favour 0; the best valid span is [0, 0] (0.1 * 0.8 = 0.08 > 0.7 * 0.1)
    assert (head_starts.tolist(), head_ends.tolist()) == ([[0, -1]], [[0, -1]])
    assert (tail_starts.tolist(), tail_ends.tolist()) == ([[0, -1]], [[2, -1]])


@pytest.mark.parametrize("slot_reader", ["transformer", "attention"])
def test_slots_ignore_padding_and_the_rest_of_the_batch(slot_reader):
    torch.manual_seed(0)
    decoder = SetDecoder(input_dim=8, num_relations=3, num_slots=4, slot_reader=slot_reader, num_layers=2, num_heads=2, dropout=0.0).eval()
    outputs = torch.randn(2, 6, 8)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    together = decoder(outputs, mask)
    alone = decoder(outputs[1:, :4], mask[1:, :4])
    assert torch.allclose(together.relation_log_probs[1], alone.relation_log_probs[0], atol=1e-5)
    assert torch.allclose(together.pointer_log_probs[1, :, :, :4], alone.pointer_log_probs[0], atol=1e-5)
    # padding positions have no probability
    assert together.pointer_log_probs[1, :, :, 4:].exp().max() == 0


def test_configuration_errors():
    with pytest.raises(ConfigurationError, match="num_slots"):
        SetDecoder(input_dim=4, num_relations=2, num_slots=0)
    with pytest.raises(ConfigurationError, match="slot_reader"):
        SetDecoder(input_dim=4, num_relations=2, slot_reader="lstm")
    with pytest.raises(ConfigurationError, match="divisible"):
        SetDecoder(input_dim=6, num_relations=2, num_heads=4)


@pytest.mark.parametrize("slot_reader", ["attention", "transformer"])
def test_predict_scores_only_the_relation_slots_and_gives_what_decode_gives(slot_reader):
    torch.manual_seed(3)
    decoder = SetDecoder(input_dim=8, num_relations=2, num_slots=6, slot_reader=slot_reader, num_layers=1, num_heads=2, dropout=0.0).eval()
    outputs = torch.randn(3, 7, 8)
    mask = torch.tensor([[True] * 7, [True] * 5 + [False] * 2, [True] * 2 + [False] * 5])
    with torch.no_grad():
        # a bias that makes some slots NA and others not
        decoder.relation_classifier.bias.copy_(torch.tensor([0.0, 0.0, 0.3]))
        full = decoder.decode(decoder(outputs, mask))
        sparse = decoder.predict(outputs, mask)
    assert (full[0] >= 0).any() and (full[0] < 0).any()
    for expected, got in zip(full, sparse):
        assert torch.equal(expected, got)
    with torch.no_grad():  # every slot NA
        decoder.relation_classifier.bias.copy_(torch.tensor([0.0, 0.0, 100.0]))
        assert all((values == -1).all() for values in decoder.predict(outputs, mask))


def test_slot_relations_by_hand():
    from copymtl_allennlp.modules.set_decoder import slot_relations

    # two relations and NA (index 2), three slots
    probs = torch.tensor([[0.5, 0.2, 0.3], [0.25, 0.35, 0.4], [0.1, 0.75, 0.15]])
    log_probs = probs.log()
    assert slot_relations(log_probs).tolist() == [0, 2, 1]  # the argmax
    # 0.6: only the third slot's best relation (0.75) reaches it
    assert slot_relations(log_probs, 0.6).tolist() == [2, 2, 1]
    # 0.3: the second slot's best relation (0.35) reaches it, although NA (0.4) is more probable
    assert slot_relations(log_probs, 0.3).tolist() == [0, 1, 1]
    assert slot_relations(log_probs, 0.75).tolist() == [2, 2, 1]  # reaching counts


def test_predict_and_decode_agree_under_a_relation_threshold():
    torch.manual_seed(4)
    decoder = SetDecoder(input_dim=8, num_relations=3, num_slots=6, num_heads=2, dropout=0.0).eval()
    outputs, mask = torch.randn(2, 5, 8), torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    with torch.no_grad():
        decoder.relation_classifier.bias.copy_(torch.tensor([1.0, 0.5, 0.0, 0.8]))
        for threshold in (None, 0.3, 0.5):
            full = decoder.decode(decoder(outputs, mask), threshold)
            sparse = decoder.predict(outputs, mask, threshold)
            for expected, got in zip(full, sparse):
                assert torch.equal(expected, got)
        # a higher threshold never adds a triplet
        assert ((decoder.predict(outputs, mask, 0.5)[0] >= 0) <= (decoder.predict(outputs, mask, 0.3)[0] >= 0)).all()
