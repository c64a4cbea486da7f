"""The triplet record shared by the readers, the converter, the model and the metric.

A span is a half-open token interval ``(start, end)``: tokens ``start .. end - 1``, as in the
canonical JSONL (``{"head": [start, end), ...}``).
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

Span = Tuple[int, int]


@dataclass(frozen=True)
class Triplet:
    relation: str
    head: Span
    tail: Span

    def to_json(self) -> Dict[str, Any]:
        return {"head": list(self.head), "relation": self.relation, "tail": list(self.tail)}

    def last_tokens(self) -> Tuple[str, int, int]:
        """(relation, last token of head, last token of tail): CopyRE's lenient view."""
        return self.relation, self.head[1] - 1, self.tail[1] - 1


@dataclass
class Sentence:
    tokens: List[str]
    triplets: List[Triplet]

    def to_json(self) -> Dict[str, Any]:
        return {"tokens": self.tokens, "triplets": [t.to_json() for t in self.triplets]}


def deduplicate(triplets: Sequence[Triplet]) -> Tuple[List[Triplet], int]:
    """Drops repeated triplets, keeping the first occurrence and the order; returns the number dropped."""
    kept = list(dict.fromkeys(triplets))
    return kept, len(triplets) - len(kept)


def entity_mentions(triplets: Sequence[Triplet]) -> List[Span]:
    """Distinct entity spans of the triplets (heads and tails), in order of first appearance."""
    spans: Dict[Span, None] = {}
    for triplet in triplets:
        spans.setdefault(triplet.head)
        spans.setdefault(triplet.tail)
    return list(spans)


def bio_tags(num_tokens: int, spans: Sequence[Span], encoding: str = "BIO") -> Tuple[List[str], int]:
    """BIO tags (``B``, ``I``, ``O``), or with ``encoding="BIOES"`` also ``E`` (an entity's last
    token) and ``S`` (a one-token entity), over ``num_tokens`` tokens for the given entity spans.

    Neither can express overlapping mentions. Spans are placed longest first (then leftmost); a span
    that overlaps one already placed is left out. Returns the tags and the number left out.
    """
    if encoding not in ("BIO", "BIOES"):
        raise ValueError(f"encoding must be 'BIO' or 'BIOES', got {encoding!r}")
    tags = ["O"] * num_tokens
    conflicts = 0
    for start, end in sorted(set(spans), key=lambda s: (-(s[1] - s[0]), s[0])):
        if any(tag != "O" for tag in tags[start:end]):
            conflicts += 1
            continue
        tags[start:end] = ["B"] + ["I"] * (end - start - 1)
        if encoding == "BIOES":
            tags[end - 1] = "S" if end - start == 1 else "E"
    return tags, conflicts


def spans_from_tags(tags: Sequence[str]) -> List[Span]:
    """The entity spans of BIOES tags, left to right: ``S``, or ``B``, any ``I``, then ``E``; a
    broken sequence (``I`` or ``E`` without its ``B``, a ``B`` not closed by ``E``) is dropped.
    (AllenNLP's ``bioul_tags_to_spans`` raises on a broken sequence instead; predicted tags are
    unconstrained, so GraphRel needs the dropping.)"""
    spans = []
    start = None
    for i, tag in enumerate(tags):
        if tag == "S":
            spans.append((i, i + 1))
            start = None
        elif tag == "B":
            start = i
        elif tag == "E" and start is not None:
            spans.append((start, i + 1))
            start = None
        elif tag != "I":
            start = None
    return spans


def readable_triplets(tokens: Sequence[str], triplets: Sequence[Triplet]) -> List[Dict[str, Any]]:
    """The predictor's view of a sentence's triplets: each entity's words and ``[start, end)`` span."""
    return [
        {
            "head": " ".join(tokens[t.head[0] : t.head[1]]),
            "head_span": list(t.head),
            "relation": t.relation,
            "tail": " ".join(tokens[t.tail[0] : t.tail[1]]),
            "tail_span": list(t.tail),
        }
        for t in triplets
    ]
