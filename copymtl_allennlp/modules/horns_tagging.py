"""OneRel's relation-specific horns tagging (Shang et al., AAAI 2022), in one place: the tag
scheme both ways (triplets to tags, tags to triplets) and the score-based classifier.

For each relation ``r`` the table holds every ordered token pair ``(i, j)`` (``i`` a head-entity
token, ``j`` a tail-entity token; ``L x L`` cells, both triangles). A triplet ``(r, head [hb, he],
tail [tb, te])`` (inclusive ends here) marks three corners of its rectangle, its horns:

- ``HB-TB`` at ``(hb, tb)``: head begin, tail begin;
- ``HB-TE`` at ``(hb, te)``: head begin, tail end;
- ``HE-TE`` at ``(he, te)``: head end, tail end.

The paper tags a cell with one of the four tags ``-``, ``HB-TB``, ``HB-TE``, ``HE-TE``. Its tokens
are BERT word pieces followed by a marker token, so an entity spans at least two positions and
the three horns of a triplet never share a cell. On words they do: a single-token tail puts
``HB-TB`` and ``HB-TE`` in one cell, a single-token head ``HB-TE`` and ``HE-TE``, both all three.
Here a cell's tag is the set of horns it holds, a bit each (``HB-TB`` 1, ``HB-TE`` 2, ``HE-TE``
4): 8 tags, of which ``0`` to ``4`` with one bit are the paper's; the classifier picks one of the
8 as the paper's picks one of its 4. Two triplets of one relation that share a cell share it the
same way, so the tags hold every triplet exactly.

Decoding (the paper's, on the horn bits): each cell ``(hb, tb)`` of relation ``r`` whose tag holds
``HB-TB`` starts a triplet; its tail ends at the nearest ``te >= tb`` of row ``hb`` whose tag holds
``HB-TE``, its head at the nearest ``he >= hb`` of column ``te`` whose tag holds ``HE-TE``; a start
without either is no triplet. Triplets of one relation whose rectangles share corners can decode
to the wrong ends (the reader counts the gold triplets its own tags do not give back,
``horns_ambiguities``).
"""
from typing import List, Optional, Tuple

import torch

from copymtl_allennlp.data.triplets import Span

HB_TB, HB_TE, HE_TE = 1, 2, 4
NUM_HORNS_TAGS = 8  # every set of the three horns, 0 (``-``) to 7


def horns_tags(relations: torch.Tensor, spans: torch.Tensor, seq_len: int, num_relations: int) -> torch.Tensor:
    """The gold tags of a batch, shape (batch, seq_len, seq_len, num_relations): cell ``(b, i, j,
    r)`` the horn bits of sentence ``b``'s triplets of relation ``r`` at head token ``i`` and tail
    token ``j``. ``relations`` (batch, num_triplets; negative: padding or a relation the vocabulary
    lacks, left out) and ``spans`` (batch, num_triplets, 4: head start, head end, tail start, tail
    end, half-open) as the reader's targets. Spans reaching past ``seq_len`` are left out too."""
    batch_size = relations.size(0)
    device = relations.device
    head_begin, head_end, tail_begin, tail_end = spans[..., 0], spans[..., 1] - 1, spans[..., 2], spans[..., 3] - 1
    valid = (
        (relations >= 0) & (head_end < seq_len) & (tail_end < seq_len) & (head_end >= head_begin) & (tail_end >= tail_begin)
    )
    sentence = torch.arange(batch_size, device=device).unsqueeze(1).expand_as(relations)[valid]
    relation = relations[valid]
    hb, he, tb, te = (value[valid] for value in (head_begin, head_end, tail_begin, tail_end))
    tags = torch.zeros(batch_size, seq_len, seq_len, num_relations, dtype=torch.long, device=device)
    for row, column, bit in ((hb, tb, HB_TB), (hb, te, HB_TE), (he, te, HE_TE)):
        # a cell two triplets claim for one horn is written twice with the same value
        tags[sentence, row, column, relation] = tags[sentence, row, column, relation] | bit
    return tags


def decode_horns(tags: torch.Tensor, lengths: List[int], max_triplets: Optional[int] = None) -> List[List[Tuple[int, Span, Span]]]:
    """The triplets ``(relation, head span, tail span)`` (spans half-open) of each sentence from
    its tags (batch, seq_len, seq_len, num_relations); cells past a sentence's ``lengths`` are
    ignored. With ``max_triplets`` a sentence's decoding keeps its first that many starts (in the
    order head begin, tail begin, relation): an untrained model tags horns everywhere."""
    return [_sentence_triplets(tags[b, :length, :length], max_triplets) for b, length in enumerate(lengths)]


def _sentence_triplets(tags: torch.Tensor, max_triplets: Optional[int]) -> List[Tuple[int, Span, Span]]:
    """One sentence of :func:`decode_horns`: tags (length, length, num_relations)."""
    length = tags.size(0)
    # only the relations with a start (a trained model: a few of the hundreds)
    relations = ((tags & HB_TB) > 0).flatten(0, 1).any(dim=0).nonzero().flatten()
    if length == 0 or relations.numel() == 0:
        return []
    tags = tags[:, :, relations]
    positions = torch.arange(length, device=tags.device).view(-1, 1)
    # the nearest HB-TE at or after each column of its row, the nearest HE-TE at or below each row
    # of its column (``length``: none), by a cumulative minimum from the far end
    nearest_tail_end = _nearest_from(torch.where((tags & HB_TE) > 0, positions.unsqueeze(0), length), dim=1)
    nearest_head_end = _nearest_from(torch.where((tags & HE_TE) > 0, positions.unsqueeze(1), length), dim=0)
    head_begin, tail_begin, relation = ((tags & HB_TB) > 0).nonzero().unbind(1)
    tail_end = nearest_tail_end[head_begin, tail_begin, relation]
    head_end = nearest_head_end[head_begin, tail_end.clamp(max=length - 1), relation]
    found = ((tail_end < length) & (head_end < length)).nonzero().flatten()[:max_triplets]
    return [
        (r, (hb, he + 1), (tb, te + 1))
        for hb, tb, r, te, he in zip(
            *(value[found].tolist() for value in (head_begin, tail_begin, relations[relation], tail_end, head_end))
        )
    ]


def _nearest_from(candidates: torch.Tensor, dim: int) -> torch.Tensor:
    """For every index along ``dim``, the minimum of ``candidates`` at that index or after it."""
    return candidates.flip(dim).cummin(dim).values.flip(dim)


class HornsTagScorer(torch.nn.Module):
    """OneRel's score-based classifier: every ordered token pair ``(i, j)`` is projected,
    ``e_ij = ReLU(dropout(W_p [h_i; h_j] + b_p))`` (width ``pair_size``; the paper's 3 x the encoder
    width), and scored against every relation and tag at once, ``s_ij = W_r e_ij + b_r`` (a
    ``num_relations x num_tags`` score for the cell; the paper's relation embeddings as the rows of
    ``W_r``). ``W_p [h_i; h_j]`` is computed as ``W_1 h_i + W_2 h_j`` (each token projected once)."""

    def __init__(self, input_dim: int, pair_size: int, num_relations: int, num_tags: int = NUM_HORNS_TAGS, dropout: float = 0.0) -> None:
        super().__init__()
        self.head = torch.nn.Linear(input_dim, pair_size)
        self.tail = torch.nn.Linear(input_dim, pair_size, bias=False)
        self.pair_dropout = torch.nn.Dropout(dropout)
        self.relation_tags = torch.nn.Linear(pair_size, num_relations * num_tags)
        self.num_relations = num_relations
        self.num_tags = num_tags

    def forward(self, encoded: torch.Tensor) -> torch.Tensor:
        """``encoded``: (batch, seq_len, input_dim). Returns the scores (batch, seq_len, seq_len,
        num_tags, num_relations): head token, tail token, tag, relation (the tags before the
        relations: the layout in which the cross-entropy over the tags runs fast)."""
        batch_size, seq_len, _ = encoded.shape
        pairs = self.head(encoded).unsqueeze(2) + self.tail(encoded).unsqueeze(1)
        pairs = torch.relu(self.pair_dropout(pairs))
        return self.relation_tags(pairs).view(batch_size, seq_len, seq_len, self.num_tags, self.num_relations)
