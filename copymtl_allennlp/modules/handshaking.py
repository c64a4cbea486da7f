"""TPLinker's handshaking tagging (Wang et al., COLING 2020), in one place: the token-pair table,
its tag scheme both ways (triplets to tags, tags to triplets) and the handshaking kernel.

The table holds every token pair ``(i, j)`` with ``i <= j`` of a sentence (the upper triangle,
``L (L + 1) / 2`` pairs, in row order: ``(0, 0), (0, 1), ..., (1, 1), ...``). Three tag sets:

- entity (EH-to-ET): pair ``(start, end)`` of an entity span is ``1`` (``EH-ET``);
- head (SH-to-OH), one tag per relation ``r``: pair ``(head start, tail start)`` is ``1``
  (``SH-OH``) when the head starts first or both start together, else pair ``(tail start, head
  start)`` is ``2`` (``OH-SH``): the table has no lower triangle, so the direction is a tag;
- tail (ST-to-OT), likewise for ``(head end, tail end)``: ``1`` (``ST-OT``) or ``2`` (``OT-ST``).

A cell that two triplets of one relation claim in opposite directions keeps ``2`` (the larger
tag; the reader counts such triplets as ``handshaking_collisions``).

Decoding (the paper's): entities are the ``EH-ET`` pairs; for each ``SH-OH`` / ``OH-SH`` link of
relation ``r`` between a head start ``a`` and a tail start ``b``, every entity starting at ``a``
paired with every entity starting at ``b`` whose ends the tail table links for ``r`` in the same
direction is a triplet.
"""
from typing import Dict, List, Optional, Set, Tuple

import torch

from copymtl_allennlp.data.triplets import Span

ENTITY_TAGS = ("O", "EH-ET")
HEAD_TAGS = ("O", "SH-OH", "OH-SH")
TAIL_TAGS = ("O", "ST-OT", "OT-ST")

Link = Tuple[int, int, int]  # (relation, head position, tail position)


def pair_positions(seq_len: int, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    """The rows ``i`` and columns ``j`` of the table's pairs, in order, each of shape (num_pairs,)."""
    rows, columns = torch.triu_indices(seq_len, seq_len, device=device)
    return rows, columns


def pair_index(seq_len: int, device: torch.device) -> torch.Tensor:
    """The table index of pair ``(i, j)`` for ``i <= j`` (``-1`` below the diagonal), shape (seq_len, seq_len)."""
    rows, columns = pair_positions(seq_len, device)
    index = torch.full((seq_len, seq_len), -1, dtype=torch.long, device=device)
    index[rows, columns] = torch.arange(rows.numel(), device=device)
    return index


def handshaking_tags(
    relations: torch.Tensor, spans: torch.Tensor, seq_len: int, num_relations: int
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The gold tags of a batch: entity (batch, num_pairs) and head and tail (batch, num_pairs,
    num_relations), from ``relations`` (batch, num_triplets; negative: padding or a relation the
    vocabulary lacks, left out) and ``spans`` (batch, num_triplets, 4: head start, head end, tail
    start, tail end, half-open). Spans reaching past ``seq_len`` are left out too."""
    batch_size = relations.size(0)
    device = relations.device
    index = pair_index(seq_len, device)
    num_pairs = seq_len * (seq_len + 1) // 2
    head_start, head_end, tail_start, tail_end = spans[..., 0], spans[..., 1] - 1, spans[..., 2], spans[..., 3] - 1
    valid = (relations >= 0) & (head_end < seq_len) & (tail_end < seq_len) & (head_end >= head_start) & (tail_end >= tail_start)
    sentence = torch.arange(batch_size, device=device).unsqueeze(1).expand_as(relations)[valid]
    relation = relations[valid]
    hs, he, ts, te = (value[valid] for value in (head_start, head_end, tail_start, tail_end))

    entity = torch.zeros(batch_size * num_pairs, dtype=torch.long, device=device)
    for start, end in ((hs, he), (ts, te)):
        entity.scatter_reduce_(0, sentence * num_pairs + index[start, end], torch.ones_like(start), reduce="amax")

    def links(head: torch.Tensor, tail: torch.Tensor) -> torch.Tensor:
        tags = torch.zeros(batch_size * num_pairs * num_relations, dtype=torch.long, device=device)
        forward = head <= tail
        cell = index[torch.minimum(head, tail), torch.maximum(head, tail)]
        flat = (sentence * num_pairs + cell) * num_relations + relation
        tags.scatter_reduce_(0, flat, torch.where(forward, 1, 2), reduce="amax")
        return tags.view(batch_size, num_pairs, num_relations)

    return entity.view(batch_size, num_pairs), links(hs, ts), links(he, te)


def decode_handshaking(
    entity: torch.Tensor, head: torch.Tensor, tail: torch.Tensor, lengths: List[int], max_triplets: Optional[int] = None
) -> List[List[Tuple[int, Span, Span]]]:
    """The triplets ``(relation, head span, tail span)`` (spans half-open) of each sentence from
    predicted tags: entity (batch, num_pairs), head and tail (batch, num_pairs, num_relations), in
    the table of the batch's length; pairs past a sentence's ``lengths`` are ignored. With
    ``max_triplets`` a sentence's decoding stops at that many triplets (an untrained model tags
    links everywhere: every pair of entity spans would be a triplet)."""
    seq_len = int(round(((8 * entity.size(1) + 1) ** 0.5 - 1) / 2))
    rows, columns = (p.tolist() for p in pair_positions(seq_len, entity.device))
    return [
        _sentence_triplets(entity[b], head[b], tail[b], length, rows, columns, max_triplets)
        for b, length in enumerate(lengths)
    ]


def _sentence_triplets(
    entity: torch.Tensor, head: torch.Tensor, tail: torch.Tensor, length: int, rows: List[int], columns: List[int],
    max_triplets: Optional[int],
) -> List[Tuple[int, Span, Span]]:
    """One sentence of :func:`decode_handshaking`: entity (num_pairs,), head and tail (num_pairs,
    num_relations)."""
    entities: Dict[int, List[Span]] = {}
    for p in entity.nonzero().flatten().tolist():
        if columns[p] < length:
            entities.setdefault(rows[p], []).append((rows[p], columns[p] + 1))
    tail_links: Set[Link] = set()
    for (p, r), tag in _nonzero(tail):
        i, j = rows[p], columns[p]
        tail_links.add((r, i, j) if tag == 1 else (r, j, i))
    triplets: List[Tuple[int, Span, Span]] = []
    for (p, r), tag in _nonzero(head):
        i, j = rows[p], columns[p]
        head_start, tail_start = (i, j) if tag == 1 else (j, i)
        for head_span in entities.get(head_start, ()):
            for tail_span in entities.get(tail_start, ()):
                if (r, head_span[1] - 1, tail_span[1] - 1) in tail_links:
                    triplets.append((r, head_span, tail_span))
                    if max_triplets is not None and len(triplets) >= max_triplets:
                        return triplets
    return triplets


def _nonzero(tags: torch.Tensor) -> List[Tuple[List[int], int]]:
    """The positions and values of the nonzero tags."""
    positions = tags.nonzero()
    return list(zip(positions.tolist(), tags[tuple(positions.t())].tolist()))


class HandshakingKernel(torch.nn.Module):
    """The paper's handshaking kernel (``cat``): every pair ``(i, j)``, ``i <= j``, as
    ``h_ij = tanh(W_h · [h_i; h_j] + b_h)``, computed as ``W_1 h_i + W_2 h_j`` (each token projected
    once, then gathered per pair)."""

    def __init__(self, input_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.first = torch.nn.Linear(input_dim, hidden_dim)
        self.second = torch.nn.Linear(input_dim, hidden_dim, bias=False)

    def forward(self, encoded: torch.Tensor, mask: torch.BoolTensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``encoded``: (batch, seq_len, input_dim). Returns the pairs (batch, num_pairs, hidden_dim)
        and their mask (batch, num_pairs): both tokens inside the sentence."""
        rows, columns = pair_positions(encoded.size(1), encoded.device)
        pairs = torch.tanh(self.first(encoded)[:, rows] + self.second(encoded)[:, columns])
        return pairs, mask[:, rows] & mask[:, columns]
