"""The triplet metrics of the paper, in one place.

Per sentence, predicted and gold triplets are sets (repeats count once); a predicted triplet whose
relation or either span is ``None`` is an NA triplet and is ignored. Counts are summed over the
corpus (micro average).

``precision / recall / f1`` (strict, the paper's Tables 1 and 5): correct only if the relation
    and every token of head and tail match a gold triplet.
``lenient_*`` (CopyRE's, Table 3): spans reduced to their last token before matching.
``relation_*`` (Table 4): a predicted triplet counts for its relation; a sentence's predicted
    relations are matched to its gold relations as multisets (``min`` of the two counts per
    relation), over the triplets.
``entity_*`` (Table 4): the same for the (head, tail) span pair, ignoring the relation.
``swaps``: predicted triplets that are wrong but correct with head and tail exchanged.
``text_*`` (with the sentences' ``tokens``): the field's exact match on WebNLG and NYT (ETL-Span,
    TPLinker, PRGC, OneRel compare triplets as text): a triplet is (relation, head words, tail
    words), so a predicted entity is right at any occurrence of its words in the sentence.

``unseen_relation_triplets`` (with ``known_relations``, only when there are any): gold triplets
    whose relation is not among ``known_relations`` (the model's vocabulary), which the model can
    never predict; they count in every recall like any other gold triplet, and their number is
    logged when the metric is reset (the end of an evaluation).

The released CopyMTL code counts a predicted relation (entity pair) as correct whenever it
occurs anywhere in the sentence's gold, so one gold relation can be matched many times and
recall can exceed 1; the multiset matching here differs only in such sentences.
"""
import logging
from collections import Counter
from typing import Collection, Dict, Hashable, Iterable, List, Optional, Sequence, Set, Tuple

import torch
from allennlp.common.util import is_distributed
from allennlp.nn.util import dist_reduce_sum
from allennlp.training.metrics import Metric

from copymtl_allennlp.data.triplets import Triplet

logger = logging.getLogger(__name__)

COUNTS = ("strict", "lenient", "relation", "entity", "text")


def _is_na(triplet: Triplet) -> bool:
    return triplet.relation is None or triplet.head is None or triplet.tail is None


def _as_text(triplet: Triplet, tokens: Sequence[str]) -> Tuple[str, Tuple[str, ...], Tuple[str, ...]]:
    (head_start, head_end), (tail_start, tail_end) = triplet.head, triplet.tail
    return triplet.relation, tuple(tokens[head_start:head_end]), tuple(tokens[tail_start:tail_end])


def _multiset_matches(predicted: Iterable[Hashable], gold: Iterable[Hashable]) -> int:
    return sum((Counter(predicted) & Counter(gold)).values())


def _prf(correct: int, predicted: int, gold: int) -> Tuple[float, float, float]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


@Metric.register("triplet_f1")
class TripletF1(Metric):
    supports_distributed = True

    def __init__(self, known_relations: Optional[Collection[str]] = None) -> None:
        self._known_relations = None if known_relations is None else frozenset(known_relations)
        self.reset()

    def reset(self) -> None:
        # for each kind: [correct, predicted, gold]
        self._counts: Dict[str, List[int]] = {kind: [0, 0, 0] for kind in COUNTS}
        self._swaps = 0
        self._unseen_relations = 0
        self._text_scored = False

    def __call__(
        self,
        predicted_triplets: Sequence[Iterable[Triplet]],
        gold_triplets: Sequence[Iterable[Triplet]],
        mask: Optional[torch.BoolTensor] = None,
        tokens: Optional[Sequence[Sequence[str]]] = None,
    ) -> None:
        if len(predicted_triplets) != len(gold_triplets) or (tokens is not None and len(tokens) != len(gold_triplets)):
            raise ValueError(
                f"{len(predicted_triplets)} predicted triplet lists for {len(gold_triplets)} gold lists"
                + ("" if tokens is None else f" and {len(tokens)} sentences")
            )
        for index, (predicted_list, gold_list) in enumerate(zip(predicted_triplets, gold_triplets)):
            predicted = {t for t in predicted_list if not _is_na(t)}
            gold = {t for t in gold_list if not _is_na(t)}
            if self._known_relations is not None:
                self._unseen_relations += sum(t.relation not in self._known_relations for t in gold)
            self._add("strict", len(predicted & gold), len(predicted), len(gold))
            lenient_predicted = {t.last_tokens() for t in predicted}
            lenient_gold = {t.last_tokens() for t in gold}
            self._add("lenient", len(lenient_predicted & lenient_gold), len(lenient_predicted), len(lenient_gold))
            self._add(
                "relation",
                _multiset_matches((t.relation for t in predicted), (t.relation for t in gold)),
                len(predicted),
                len(gold),
            )
            self._add(
                "entity",
                _multiset_matches(((t.head, t.tail) for t in predicted), ((t.head, t.tail) for t in gold)),
                len(predicted),
                len(gold),
            )
            swapped_gold: Set[Triplet] = {Triplet(t.relation, t.tail, t.head) for t in gold}
            self._swaps += len((predicted - gold) & swapped_gold)
            if tokens is not None:
                self._text_scored = True
                words = tokens[index]
                text_predicted = {_as_text(t, words) for t in predicted}
                text_gold = {_as_text(t, words) for t in gold}
                self._add("text", len(text_predicted & text_gold), len(text_predicted), len(text_gold))

    def _add(self, kind: str, correct: int, predicted: int, gold: int) -> None:
        counts = self._counts[kind]
        counts[0] += correct
        counts[1] += predicted
        counts[2] += gold

    def get_metric(self, reset: bool = False) -> Dict[str, float]:
        flat = [c for kind in COUNTS for c in self._counts[kind]] + [self._swaps, self._unseen_relations, int(self._text_scored)]
        if is_distributed():
            # on the process group's device (NCCL reduces CUDA tensors only)
            flat = dist_reduce_sum(torch.tensor(flat, dtype=torch.long)).tolist()
        metrics: Dict[str, float] = {}
        for index, kind in enumerate(COUNTS):
            precision, recall, f1 = _prf(*flat[3 * index : 3 * index + 3])
            prefix = "" if kind == "strict" else f"{kind}_"
            metrics[f"{prefix}precision"] = precision
            metrics[f"{prefix}recall"] = recall
            metrics[f"{prefix}f1"] = f1
        swaps, unseen_relations, text_scored = flat[-3:]
        if not text_scored:
            for key in ("text_precision", "text_recall", "text_f1"):
                del metrics[key]  # no sentence came with its tokens
        metrics["swaps"] = float(swaps)
        if unseen_relations:
            metrics["unseen_relation_triplets"] = float(unseen_relations)
        if reset:
            if unseen_relations:
                logger.warning(
                    "%d gold triplets have a relation that the model's vocabulary lacks (training never saw it): "
                    "counted in recall, never predicted",
                    unseen_relations,
                )
            self.reset()
        return metrics
