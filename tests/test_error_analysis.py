"""benchmarks/error_analysis.py: the categories of a gold triplet, worked by hand."""
import importlib.util

from copymtl_allennlp.data.triplets import Triplet
from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("error_analysis", ROOT / "benchmarks" / "error_analysis.py")
error_analysis = importlib.util.module_from_spec(spec)
spec.loader.exec_module(error_analysis)

GOLD = Triplet("born_in", (0, 2), (4, 6))


def test_categories_by_hand():
    classify = error_analysis.classify
    assert classify(GOLD, [GOLD]) == "correct"
    assert classify(GOLD, [Triplet("born_in", (1, 2), (4, 6))]) == "boundary"  # same last tokens
    assert classify(GOLD, [Triplet("born_in", (4, 6), (0, 2))]) == "swapped"
    assert classify(GOLD, [Triplet("lives_in", (0, 2), (4, 6))]) == "relation"
    assert classify(GOLD, [Triplet("born_in", (0, 2), (7, 8))]) == "one_entity"
    assert classify(GOLD, [Triplet("born_in", (3, 4), (7, 8)), Triplet("x", (9, 10), (4, 6))]) == "missing"
    assert classify(GOLD, []) == "missing"


def test_analysis_counts_by_hand():
    other = Triplet("capital", (7, 8), (9, 10))
    third = Triplet("leader", (9, 10), (0, 2))
    gold = [[GOLD], [GOLD, other, third]]
    predicted = [[GOLD], [GOLD, Triplet("capital", (7, 8), (11, 12))]]
    report = error_analysis.analyse(gold, predicted, cap=2)
    assert report["gold_triplets"] == 4
    assert report["gold_categories"] == {
        "correct": 2, "boundary": 0, "swapped": 0, "relation": 0, "one_entity": 1, "missing": 1
    }
    assert report["recall_by_gold_count"] == {"1": {"gold": 1, "recall": 1.0}, "3": {"gold": 3, "recall": round(1 / 3, 4)}}
    assert report["recall_by_gold_place"]["1"] == {"gold": 2, "recall": 1.0}
    assert report["recall_by_gold_place"]["2"] == {"gold": 1, "recall": 0.0}
    assert report["gold_triplets_beyond_max_triplets"] == 1  # the third gold triplet of sentence 2
    assert report["wrong_predictions"] == {"one_entity": 1}
    assert report["sentences_by_predicted_minus_gold_count"] == {"-1": 1, "0": 1}


def test_cut_mentions_by_hand():
    prefixes = error_analysis.name_prefixes([("Aarhus", "Airport"), ("Alan", "Tudyk"), ("Alan", "Bean"), ("Aarhus",)])
    assert prefixes[("Alan",)] and prefixes[("Aarhus",)] == [("Aarhus", "Airport")]
    kind = error_analysis.mention_kind
    tokens = ["Aarhus", "airport", "serves", "Aarhus", "and", "Alan", "Tukyk", "met", "Alan", "Bean", "."]
    assert kind(tokens, (0, 1), prefixes) == "cut_at_case"  # "Aarhus" before "airport", the name "Aarhus Airport"
    assert kind(tokens, (3, 4), prefixes) == "whole"  # "and" is no spelling of "Airport"
    assert kind(tokens, (5, 6), prefixes) == "cut_at_spelling"  # "Tukyk" for "Tudyk"
    assert kind(tokens, (8, 10), prefixes) == "whole"  # the whole name
    assert kind(tokens, (10, 11), prefixes) == "whole"  # no name begins with "."
    assert kind(["Alan"], (0, 1), prefixes) == "whole"  # nothing follows
    both = Triplet("r", (5, 6), (0, 1))
    assert error_analysis.triplet_kind(tokens, both, prefixes) == "cut_at_case"  # case before spelling
    assert error_analysis.triplet_kind(tokens, Triplet("r", (8, 10), (5, 6)), prefixes) == "cut_at_spelling"


def test_recall_by_mention_by_hand():
    other = Triplet("capital", (7, 8), (9, 10))
    gold = [[GOLD], [GOLD, other]]
    predicted = [[GOLD], [other]]
    kinds = [["whole"], ["cut_at_case", "whole"]]
    report = error_analysis.analyse(gold, predicted, cap=5, gold_kinds=kinds)
    assert report["recall_by_mention"] == {
        "whole": {"gold": 2, "recall": 1.0},
        "cut_at_case": {"gold": 1, "recall": 0.0},
        "cut_at_spelling": {"gold": 0, "recall": 0.0},
    }
    assert "recall_by_mention" not in error_analysis.analyse(gold, predicted, cap=5)
