import pytest

from copymtl_allennlp.data.triplets import Triplet as T
from copymtl_allennlp.metrics import TripletF1

NA = T(None, None, None)


def test_hand_worked_corpus():
    gold = [
        [T("r1", (0, 2), (3, 4)), T("r2", (0, 2), (5, 7))],
        [T("r3", (0, 1), (2, 3))],
        [],
        [T("r1", (0, 1), (1, 2))],
    ]
    predicted = [
        # exact; head missing its first token (lenient-correct only); a repeat; an NA triplet
        [T("r1", (0, 2), (3, 4)), T("r2", (1, 2), (5, 7)), T("r1", (0, 2), (3, 4)), NA],
        [T("r3", (2, 3), (0, 1))],  # head and tail swapped
        [T("r1", (0, 1), (1, 2))],  # nothing to find
        [],  # nothing found
    ]
    metric = TripletF1()
    metric(predicted, gold)
    m = metric.get_metric()
    # strict: 4 predicted (after removing the repeat and NA), 4 gold, 1 correct
    assert (m["precision"], m["recall"], m["f1"]) == (0.25, 0.25, 0.25)
    # lenient: sentence 1 gets both right on last tokens
    assert (m["lenient_precision"], m["lenient_recall"], m["lenient_f1"]) == (0.5, 0.5, 0.5)
    # relation only: r1, r2 in sentence 1 and r3 in sentence 2
    assert (m["relation_precision"], m["relation_recall"], m["relation_f1"]) == (0.75, 0.75, 0.75)
    # entity pair only: sentence 1's first triplet
    assert m["entity_f1"] == 0.25
    assert m["swaps"] == 1.0
    assert all(type(value) is float for value in m.values())


def test_precision_and_recall_differ():
    metric = TripletF1()
    metric([[T("r", (0, 1), (2, 3))]], [[T("r", (0, 1), (2, 3)), T("s", (0, 1), (4, 5))]])
    m = metric.get_metric()
    assert m["precision"] == 1.0 and m["recall"] == 0.5
    assert m["f1"] == pytest.approx(2 / 3)


def test_relation_matching_is_multiset():
    # one gold r; two predicted r with other entities: one match, not two
    metric = TripletF1()
    metric([[T("r", (0, 1), (3, 4)), T("r", (5, 6), (7, 8))]], [[T("r", (0, 1), (2, 3))]])
    m = metric.get_metric()
    assert (m["relation_precision"], m["relation_recall"]) == (0.5, 1.0)
    assert (m["entity_precision"], m["entity_recall"]) == (0.0, 0.0)


def test_gold_duplicates_count_once():
    metric = TripletF1()
    triplet = T("r", (0, 1), (2, 3))
    metric([[triplet]], [[triplet, triplet]])
    assert metric.get_metric()["recall"] == 1.0


def test_empty_predictions_and_empty_gold():
    metric = TripletF1()
    metric([[], []], [[], []])
    assert set(metric.get_metric().values()) == {0.0}
    metric([[]], [[T("r", (0, 1), (2, 3))]])
    m = metric.get_metric()
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)


def test_accumulates_over_batches_and_resets():
    metric = TripletF1()
    triplet = T("r", (0, 1), (2, 3))
    metric([[triplet]], [[triplet]])
    metric([[]], [[T("s", (0, 1), (2, 3))]])
    assert metric.get_metric(reset=True)["recall"] == 0.5
    assert metric.get_metric()["recall"] == 0.0


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="2 predicted triplet lists for 1 gold"):
        TripletF1()([[], []], [[]])


def test_text_match_counts_an_entity_at_any_occurrence_of_its_words():
    # "Metapán" occurs twice: the prediction copies the other occurrence (strict: wrong; text: right)
    tokens = [["A.D.", "Isidro", "Metapán", "'s", "ground", "is", "in", "Metapán", "."]]
    gold = [[T("ground", (0, 3), (7, 8)), T("city", (0, 3), (7, 8))]]
    predicted = [[T("ground", (0, 3), (2, 3)), T("city", (1, 3), (7, 8)), T("ground", (0, 3), (7, 8)), NA]]
    metric = TripletF1()
    metric(predicted, gold, tokens=tokens)
    m = metric.get_metric()
    # strict: 3 predicted, 1 right; text: the first and third are one text triplet, the second is wrong
    assert (m["precision"], m["recall"]) == (1 / 3, 0.5)
    assert (m["text_precision"], m["text_recall"]) == (0.5, 0.5)
    # without tokens there is no text match to report
    plain = TripletF1()
    plain(predicted, gold)
    assert "text_f1" not in plain.get_metric()
    with pytest.raises(ValueError, match="and 2 sentences"):
        TripletF1()(predicted, gold, tokens=tokens * 2)
