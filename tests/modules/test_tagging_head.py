import pytest
import torch
from allennlp.data import Vocabulary

from copymtl_allennlp.modules import TaggingHead, entity_starts

B, I, O = 0, 1, 2


def starts(tags):
    return entity_starts(torch.tensor([tags]), B, I)[0].tolist()


def test_entity_completion_rules():
    #        0  1  2  3  4  5  6
    tags = [B, I, I, O, B, O, I]
    # B -> itself; I -> back to its B; O -> itself; I after O -> the run's first I
    assert starts(tags) == [0, 0, 0, 3, 4, 5, 6]


def test_i_at_sentence_start_and_long_runs():
    assert starts([I, I, O, B, I, I, I]) == [0, 0, 2, 3, 3, 3, 3]
    assert starts([B, B, I]) == [0, 1, 1]


def test_batched_rows_are_independent():
    tags = torch.tensor([[B, I, I], [I, B, I]])
    assert entity_starts(tags, B, I).tolist() == [[0, 0, 0], [0, 1, 1]]


def test_crf_loss_is_the_batch_mean_and_constraints_forbid_o_to_i():
    vocab = Vocabulary()
    for tag in "BIO":
        vocab.add_token_to_namespace(tag, "entity_tags")
    head = TaggingHead(vocab, input_dim=3)
    emissions = torch.randn(2, 4, 3)
    tags = torch.tensor([[0, 1, 2, 2], [2, 0, 2, 2]])
    mask = torch.ones(2, 4, dtype=torch.bool)
    summed = head.crf(emissions, tags, mask)
    assert head.loss(emissions, tags, mask).item() == pytest.approx(-summed.item() / 2)
    # emissions that prefer O then I: the constrained Viterbi path never has O -> I or starts with I
    b, i, o = (head.index_of[t] for t in "BIO")
    emissions = torch.zeros(1, 3, 3)
    emissions[0, 0, o] = emissions[0, 1, i] = emissions[0, 2, i] = 5.0
    path = head.decode(emissions, torch.ones(1, 3, dtype=torch.bool))[0].tolist()
    assert all(not (a == o and z == i) for a, z in zip(path, path[1:]))
    assert path[0] != i


@pytest.mark.parametrize("include_start_end", [True, False])
def test_batched_viterbi_equals_allennlp_viterbi_tags(include_start_end):
    vocab = Vocabulary()
    for tag in "BIO":
        vocab.add_token_to_namespace(tag, "entity_tags")
    torch.manual_seed(3)
    head = TaggingHead(vocab, input_dim=3)
    head.crf.include_start_end_transitions = include_start_end
    with torch.no_grad():  # learned-looking transitions, so the constraints and the scores both matter
        head.crf.transitions.normal_(std=2.0)
        head.crf.start_transitions.normal_(std=2.0)
        head.crf.end_transitions.normal_(std=2.0)
    lengths = torch.tensor([9, 1, 5, 9, 2, 7, 3, 8])
    mask = torch.arange(9).unsqueeze(0) < lengths.unsqueeze(1)
    for _ in range(20):
        emissions = torch.randn(8, 9, 3) * 3
        expected = head.crf.viterbi_tags(emissions, mask)
        got = head.decode(emissions, mask)
        for row, (path, _) in enumerate(expected):
            assert got[row, : len(path)].tolist() == path
            assert (got[row, len(path) :] == head.index_of["O"]).all()
