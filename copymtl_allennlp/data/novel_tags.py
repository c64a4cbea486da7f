"""The tagging scheme of NovelTagging (Zheng et al. 2017, "Joint Extraction of Entities and
Relations Based on a Novel Tagging Scheme"), Section 3.1: one tag per token, ``O`` or
``{position}-{relation}-{role}`` with position ``B`` / ``I`` / ``E`` / ``S`` (begin, inside, end
of a multi-token entity, or a single-token entity) and role ``1`` (the triplet's head) or ``2``
(its tail). ``B-founder_of-1`` is the first token of the head of a ``founder_of`` triplet.

The scheme gives a token one tag, so a sentence whose triplets share a token in two ways (an
entity in triplets of two relations or in two roles, overlapping entities, a head equal to its
tail) cannot be expressed: :func:`novel_tags` says which triplets it leaves out.

From tags back to triplets (Section 3.2, "the nearest principle"), :func:`triplets_from_tags`:
entities are read off the tags (``S``, or ``B I* E`` with one relation and role; broken
sequences are dropped); for each relation, every role-1 entity is joined to the nearest role-2
entity of that relation, and every role-2 entity that no role-1 entity chose to its nearest
role-1 entity. The distance between two entities is the number of tokens between them; a tie
goes to the entity on the left. So each tagged entity ends up in at least one triplet when its
relation has a partner, and one head with two tails (or two heads with one tail) gives two
triplets.
"""
from typing import Dict, List, Sequence, Tuple

from copymtl_allennlp.data.triplets import Span, Triplet

OUTSIDE = "O"
HEAD_ROLE, TAIL_ROLE = "1", "2"


def entity_tags(span: Span, relation: str, role: str) -> List[str]:
    """The tags of one entity: ``S-r-k`` for one token, ``B-r-k I-r-k ... E-r-k`` for more."""
    start, end = span
    if end - start == 1:
        return [f"S-{relation}-{role}"]
    return [f"B-{relation}-{role}"] + [f"I-{relation}-{role}"] * (end - start - 2) + [f"E-{relation}-{role}"]


def novel_tags(num_tokens: int, triplets: Sequence[Triplet]) -> Tuple[List[str], List[Triplet]]:
    """Tags of ``num_tokens`` tokens for the triplets, placed in order. A triplet is placed when
    the tokens of both its entities are free (``O``) or already carry exactly its tags (the same
    entity in the same relation and role, as in two triplets sharing a head); otherwise, or when
    its head and tail overlap, it is left out. Returns the tags and the triplets left out."""
    tags = [OUTSIDE] * num_tokens
    left_out = []
    for triplet in triplets:
        (head_start, head_end), (tail_start, tail_end) = triplet.head, triplet.tail
        if head_start < tail_end and tail_start < head_end:
            left_out.append(triplet)
            continue
        placed = [
            (span, entity_tags(span, triplet.relation, role))
            for span, role in ((triplet.head, HEAD_ROLE), (triplet.tail, TAIL_ROLE))
        ]
        if any(
            tags[i] not in (OUTSIDE, wanted)
            for (start, end), span_tags in placed
            for i, wanted in zip(range(start, end), span_tags)
        ):
            left_out.append(triplet)
            continue
        for (start, end), span_tags in placed:
            tags[start:end] = span_tags
    return tags, left_out


def split_tag(tag: str) -> Tuple[str, str, str]:
    """``(position, relation, role)`` of a tag other than ``O`` (relations may hold ``-``)."""
    return tag[0], tag[2:-2], tag[-1]


def tagged_entities(tags: Sequence[str]) -> List[Tuple[Span, str, str]]:
    """``(span, relation, role)`` of every well-formed entity of the tags, left to right: ``S``
    alone, or ``B``, any ``I``, then ``E``, all with one relation and role. Anything else (an
    ``I`` or ``E`` without its ``B``, a ``B`` without its ``E``, a change of relation or role
    inside) is dropped."""
    entities = []
    open_entity = None  # (start, relation, role) of a B not yet closed
    for i, tag in enumerate(tags):
        if tag == OUTSIDE:
            open_entity = None
            continue
        position, relation, role = split_tag(tag)
        if position == "S":
            entities.append(((i, i + 1), relation, role))
            open_entity = None
        elif position == "B":
            open_entity = (i, relation, role)
        elif open_entity is None or open_entity[1:] != (relation, role):
            open_entity = None
        elif position == "E":
            entities.append(((open_entity[0], i + 1), relation, role))
            open_entity = None
    return entities


def _distance(a: Span, b: Span) -> int:
    """Tokens between two disjoint spans."""
    return max(a[0] - b[1], b[0] - a[1])


def _nearest(entity: Span, candidates: List[Span]) -> Span:
    # candidates are in sentence order, so min() keeps the left one of a tie
    return min(candidates, key=lambda other: _distance(entity, other))


def triplets_from_tags(tags: Sequence[str]) -> List[Triplet]:
    """The triplets of a tag sequence by the nearest principle (the module docstring), in order
    of their head, then tail."""
    by_relation: Dict[str, Dict[str, List[Span]]] = {}
    for span, relation, role in tagged_entities(tags):
        by_relation.setdefault(relation, {HEAD_ROLE: [], TAIL_ROLE: []})[role].append(span)
    triplets = set()
    for relation, roles in by_relation.items():
        heads, tails = roles[HEAD_ROLE], roles[TAIL_ROLE]
        if not heads or not tails:
            continue
        chosen_tails = set()
        for head in heads:
            tail = _nearest(head, tails)
            chosen_tails.add(tail)
            triplets.add(Triplet(relation, head, tail))
        for tail in tails:
            if tail not in chosen_tails:
                triplets.add(Triplet(relation, _nearest(tail, heads), tail))
    return sorted(triplets, key=lambda t: (t.head, t.tail, t.relation))
