import json
import logging
import os
from typing import Any, List, NamedTuple, Optional, Sequence, Union

from allennlp.common.checks import ConfigurationError
from allennlp.common.file_utils import cached_path, open_compressed
from allennlp.common.util import JsonDict
from allennlp.data import DatasetReader, Instance
from allennlp.data.tokenizers import Tokenizer
from allennlp.models import Model
from allennlp.predictors import Predictor

from copymtl_allennlp import compat
from copymtl_allennlp.archives import ArchiveError, opened_archive
from copymtl_allennlp.data.formats import token_problem
from copymtl_allennlp.data.tokenizers import SpacyRulesTokenizer

logger = logging.getLogger(__name__)


def load_extractor(archive_path: str, cuda_device: int = -1, vectors: Optional[str] = None) -> "CopyMTLPredictor":
    """The Python API: ``extract = load_extractor("model.tar.gz")``, then ``extract("text")``
    (a list of triplets), ``extract(["text", ...])`` (a list per sentence) or
    ``extract(tokens=[...])``. ``vectors``: a GloVe text file of the word embedding's width
    (``make vectors``' file); its words that training never saw join the vocabulary with their
    vectors (:meth:`~copymtl_allennlp.models.triplet_model.TripletModel.add_pretrained_words`)."""
    check_device(cuda_device)
    check_archive(archive_path)
    return Predictor.from_path(archive_path, "copymtl", cuda_device=cuda_device, vectors=vectors)


def check_device(cuda_device: int) -> None:
    """A GPU that torch cannot see: one line saying what to give instead."""
    import torch

    if cuda_device < 0:
        return
    if not torch.cuda.is_available():
        raise ConfigurationError(
            f"cuda_device={cuda_device}: torch sees no GPU on this machine (torch.cuda.is_available() is False); use cuda_device=-1 (the CPU)"
        )
    if cuda_device >= torch.cuda.device_count():
        raise ConfigurationError(
            f"cuda_device={cuda_device}: this machine has {torch.cuda.device_count()} GPU(s), numbered from 0; use one of them or -1 (the CPU)"
        )


def check_archive(path: str) -> None:
    """A model archive (or serialization directory) that cannot be read, or lacks what AllenNLP
    loads: one line naming it, before AllenNLP's loader fails deep inside."""
    try:
        if os.path.isdir(path):
            names = set(os.listdir(path))
        else:
            with opened_archive(path) as (_, names):
                pass
    except ArchiveError as error:
        raise ConfigurationError(str(error)) from None
    missing = sorted({"config.json", "weights.th", "vocabulary"} - names)
    if missing:
        raise ConfigurationError(f"{path}: not a complete model archive (no {', '.join(missing)}); copy it again or retrain")


# how the Python API is called (CopyMTLPredictor.__call__)
USAGE = (
    "extract(\"raw text\") or extract([\"raw text\", ...]); "
    "extract(tokens=[\"Alan\", \"Shepard\", ...]) or extract(tokens=[[...], [...]])"
)


class _InputLine(dict):
    """A record that ``allennlp predict`` read: the record itself (what the output echoes), with
    its line number, the blank lines around it and, when the line is bad, the problem, as
    attributes."""

    def __init__(self, record: dict, line: int, problem: Optional[str] = None, blank_lines: Sequence[int] = ()) -> None:
        super().__init__(record)
        self.line = line
        self.problem = problem
        self.blank_lines = list(blank_lines)


class _OutputLine(dict):
    """An output record that carries the blank input lines around its line (for ``dump_line``)."""

    def __init__(self, output: JsonDict, line: int, blank_lines: List[int]) -> None:
        super().__init__(output)
        self.line = line
        self.blank_lines = blank_lines


def _error_record(message: str) -> JsonDict:
    return {"error": message, "tokens": [], "triplets": []}


class _LineNumbers(NamedTuple):
    non_blank: List[int]  # the file's line numbers (from 1) of its non-blank lines, in order
    total: int


def _line_numbers_of_caller_file() -> Optional[_LineNumbers]:
    """The line numbers of the file that ``allennlp predict`` reads, or ``None`` (standard input,
    another caller). AllenNLP 2.10's ``_PredictManager._get_json_data`` skips blank lines before it
    calls ``load_line``; the predictor reads the same file (``_input_file``, opened as AllenNLP opens
    it) to number lines as the file does. tests/test_bad_input.py pins this through ``allennlp
    predict`` itself."""
    path = compat.predict_input_file_of_caller(2)  # load_line's caller
    if path is None:
        return None
    non_blank, total = [], 0
    with open_compressed(cached_path(path)) as handle:
        for total, line in enumerate(handle, 1):
            if not line.isspace():
                non_blank.append(total)
    return _LineNumbers(non_blank, total)


@Predictor.register("copymtl")
class CopyMTLPredictor(Predictor):
    """Extracts triplets from ``{"sentence": "raw text"}`` (tokenized by ``tokenizer``, by default
    spaCy's rule-based English tokenizer) or ``{"tokens": [...]}``, one JSON object per line.

    Output per sentence: ``{"tokens": [...], "triplets": [{"head", "head_span", "relation",
    "tail", "tail_span"}], "entity_tags": [...]}`` (tags with the tagging head only). Spans are
    ``[start, end)`` token offsets.

    A bad input line of ``allennlp predict`` (malformed JSON, not an object, neither or both of
    ``sentence`` and ``tokens``, an empty sentence, a token that is empty or whitespace only) is
    skipped and logged: its output line is ``{"error": "input line N: ...", "tokens": [],
    "triplets": []}``, so the output keeps one line per input line; a blank line gets the error
    record ``input line N: blank line``. N is the line's number in the file (read from standard
    input, where AllenNLP skips blank lines unseen, N counts the non-blank lines). Called from Python (``predict_json``, or the
    extractor), a bad input raises ``ValueError`` (``TypeError`` for a value of the wrong type).
    """

    def __init__(
        self, model: Model, dataset_reader: DatasetReader, tokenizer: Optional[Tokenizer] = None, vectors: Optional[str] = None
    ) -> None:
        super().__init__(model, dataset_reader)
        if vectors is not None:
            added = model.add_pretrained_words(vectors)
            logger.info("%s: %d words that training never saw added with their vectors", vectors, added)
        self._tokenizer = tokenizer or SpacyRulesTokenizer()
        self._lines_read = 0
        self._lines_skipped = 0
        self._line_numbers: Optional[_LineNumbers] = None

    def load_line(self, line: str) -> JsonDict:
        if self._lines_read == 0:
            self._line_numbers = _line_numbers_of_caller_file()
        self._lines_read += 1
        number, blank = self._lines_read, []
        if self._line_numbers is not None and self._lines_read <= len(self._line_numbers.non_blank):
            # the file's own numbering; the blank lines before this one (and after it, at the end)
            number = self._line_numbers.non_blank[self._lines_read - 1]
            previous = self._line_numbers.non_blank[self._lines_read - 2] if self._lines_read > 1 else 0
            blank = list(range(previous + 1, number))
            if self._lines_read == len(self._line_numbers.non_blank):
                blank += list(range(number + 1, self._line_numbers.total + 1))
        try:
            record = json.loads(line.rstrip("\r\n"))  # so that a column is one of this line
        except json.JSONDecodeError as error:
            return _InputLine({}, number, f"malformed JSON ({error.msg}, column {error.colno})", blank)
        if not isinstance(record, dict):
            return _InputLine({}, number, f"expected a JSON object, got {type(record).__name__}", blank)
        return _InputLine(record, number, blank_lines=blank)

    def dump_line(self, outputs: JsonDict) -> str:
        """One JSON line; before it (or after it, at the end of the file), an error record for each
        blank input line that ``allennlp predict`` skipped, so the output keeps one line per input
        line."""
        if not isinstance(outputs, _OutputLine):
            return json.dumps(outputs) + "\n"
        lines = []
        for number in sorted(outputs.blank_lines + [outputs.line]):
            if number == outputs.line:
                lines.append(json.dumps(outputs) + "\n")
                continue
            self._lines_skipped += 1
            logger.warning("skipped input line %d: blank line (%d lines skipped so far)", number, self._lines_skipped)
            lines.append(json.dumps(_error_record(f"input line {number}: blank line")) + "\n")
        return "".join(lines)

    def predict_json(self, inputs: JsonDict) -> JsonDict:
        return self.predict_batch_json([inputs])[0]

    def predict_batch_json(self, inputs: List[JsonDict]) -> List[JsonDict]:
        """Predictions for the good records; for a bad line that ``allennlp predict`` read, an
        error record (see the class docstring)."""
        outputs: List[Optional[JsonDict]] = [None] * len(inputs)
        instances, places = [], []
        for index, record in enumerate(inputs):
            try:
                instances.append(self._json_to_instance(record))
                places.append(index)
            except ValueError as error:
                if not isinstance(record, _InputLine):
                    raise
                self._lines_skipped += 1
                logger.warning("skipped %s (%d lines skipped so far)", error, self._lines_skipped)
                outputs[index] = _error_record(str(error))
        for index, output in zip(places, self.predict_batch_instance(instances) if instances else []):
            outputs[index] = output
        for index, record in enumerate(inputs):
            if isinstance(record, _InputLine) and record.blank_lines:
                outputs[index] = _OutputLine(outputs[index], record.line, record.blank_lines)
        return outputs

    def __call__(
        self,
        text: Union[str, List[str], None] = None,
        *,
        tokens: Union[List[str], List[List[str]], None] = None,
        batch_size: int = 64,
    ) -> Union[List[JsonDict], List[List[JsonDict]]]:
        """The triplets of one sentence, or of each sentence of a list: raw text positionally,
        tokenized sentences by keyword (:data:`USAGE`). Lists are run in batches of ``batch_size``
        sentences of similar length (less padding); the answers come back in the input order. A
        bad sentence raises ``ValueError`` naming its item; a call of the wrong shape raises
        ``TypeError`` with the usage."""
        if (text is None) == (tokens is None):
            raise TypeError(f"give raw text or tokens, {'not both' if text is not None else 'got neither'}; usage: {USAGE}")
        if tokens is not None:
            if not isinstance(tokens, (list, tuple)):
                raise TypeError(f"tokens must be a list of strings (one sentence) or of lists of strings, got {_kind(tokens)}; usage: {USAGE}")
            if tokens and all(isinstance(item, (list, tuple)) for item in tokens):
                return self._extract_many([{"tokens": list(sentence)} for sentence in tokens], batch_size)
            for number, item in enumerate(tokens):
                if not isinstance(item, str):
                    raise TypeError(
                        f"tokens: item {number} is {_kind(item)}; give one sentence as a list of strings or several as a list of lists; usage: {USAGE}"
                    )
            return self.predict_json({"tokens": list(tokens)})["triplets"]
        if isinstance(text, str):
            return self.predict_json({"sentence": text})["triplets"]
        if not isinstance(text, (list, tuple)):
            raise TypeError(f"expected raw text (a string) or a list of strings, got {_kind(text)}; usage: {USAGE}")
        for number, sentence in enumerate(text):
            if isinstance(sentence, (list, tuple)):
                raise TypeError(f"item {number}: a list of tokens goes by keyword, extract(tokens=[...]); usage: {USAGE}")
            if not isinstance(sentence, str):
                raise TypeError(f"item {number}: expected a string, got {_kind(sentence)}; usage: {USAGE}")
        return self._extract_many([{"sentence": sentence} for sentence in text], batch_size)

    def _extract_many(self, records: List[JsonDict], batch_size: int) -> List[List[JsonDict]]:
        instances = []
        for number, record in enumerate(records):
            try:
                instances.append(self._json_to_instance(record))
            except ValueError as error:
                raise ValueError(f"item {number}: {str(error).replace('input: ', '', 1)}") from None
        order = sorted(range(len(instances)), key=lambda i: len(instances[i]["source_tokens"]))
        answers: List[List[JsonDict]] = [[] for _ in instances]
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            for index, output in zip(chunk, self.predict_batch_instance([instances[i] for i in chunk])):
                answers[index] = output["triplets"]
        return answers

    def _json_to_instance(self, json_dict: JsonDict) -> Instance:
        where = f"input line {json_dict.line}" if isinstance(json_dict, _InputLine) else "input"
        if isinstance(json_dict, _InputLine) and json_dict.problem:
            raise ValueError(f"{where}: {json_dict.problem}")
        if not isinstance(json_dict, dict):
            raise TypeError(f"{where}: expected a JSON object, got {_kind(json_dict)}")
        if "tokens" in json_dict and "sentence" in json_dict:
            raise ValueError(f"{where}: give either 'sentence' (raw text) or 'tokens' (a list), not both")
        if "tokens" in json_dict:
            tokens = json_dict["tokens"]
            if not isinstance(tokens, list):
                raise ValueError(f"{where}: 'tokens' must be a list of strings, got {_kind(tokens)}")
        elif "sentence" in json_dict:
            if not isinstance(json_dict["sentence"], str):
                raise ValueError(f"{where}: 'sentence' must be a string, got {_kind(json_dict['sentence'])}")
            tokens = [t.text for t in self._tokenizer.tokenize(json_dict["sentence"])]
        else:
            raise ValueError(f"{where}: expected a 'sentence' (raw text) or 'tokens' (a list) field")
        problem = token_problem(tokens)
        if problem:
            raise ValueError(f"{where}: {problem}")
        return self._dataset_reader.text_to_instance(tokens)


def _kind(value: Any) -> str:
    return "None" if value is None else type(value).__name__
