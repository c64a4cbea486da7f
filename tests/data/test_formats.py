import json
from collections import Counter

import pytest

from copymtl_allennlp.data.formats import DataFormatError, EntityLocator, detect_format, read_sentences
from copymtl_allennlp.data.triplets import Triplet, bio_tags, deduplicate
from tests.conftest import FIXTURES, write

DATA = FIXTURES / "data"


def sentences(path, **kwargs):
    return [s for _, s in read_sentences(str(path), **kwargs)]


@pytest.mark.parametrize(
    "name, expected", [("sentences.jsonl", "jsonl"), ("copyre_raw.json", "copyre_raw"), ("casrel.json", "casrel"), ("copyre_ids/train.json", "copyre_ids")]
)
def test_detects_every_format(name, expected):
    assert detect_format(str(DATA / name)) == expected


@pytest.mark.parametrize("name", ["copyre_raw.json", "casrel.json"])
def test_text_formats_give_the_canonical_sentences(name):
    stats = Counter()
    assert sentences(DATA / name, stats=stats) == sentences(DATA / "sentences.jsonl")
    # "Bogotá" is written with an accent the text lacks, three times; "Texas" occurs twice.
    assert stats["accent_or_case_folded"] == 3
    assert stats["multiple_occurrences"] == 1
    assert stats["duplicates_removed"] == 1


def test_id_format_gives_last_tokens():
    canonical = sentences(DATA / "sentences.jsonl")
    decoded = sentences(DATA / "copyre_ids" / "train.json")
    assert [s.tokens for s in decoded] == [s.tokens for s in canonical]
    for got, want in zip(decoded, canonical):
        assert got.triplets == [
            Triplet(t.relation, (t.head[1] - 1, t.head[1]), (t.tail[1] - 1, t.tail[1])) for t in want.triplets
        ]


def test_first_sentence_spans_are_full():
    first = sentences(DATA / "sentences.jsonl")[0]
    assert first.tokens[:2] == ["Steven", "Jobs"]
    assert Triplet("founder_of", (0, 2), (6, 8)) in first.triplets
    assert Triplet("born_in", (0, 2), (12, 14)) in first.triplets


def test_nearest_non_overlapping_pair_is_chosen():
    stats = Counter()
    locator = EntityLocator(stats)
    tokens = "Ned Lamont is a Greenwich millionaire , Ned Lamont said".split()
    # Ned Lamont at 0 and 7; Greenwich at 4: gaps 2 and 2, the tie goes to the leftmost head.
    assert locator.locate(tokens, "Ned Lamont", "Greenwich") == ((0, 2), (4, 5))
    tokens = "Gaza is not the Gaza Strip".split()
    # "Gaza" inside "Gaza Strip" overlaps the head; the separate occurrence is preferred.
    assert locator.locate(tokens, "Gaza Strip", "Gaza") == ((4, 6), (0, 1))
    assert stats["multiple_occurrences"] == 2


def test_bio_tags_longest_first_and_conflicts_counted():
    tags, conflicts = bio_tags(6, [(0, 2), (1, 2), (3, 6), (5, 6)])
    assert tags == ["B", "I", "O", "B", "I", "I"]
    assert conflicts == 2


def test_deduplicate_keeps_first_and_order():
    a, b = Triplet("r", (0, 1), (2, 3)), Triplet("s", (0, 1), (2, 3))
    assert deduplicate([a, b, a, b]) == ([a, b], 2)


BAD_JSONL = [
    ('{"tokens": ["a", "b"], "triplets": []}\n{"tokens": ["a" \n', 2, "malformed JSON"),
    ('{"triplets": []}\n', 1, "missing field 'tokens'"),
    ('{"tokens": [], "triplets": []}\n', 1, "empty sentence"),
    ('{"tokens": ["a", "b"], "triplets": [{"head": [0, 1], "relation": "r", "tail": [1, 3]}]}\n', 1, "tail span [1, 3) out of range"),
    ('{"tokens": ["a", "b"], "triplets": [{"head": [0, 1], "tail": [1, 2]}]}\n', 1, "missing field 'relation'"),
    ('\n\n{"tokens": ["a"], "triplets": [{"head": [0], "relation": "r", "tail": [0, 1]}]}\n', 3, "head must be a list [start, end)"),
]


@pytest.mark.parametrize("text, line, problem", BAD_JSONL)
def test_bad_jsonl_names_file_line_and_problem(tmp_path, text, line, problem):
    path = write(tmp_path / "bad.jsonl", text)
    with pytest.raises(DataFormatError) as info:
        sentences(path)
    assert str(info.value).startswith(f"{path}, line {line}: ")
    assert problem in str(info.value)


def test_entity_not_found_is_an_error_in_raw_formats(tmp_path):
    record = {"sentText": "Paris is in France .", "relationMentions": [{"em1Text": "Lyon", "em2Text": "France", "label": "in"}]}
    path = write(tmp_path / "raw.json", json.dumps(record) + "\n")
    with pytest.raises(DataFormatError, match=r"raw.json, line 1: triplet 0: head entity 'Lyon' not found"):
        sentences(path)


def test_casrel_errors_carry_the_line_of_the_element(tmp_path):
    good = {"text": "Paris is in France .", "triple_list": [["Paris", "in", "France"]]}
    bad = {"text": "Paris is in France .", "triple_list": [["Paris", "in"]]}
    path = write(tmp_path / "c.json", json.dumps([good, bad], indent=1))
    line = json.dumps([good, bad], indent=1).split("\n").index(" {", 2) + 1
    with pytest.raises(DataFormatError, match=rf"c.json, line {line}: triple 0: expected \[head, relation, tail\]"):
        sentences(path)


def test_id_format_errors_name_the_sentence(tmp_path):
    directory = tmp_path / "ids"
    directory.mkdir()
    write(directory / "words2id.json", json.dumps({"PAD": 0, "a": 1, "b": 2}))
    write(directory / "relations2id.json", json.dumps({"r": 0}))
    path = write(directory / "train.json", json.dumps([[[1, 2], [1, 2, 2]], [[0, 1, 0], [0, 5, 0]]]))
    with pytest.raises(DataFormatError, match=r"train.json, sentence 2: triplet 0: tail position 5 out of range"):
        sentences(path)
    missing = write(tmp_path / "alone.json", json.dumps([[[1]], [[]]]))
    with pytest.raises(DataFormatError, match="words2id.json, line 1: word vocabulary not found"):
        sentences(missing)


def test_skip_policy_counts_and_logs(tmp_path, caplog):
    text = '{"tokens": ["a", "b"], "triplets": []}\nnot json\n{"tokens": []}\n{"tokens": ["c"], "triplets": []}\n'
    path = write(tmp_path / "some_bad.jsonl", text)
    stats = Counter()
    kept = sentences(path, on_error="skip", stats=stats)
    assert [s.tokens for s in kept] == [["a", "b"], ["c"]]
    assert stats["skipped"] == 2 and stats["sentences"] == 2
    messages = [r.getMessage() for r in caplog.records]
    assert any("some_bad.jsonl, line 2: malformed JSON" in m for m in messages)
    assert any("some_bad.jsonl, line 3: empty sentence" in m for m in messages)


def test_unknown_options_are_refused(tmp_path):
    path = write(tmp_path / "x.jsonl", '{"tokens": ["a"]}\n')
    with pytest.raises(ValueError, match="unknown format"):
        sentences(path, format="conll")
    with pytest.raises(ValueError, match="on_error"):
        sentences(path, on_error="ignore")
