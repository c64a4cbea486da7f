import json
from typing import List, Optional, Union

from allennlp.common.util import JsonDict
from allennlp.data import DatasetReader, Instance
from allennlp.data.tokenizers import Tokenizer
from allennlp.models import Model
from allennlp.predictors import Predictor

from copymtl_allennlp.data.tokenizers import SpacyRulesTokenizer


def load_extractor(archive_path: str, cuda_device: int = -1) -> "CopyMTLPredictor":
    """The Python API: ``extract = load_extractor("model.tar.gz")``, then ``extract("text")``
    (a list of triplets) or ``extract(["text", ...])`` (a list per sentence)."""
    return Predictor.from_path(archive_path, "copymtl", cuda_device=cuda_device)  # type: ignore[return-value]


@Predictor.register("copymtl")
class CopyMTLPredictor(Predictor):
    """Extracts triplets from ``{"sentence": "raw text"}`` (tokenized by ``tokenizer``, by default
    spaCy's rule-based English tokenizer) or ``{"tokens": [...]}``, one JSON object per line.

    Output per sentence: ``{"tokens": [...], "triplets": [{"head", "head_span", "relation",
    "tail", "tail_span"}], "entity_tags": [...]}`` (tags with the tagging head only). Spans are
    ``[start, end)`` token offsets.

    A bad input line raises ``ValueError("input line N: ...")``, N counting the non-blank lines
    that ``allennlp predict`` reads (it skips blank lines).
    """

    def __init__(self, model: Model, dataset_reader: DatasetReader, tokenizer: Optional[Tokenizer] = None) -> None:
        super().__init__(model, dataset_reader)
        self._tokenizer = tokenizer or SpacyRulesTokenizer()
        self._lines_read = 0

    def load_line(self, line: str) -> JsonDict:
        self._lines_read += 1
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"input line {self._lines_read}: malformed JSON ({error.msg}, column {error.colno})")
        if not isinstance(record, dict):
            raise ValueError(f"input line {self._lines_read}: expected a JSON object, got {type(record).__name__}")
        record.setdefault("_line", self._lines_read)
        return record

    def __call__(
        self, text: Union[str, List[str], List[List[str]]], batch_size: int = 64
    ) -> Union[List[JsonDict], List[List[JsonDict]]]:
        """The triplets of one sentence, or of each sentence of a list. A sentence is raw text or
        a list of tokens. Lists are run in batches of ``batch_size`` sentences of similar length
        (less padding); the answers come back in the input order."""
        if isinstance(text, str):
            return self.predict_json({"sentence": text})["triplets"]
        records = [{"tokens": s} if isinstance(s, list) else {"sentence": s} for s in text]
        instances = [self._json_to_instance(r) for r in records]
        order = sorted(range(len(instances)), key=lambda i: len(instances[i]["source_tokens"]))
        answers: List[List[JsonDict]] = [[] for _ in instances]
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            for index, output in zip(chunk, self.predict_batch_instance([instances[i] for i in chunk])):
                answers[index] = output["triplets"]
        return answers

    def _json_to_instance(self, json_dict: JsonDict) -> Instance:
        where = f"input line {json_dict['_line']}" if "_line" in json_dict else "input"
        if "tokens" in json_dict:
            tokens = json_dict["tokens"]
            if not isinstance(tokens, list) or not all(isinstance(t, str) and t.strip() for t in tokens):
                raise ValueError(f"{where}: 'tokens' must be a list of non-empty strings")
        elif "sentence" in json_dict:
            if not isinstance(json_dict["sentence"], str):
                raise ValueError(f"{where}: 'sentence' must be a string")
            tokens = [t.text for t in self._tokenizer.tokenize(json_dict["sentence"])]
        else:
            raise ValueError(f"{where}: expected a 'sentence' (raw text) or 'tokens' (a list) field")
        if not tokens:
            raise ValueError(f"{where}: empty sentence")
        return self._dataset_reader.text_to_instance(tokens)  # type: ignore[call-arg]
