"""Bad input at every entry point: each case gives the exact message a user sees.

Entry points: ``reader`` (the dataset reader on a file: ``allennlp train`` / ``evaluate``),
``convert`` (``copymtl-convert``, standard error), ``predict`` (the lines of ``allennlp
predict``: a skipped line's output record) and ``api`` (the Python extractor).
"""
import bz2
import codecs
import gzip
import json
import logging
import lzma
import re

import pytest
from allennlp.commands.train import train_model_from_file

from copymtl_allennlp import load_extractor
from copymtl_allennlp.commands.convert import main as convert
from copymtl_allennlp.data.formats import DataFormatError
from copymtl_allennlp.dataset_readers import CopyMTLDatasetReader
from copymtl_allennlp.predictors.copymtl import USAGE
from tests.conftest import FIXTURES

GOOD = '{"tokens": ["Paris", "is", "nice"], "triplets": []}\n'
CASREL = '[{"text": "Paris is in France", "triple_list": [["Paris", "capital_of", "France"]]}]'

# (case, file content, message after "<file>, " for the reader and the converter)
FILE_CASES = [
    ("not UTF-8 (JSONL)", GOOD.encode() + b'{"tokens": ["caf\xe9"], "triplets": []}\n',
     "line 2: not UTF-8 (byte 0xe9 at column 17) "
     "(read as jsonl, detected from the start of the file; the format option chooses another)"),
    ("not UTF-8 (casrel)", b'[{"text": "caf\xe9 x",\n "triple_list": []}]',
     "line 1: not UTF-8 (byte 0xe9 at column 15)"),
    ("no 'triplets'", '{"tokens": ["a", "b"]}\n',
     "line 1: missing field 'triplets' (a list, empty for a sentence without triplets) "
     "(read as jsonl, detected from the start of the file; the format option chooses another)"),
    ("misspelt 'triplets'", '{"tokens": ["a", "b"], "triples": []}\n',
     "line 1: unknown field 'triples' (a record holds 'tokens' and 'triplets') "
     "(read as jsonl, detected from the start of the file; the format option chooses another)"),
    ("whitespace-only token", '{"tokens": ["a", " "], "triplets": []}\n',
     "line 1: token 1 is whitespace only (' ') "
     "(read as jsonl, detected from the start of the file; the format option chooses another)"),
    ("rel2id.json as input", '[{"0": "capital_of"}, {"capital_of": 0}]\n',
     "line 1: missing field 'text' "
     "(read as casrel, detected from the start of the file; the format option chooses another)"),
    ("a JSON list of canonical records, one bad", '[{"tokens": ["a"], "triplets": []},\n {"tokens": ["b"]}]',
     "line 2: missing field 'triplets' (a list, empty for a sentence without triplets) "
     "(read as json, detected from the start of the file; the format option chooses another)"),
]


def _write(path, content):
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize("case, content, message", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_reader_names_file_line_and_problem(tmp_path, case, content, message):
    path = _write(tmp_path / "data.jsonl", content)
    with pytest.raises(DataFormatError) as error:
        list(CopyMTLDatasetReader().read(path))
    assert str(error.value) == f"{path}, {message}"


@pytest.mark.parametrize("case, content, message", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_converter_names_file_line_and_problem(tmp_path, capsys, case, content, message):
    path = _write(tmp_path / "data.json", content)
    assert convert([path, str(tmp_path / "out.jsonl")]) == 1
    assert capsys.readouterr().err.strip() == f"copymtl-convert: error: {path}, {message}"
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("name, content", [("data.jsonl", GOOD), ("data.json", CASREL)])
def test_a_byte_order_mark_is_read_as_one(tmp_path, name, content):
    path = _write(tmp_path / name, codecs.BOM_UTF8 + content.encode())
    instances = list(CopyMTLDatasetReader().read(path))
    assert len(instances) == 1 and instances[0]["metadata"]["tokens"][0] == "Paris"
    out = tmp_path / "out.jsonl"
    assert convert([path, str(out), "--on-error", "skip"]) == 0
    assert json.loads(out.read_text())["tokens"][0] == "Paris"


def test_a_converter_that_writes_no_sentence_fails(tmp_path, capsys):
    path = _write(tmp_path / "data.jsonl", '{"tokens": ["a"]}\n')
    assert convert([path, str(tmp_path / "out.jsonl"), "--on-error", "skip"]) == 1
    err = capsys.readouterr().err
    assert "bad records skipped (--on-error skip): 1" in err
    assert err.strip().endswith(f"copymtl-convert: error: {path}: no sentence to write; {tmp_path / 'out.jsonl'} not written")
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(
    "output, message",
    [
        (".", "is a directory; give the path of the JSONL file to write"),
        ("missing/out.jsonl", "its folder {tmp}/missing does not exist"),
    ],
)
def test_converter_checks_the_output_before_reading(tmp_path, capsys, output, message):
    # the input does not exist: the output's problem is found first
    target = str(tmp_path / output) if output != "." else str(tmp_path)
    assert convert([str(tmp_path / "no_such_input.json"), target]) == 1
    expected = message.format(tmp=tmp_path)
    assert capsys.readouterr().err.strip() == f"copymtl-convert: error: {target}: {expected}"


def test_head_equal_to_tail_is_kept_counted_and_logged(tmp_path, caplog):
    path = _write(tmp_path / "data.jsonl", '{"tokens": ["a", "b"], "triplets": [{"head": [0, 1], "relation": "r", "tail": [0, 1]}]}\n')
    with caplog.at_level(logging.WARNING):
        instances = list(CopyMTLDatasetReader().read(path))
    assert len(instances[0]["metadata"]["gold_triplets"]) == 1
    assert f"{path}: 1 triplets whose head and tail are the same span (kept as gold)" in caplog.text


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bad_input_run")
    train_model_from_file(str(FIXTURES / "configs" / "copymtl_tiny.jsonnet"), str(directory / "run"))
    return str(directory / "run" / "model.tar.gz")


# (case, input line of `allennlp predict`, the error of its output record)
PREDICT_CASES = [
    ("empty sentence", '{"sentence": ""}', "input line 2: empty sentence"),
    ("both keys", '{"sentence": "a b", "tokens": ["a"]}', "input line 2: give either 'sentence' (raw text) or 'tokens' (a list), not both"),
    ("whitespace-only token", '{"tokens": ["a", " "]}', "input line 2: token 1 is whitespace only (' ')"),
    ("empty token", '{"tokens": ["a", ""]}', "input line 2: token 1 is empty ('')"),
    ("tokens not a list", '{"tokens": "a b"}', "input line 2: 'tokens' must be a list of strings, got str"),
    ("no text", '{"text": "a b"}', "input line 2: expected a 'sentence' (raw text) or 'tokens' (a list) field"),
    ("malformed JSON", '{"sentence": "a"', "input line 2: malformed JSON (Expecting ',' delimiter, column 17)"),
    ("not an object", '["a", "b"]', "input line 2: expected a JSON object, got list"),
]


@pytest.mark.parametrize("case, line, message", PREDICT_CASES, ids=[c[0] for c in PREDICT_CASES])
def test_predict_skips_a_bad_line_with_an_error_record(archive, caplog, case, line, message):
    predictor = load_extractor(archive)
    records = [predictor.load_line(text) for text in ('{"sentence": "Paris is nice."}', line, '{"tokens": ["Paris"]}')]
    with caplog.at_level(logging.WARNING):
        outputs = predictor.predict_batch_json(records)
    assert outputs[1] == {"error": message, "tokens": [], "triplets": []}
    assert f"skipped {message} (1 lines skipped so far)" in caplog.text
    # the lines around it are predicted, and the echo of the input holds the record alone
    assert outputs[0]["tokens"] == ["Paris", "is", "nice", "."] and outputs[2]["tokens"] == ["Paris"]
    assert json.dumps(records[0]) == '{"sentence": "Paris is nice."}'


# (case, arguments of extract(...), exception, message)
API_CASES = [
    ("a dict", ({"sentence": "a b"},), {}, TypeError, f"expected raw text (a string) or a list of strings, got dict; usage: {USAGE}"),
    ("an int", (5,), {}, TypeError, f"expected raw text (a string) or a list of strings, got int; usage: {USAGE}"),
    ("None", (None,), {}, TypeError, f"give raw text or tokens, got neither; usage: {USAGE}"),
    ("nothing", (), {}, TypeError, f"give raw text or tokens, got neither; usage: {USAGE}"),
    ("both", ("a b",), {"tokens": ["a"]}, TypeError, f"give raw text or tokens, not both; usage: {USAGE}"),
    ("a bad item", (["Paris is nice.", 5],), {}, TypeError, f"item 1: expected a string, got int; usage: {USAGE}"),
    ("tokens positionally", (["Paris", ["a", "b"]],), {}, TypeError, f"item 1: a list of tokens goes by keyword, extract(tokens=[...]); usage: {USAGE}"),
    ("tokens not a list", (), {"tokens": "a b"}, TypeError, f"tokens must be a list of strings (one sentence) or of lists of strings, got str; usage: {USAGE}"),
    ("mixed tokens", (), {"tokens": ["a", ["b"]]}, TypeError, f"tokens: item 1 is list; give one sentence as a list of strings or several as a list of lists; usage: {USAGE}"),
    ("an empty item", (["Paris is nice.", "  "],), {}, ValueError, "item 1: empty sentence"),
    ("a bad token", (), {"tokens": [["Paris"], ["a", " "]]}, ValueError, "item 1: token 1 is whitespace only (' ')"),
    ("a bad token of one sentence", (), {"tokens": ["a", " "]}, ValueError, "input: token 1 is whitespace only (' ')"),
    ("an empty string", ("",), {}, ValueError, "input: empty sentence"),
]


@pytest.mark.parametrize("case, args, kwargs, exception, message", API_CASES, ids=[c[0] for c in API_CASES])
def test_python_api_refuses_with_the_item(archive, case, args, kwargs, exception, message):
    extract = load_extractor(archive)
    with pytest.raises(exception, match=f"^{re.escape(message)}$"):
        extract(*args, **kwargs)


def test_python_api_reads_a_token_list_as_one_sentence(archive):
    extract = load_extractor(archive)
    tokens = ["Steven", "Jobs", "was", "born", "in", "San", "Francisco", "."]
    one = extract(tokens=tokens)
    assert one == extract(" ".join(tokens)) == extract(tokens=[tokens])[0]
    assert extract(tokens=[tokens, ["Paris"]]) == [one, extract("Paris")]


def test_allennlp_predict_keeps_one_output_line_per_input_line(archive, tmp_path, caplog):
    """Through AllenNLP's own predict manager: blank lines get error records, and every error
    names the line as the file numbers it."""
    from allennlp.commands.predict import _PredictManager

    lines = ['{"sentence": "Paris is nice."}', "", '{"sentence": "a"', "   ", "", '{"tokens": ["Paris"]}', "", ""]
    source = _write(tmp_path / "in.jsonl", "\n".join(lines) + "\n")
    output = tmp_path / "out.jsonl"
    with caplog.at_level(logging.WARNING):
        _PredictManager(load_extractor(archive), source, str(output), 2, False, False).run()
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(lines)
    assert records[0]["tokens"] == ["Paris", "is", "nice", "."] and records[5]["tokens"] == ["Paris"]
    assert [r.get("error") for r in records] == [
        None,
        "input line 2: blank line",
        "input line 3: malformed JSON (Expecting ',' delimiter, column 17)",
        "input line 4: blank line",
        "input line 5: blank line",
        None,
        "input line 7: blank line",
        "input line 8: blank line",
    ]
    assert "skipped input line 8: blank line (6 lines skipped so far)" in caplog.text



@pytest.mark.parametrize(
    "name, content",
    [
        ("list.json", json.dumps([json.loads(GOOD), json.loads(GOOD)])),
        ("data.jsonl.gz", gzip.compress((GOOD * 2).encode())),
        ("data.jsonl.bz2", bz2.compress((GOOD * 2).encode())),
        ("data.jsonl.xz", lzma.compress((GOOD * 2).encode())),
    ],
)
def test_every_entry_point_reads_json_lists_and_compressed_files(archive, tmp_path, name, content):
    """Compressed by the suffix of the name, the rule of `allennlp predict`: the reader, the
    converter and AllenNLP's predict manager read the same files."""
    from allennlp.commands.predict import _PredictManager

    path = _write(tmp_path / name, content)
    assert len(list(CopyMTLDatasetReader().read(path))) == 2
    out = tmp_path / "out.jsonl"
    assert convert([path, str(out)]) == 0 and len(out.read_text().splitlines()) == 2
    if name.endswith(".json"):
        return  # a JSON list is training data, not prediction input
    predicted = tmp_path / "predicted.jsonl"
    _PredictManager(load_extractor(archive), path, str(predicted), 2, False, False).run()
    assert [json.loads(line)["tokens"] for line in predicted.read_text().splitlines()] == [["Paris", "is", "nice"]] * 2


def test_a_compressed_file_names_the_line_of_a_bad_record(tmp_path):
    path = _write(tmp_path / "data.jsonl.gz", gzip.compress(GOOD.encode() + b'{"tokens": ["a", "b"]}\n'))
    with pytest.raises(DataFormatError) as error:
        list(CopyMTLDatasetReader().read(path))
    assert str(error.value) == (
        f"{path}, line 2: missing field 'triplets' (a list, empty for a sentence without triplets) "
        "(read as jsonl, detected from the start of the file; the format option chooses another)"
    )


def test_a_missing_data_file_is_one_line_saying_what_to_check(tmp_path, capsys):
    missing = str(tmp_path / "train.jsonl")
    message = (
        f"{missing}: no such file (check the data path: the configs read WEBNLG_TRAIN_PATH, WEBNLG_DEV_PATH, "
        "NYT_TRAIN_PATH and NYT_DEV_PATH from the environment)"
    )
    with pytest.raises(FileNotFoundError) as error:
        train_model_from_file(str(FIXTURES / "configs" / "copymtl_tiny.jsonnet"), str(tmp_path / "run"),
                              overrides=json.dumps({"train_data_path": missing}))
    assert str(error.value) == message
    capsys.readouterr()
    assert convert([missing, str(tmp_path / "out.jsonl")]) == 1
    assert capsys.readouterr().err.strip() == f"copymtl-convert: error: {message}"


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "{path}: no vectors in the file (it is empty); `make vectors` writes one"),
        ("Paris 0.1 0.2 0.3\n", "{path}, line 1: a vector of 3 values, the embedding has 8 (give a vectors file of the embedding's width)"),
    ],
)
def test_a_bad_vectors_file_stops_training_with_its_name(tmp_path, content, message):
    from allennlp.common.checks import ConfigurationError

    path = _write(tmp_path / "vectors.txt", content)
    overrides = {"model.source_embedder.token_embedders.tokens.pretrained_file": path}
    with pytest.raises(ConfigurationError) as error:
        train_model_from_file(str(FIXTURES / "configs" / "copymtl_tiny.jsonnet"), str(tmp_path / "run"), overrides=json.dumps(overrides))
    assert str(error.value).strip('"') == message.format(path=path)


def test_no_epoch_is_an_error_before_training(tmp_path):
    from allennlp.common.checks import ConfigurationError

    overrides = {"trainer.type": "mixed_precision", "trainer.num_epochs": 0}
    with pytest.raises(ConfigurationError, match="trainer.num_epochs must be at least 1, got 0: a run of no epoch has no model to archive"):
        train_model_from_file(str(FIXTURES / "configs" / "copymtl_tiny.jsonnet"), str(tmp_path / "run"), overrides=json.dumps(overrides))


def test_relations_past_max_triplets_enter_the_vocabulary(tmp_path):
    """A relation that a training sentence holds only past its first max_triplets triplets is a
    relation training saw: not reported as unseen."""
    tokens = [f"w{i}" for i in range(14)]
    triplets = [{"head": [i, i + 1], "relation": "born_in", "tail": [i + 7, i + 8]} for i in range(5)]
    triplets.append({"head": [5, 6], "relation": "rare_relation", "tail": [12, 13]})
    fixture = (FIXTURES / "data" / "sentences.jsonl").read_text(encoding="utf-8")
    assert "rare_relation" not in fixture
    train = _write(tmp_path / "train.jsonl", fixture + json.dumps({"tokens": tokens, "triplets": triplets}) + "\n")
    run = tmp_path / "run"
    overrides = {"train_data_path": train, "validation_data_path": train}
    train_model_from_file(str(FIXTURES / "configs" / "copymtl_tiny.jsonnet"), str(run), overrides=json.dumps(overrides))
    relations = (run / "vocabulary" / "relation_labels.txt").read_text().split()
    assert "rare_relation" in relations
    assert "best_validation_unseen_relation_triplets" not in json.loads((run / "metrics.json").read_text())


def test_the_python_api_on_a_gpu_that_is_not_there(archive, monkeypatch):
    import torch
    from allennlp.common.checks import ConfigurationError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigurationError, match=r"^cuda_device=0: torch sees no GPU on this machine \(torch.cuda.is_available\(\) is False\); use cuda_device=-1 \(the CPU\)$"):
        load_extractor(archive, cuda_device=0)


@pytest.mark.parametrize("damage", ["truncated", "not an archive", "missing"])
def test_a_damaged_archive_is_named(archive, tmp_path, damage):
    from allennlp.common.checks import ConfigurationError

    path = tmp_path / "model.tar.gz"
    data = open(archive, "rb").read()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
        expected = f"{path}: not a complete model archive (the file is truncated or corrupt"
    elif damage == "not an archive":
        path.write_text("hello")
        expected = f"{path}: not a complete model archive (not a gzipped tar file"
    else:
        expected = f"{path}: no such model archive"
    with pytest.raises(ConfigurationError) as error:
        load_extractor(str(path))
    assert str(error.value).strip('"').startswith(expected)
