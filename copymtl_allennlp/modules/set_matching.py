"""The set decoder's training objective, in one place: slots matched to gold triplets by minimum
cost (the Hungarian assignment), then each matched slot trained on its triplet and every other slot
on NA (Sui et al.'s set prediction loss, in the copy family's terms).

Notation: ``B`` sentences, ``N`` slots, ``G`` gold triplets per sentence (padded), ``C`` relation
classes (the ``R`` relations, then NA at index ``R``), ``L`` source tokens, and the four pointers
of :data:`POINTERS` (head start, head end, tail start, tail end).

Matching cost of slot ``n`` and gold triplet ``g`` (the set prediction networks' cost):
``cost(n, g) = -(p_n(r_g) + p_n^hs(hs_g) + p_n^he(he_g) + p_n^ts(ts_g) + p_n^te(te_g))``, with
probabilities, not log-probabilities, so one badly placed pointer does not dominate.

Loss, given the matching ``σ`` (pairs ``(n, g)``):
``L_D = Σ_n w(y_n) · -log p_n(y_n) / Σ_n w(y_n)``  (``y_n = r_g`` for a matched slot, NA otherwise;
``w(NA) = na_weight``, 1 for a relation; the weighted mean over every slot of the batch)
``    + Σ_k mean over (n, g) in σ of -log p_n^k(k_g)``  (one term per pointer ``k``).

A sum over matched pairs and over slots: the loss does not depend on the order of the gold
triplets.
"""
from typing import Tuple

import numpy
import torch
from scipy.optimize import linear_sum_assignment

POINTERS = ("head_start", "head_end", "tail_start", "tail_end")


def matching_cost(
    relation_probs: torch.Tensor, pointer_probs: torch.Tensor, gold_relations: torch.Tensor, gold_positions: torch.Tensor
) -> torch.Tensor:
    """The cost of every (slot, gold triplet) pair, shape (B, N, G).

    ``relation_probs``: (B, N, C); ``pointer_probs``: (B, N, 4, L); ``gold_relations``: (B, G)
    (negative for padding, whose costs are then meaningless); ``gold_positions``: (B, G, 4), the
    token positions of :data:`POINTERS`."""
    batch_size, num_slots, _ = relation_probs.shape
    num_gold = gold_relations.size(1)
    # shape: (B, N, G)
    relation = relation_probs.gather(2, gold_relations.clamp(min=0).unsqueeze(1).expand(batch_size, num_slots, num_gold))
    # shape: (B, N, 4, G): each slot's probability of each gold triplet's four positions
    positions = gold_positions.clamp(min=0).permute(0, 2, 1).unsqueeze(1).expand(batch_size, num_slots, len(POINTERS), num_gold)
    pointers = pointer_probs.gather(3, positions).sum(dim=2)
    return -(relation + pointers)


def hungarian_match(cost: torch.Tensor, valid: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The minimum-cost assignment of slots to the valid gold triplets of each sentence
    (``scipy.optimize.linear_sum_assignment``; the costs go to the CPU once per batch).

    ``cost``: (B, N, G); ``valid``: (B, G). Returns three index tensors of equal length (on
    ``cost``'s device): the sentence, the slot and the gold triplet of every matched pair. A
    sentence without valid gold triplets has none; one with more valid gold triplets than slots
    is the caller's error (every gold triplet must get a slot)."""
    costs = cost.detach().float().cpu().numpy()
    valid_rows = valid.cpu().numpy()
    sentences, slots, golds = [], [], []
    for b in range(costs.shape[0]):
        columns = numpy.flatnonzero(valid_rows[b])
        if columns.size == 0:
            continue
        rows, matched = linear_sum_assignment(costs[b][:, columns])
        sentences.append(numpy.full(rows.size, b))
        slots.append(rows)
        golds.append(columns[matched])

    def tensor(parts) -> torch.Tensor:
        values = numpy.concatenate(parts) if parts else numpy.zeros(0, dtype=numpy.int64)
        return torch.as_tensor(values, dtype=torch.long, device=cost.device)

    return tensor(sentences), tensor(slots), tensor(golds)


def set_loss(
    relation_log_probs: torch.Tensor,
    pointer_log_probs: torch.Tensor,
    gold_relations: torch.Tensor,
    gold_positions: torch.Tensor,
    na_weight: float,
) -> torch.Tensor:
    """``L_D`` of the module docstring, a scalar.

    ``relation_log_probs``: (B, N, C), NA the last class; ``pointer_log_probs``: (B, N, 4, L),
    padding positions at (near) zero probability; ``gold_relations``: (B, G), a relation index,
    or negative for padding and for relations the vocabulary lacks (left out); ``gold_positions``:
    (B, G, 4)."""
    batch_size, num_slots, num_classes = relation_log_probs.shape
    valid = gold_relations >= 0
    cost = matching_cost(relation_log_probs.exp(), pointer_log_probs.exp(), gold_relations, gold_positions)
    sentences, slots, golds = hungarian_match(cost, valid)
    na = num_classes - 1
    # shape: (B, N): NA for every slot but the matched ones
    targets = torch.full((batch_size, num_slots), na, dtype=torch.long, device=gold_relations.device)
    targets[sentences, slots] = gold_relations[sentences, golds]
    weights = relation_log_probs.new_ones(num_classes)
    weights[na] = na_weight
    relation_loss = torch.nn.functional.nll_loss(relation_log_probs.reshape(-1, num_classes), targets.reshape(-1), weight=weights)
    if sentences.numel() == 0:
        return relation_loss
    # shape: (matched, 4, L) and (matched, 4)
    matched = pointer_log_probs[sentences, slots]
    positions = gold_positions[sentences, golds]
    pointer_loss = -matched.gather(2, positions.unsqueeze(2)).squeeze(2).mean(dim=0).sum()
    return relation_loss + pointer_loss
