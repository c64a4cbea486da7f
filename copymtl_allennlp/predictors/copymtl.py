import json
import logging
from typing import Any, List, Optional, Union

from allennlp.common.util import JsonDict
from allennlp.data import DatasetReader, Instance
from allennlp.data.tokenizers import Tokenizer
from allennlp.models import Model
from allennlp.predictors import Predictor

from copymtl_allennlp.data.formats import token_problem
from copymtl_allennlp.data.tokenizers import SpacyRulesTokenizer

logger = logging.getLogger(__name__)


def load_extractor(archive_path: str, cuda_device: int = -1) -> "CopyMTLPredictor":
    """The Python API: ``extract = load_extractor("model.tar.gz")``, then ``extract("text")``
    (a list of triplets) or ``extract(["text", ...])`` (a list per sentence)."""
    return Predictor.from_path(archive_path, "copymtl", cuda_device=cuda_device)  # type: ignore[return-value]


class _InputLine(dict):
    """A record that ``allennlp predict`` read: the record itself (what the output echoes), with
    its line number and, when the line is bad, the problem, as attributes."""

    def __init__(self, record: dict, line: int, problem: Optional[str] = None) -> None:
        super().__init__(record)
        self.line = line
        self.problem = problem


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
    "triplets": []}``, so the output keeps one line per input line. N counts the non-blank lines
    (``allennlp predict`` skips blank ones). Called from Python (``predict_json``, or the
    extractor), a bad input raises ``ValueError`` (``TypeError`` for a value of the wrong type).
    """

    def __init__(self, model: Model, dataset_reader: DatasetReader, tokenizer: Optional[Tokenizer] = None) -> None:
        super().__init__(model, dataset_reader)
        self._tokenizer = tokenizer or SpacyRulesTokenizer()
        self._lines_read = 0
        self._lines_skipped = 0

    def load_line(self, line: str) -> JsonDict:
        self._lines_read += 1
        try:
            record = json.loads(line.rstrip("\r\n"))  # so that a column is one of this line
        except json.JSONDecodeError as error:
            return _InputLine({}, self._lines_read, f"malformed JSON ({error.msg}, column {error.colno})")
        if not isinstance(record, dict):
            return _InputLine({}, self._lines_read, f"expected a JSON object, got {type(record).__name__}")
        return _InputLine(record, self._lines_read)

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
                outputs[index] = {"error": str(error), "tokens": [], "triplets": []}
        for index, output in zip(places, self.predict_batch_instance(instances) if instances else []):
            outputs[index] = output
        return outputs  # type: ignore[return-value]

    def __call__(
        self, text: Union[str, List[str], List[List[str]]], batch_size: int = 64
    ) -> Union[List[JsonDict], List[List[JsonDict]]]:
        """The triplets of one sentence, or of each sentence of a list. A sentence is raw text or
        a list of tokens. Lists are run in batches of ``batch_size`` sentences of similar length
        (less padding); the answers come back in the input order. A bad sentence raises
        ``ValueError`` naming its item (``TypeError`` for a value that is not a sentence)."""
        if isinstance(text, str):
            return self.predict_json({"sentence": text})["triplets"]
        if not isinstance(text, (list, tuple)):
            raise TypeError(
                f"expected a sentence (a string), or a list of sentences (strings or lists of tokens), got {_kind(text)}"
            )
        records = []
        for number, sentence in enumerate(text):
            if isinstance(sentence, str):
                records.append({"sentence": sentence})
            elif isinstance(sentence, (list, tuple)):
                records.append({"tokens": list(sentence)})
            else:
                raise TypeError(f"item {number}: expected a string or a list of tokens, got {_kind(sentence)}")
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
        return self._dataset_reader.text_to_instance(tokens)  # type: ignore[call-arg]


def _kind(value: Any) -> str:
    return "None" if value is None else type(value).__name__
