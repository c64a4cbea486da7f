from typing import Dict

import torch
from allennlp.data import Vocabulary
from allennlp.modules import ConditionalRandomField
from allennlp.modules.conditional_random_field import allowed_transitions

from copymtl_allennlp import compat
from copymtl_allennlp.data.namespaces import TAG_NAMESPACE
from copymtl_allennlp.modules.precision import at_least_float32


class TaggingHead(torch.nn.Module):
    """CopyMTL's sequence labelling layer: emission scores ``φ`` from the encoder outputs and an
    AllenNLP ``ConditionalRandomField`` over BIO tags, with BIO transition constraints.

    Eq. 11-12: ``p(tags | s) ∝ exp(Σ_i φ_{i,tag_i} + b_{tag_{i-1} → tag_i})``.
    Eq. 13: ``L_E = -log p(tags* | s)``, returned here as the **mean over the sentences of the
    batch** (AllenNLP's CRF returns a sum), so that ``λ`` in ``L = λ·L_E + L_D`` weighs two
    per-sentence losses, as the paper's loss averaged over the mini-batch does.
    """

    def __init__(self, vocab: Vocabulary, input_dim: int) -> None:
        super().__init__()
        labels: Dict[int, str] = vocab.get_index_to_token_vocabulary(TAG_NAMESPACE)
        self.num_tags = len(labels)
        self.emission = torch.nn.Linear(input_dim, self.num_tags)
        self.crf = ConditionalRandomField(self.num_tags, constraints=allowed_transitions("BIO", labels))
        self.index_of = {label: index for index, label in labels.items()}

    def forward(self, encoder_outputs: torch.Tensor) -> torch.Tensor:
        """Emission scores ``φ``, shape (batch, seq_len, num_tags); float32 under autocast (the CRF
        reads them)."""
        return at_least_float32(self.emission(encoder_outputs))

    def loss(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        """``L_E`` (Eq. 13), averaged over the batch."""
        return -self.crf(emissions, tags, mask) / emissions.size(0)

    def decode(self, emissions: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        """Viterbi tags, shape (batch, seq_len); padding positions hold the ``O`` index.

        The same best paths as ``self.crf.viterbi_tags`` (the CRF's transitions, start and end
        transitions, BIO constraints as its -10000 penalties), for the whole batch at once:
        AllenNLP decodes sentence by sentence, which took about 9% of paper-size inference.
        """
        crf, num_tags = self.crf, self.num_tags
        allowed = compat.crf_constraint_mask(crf).detach()
        penalty = -10000.0 * (1 - allowed)  # what ConditionalRandomField.viterbi_tags adds

        def constrained(scores, rows, columns):
            return scores * allowed[rows, columns] + penalty[rows, columns]

        tags_range, start_tag, end_tag = slice(0, num_tags), num_tags, num_tags + 1
        transitions = constrained(crf.transitions.detach(), tags_range, tags_range)
        if crf.include_start_end_transitions:
            start = constrained(crf.start_transitions.detach(), start_tag, tags_range)
            end = constrained(crf.end_transitions.detach(), tags_range, end_tag)
        else:
            start, end = penalty[start_tag, :num_tags], penalty[:num_tags, end_tag]
        # shape: (batch_size, num_tags): the best score of a path ending in each tag
        score = start + emissions[:, 0]
        stay = torch.arange(num_tags, device=emissions.device).expand_as(score)
        backpointers = []
        for t in range(1, emissions.size(1)):
            # shape: (batch_size, num_tags previous, num_tags next)
            best, previous = (score.unsqueeze(2) + transitions).max(dim=1)
            step_mask = mask[:, t].unsqueeze(1)
            # after a sentence's end its scores stay, and the back-pointers stay on the same tag
            score = torch.where(step_mask, best + emissions[:, t], score)
            backpointers.append(torch.where(step_mask, previous, stay))
        last = (score + end).argmax(dim=1)
        path = [last]
        for pointers in reversed(backpointers):
            last = pointers.gather(1, last.unsqueeze(1)).squeeze(1)
            path.append(last)
        tags = torch.stack(path[::-1], dim=1)
        return tags.masked_fill(~mask, self.index_of["O"])

    def entity_starts(self, tags: torch.Tensor) -> torch.Tensor:
        """For every token, where the entity that ends there starts (see :func:`entity_starts`)."""
        return entity_starts(tags, self.index_of["B"], self.index_of["I"])


def entity_starts(tags: torch.Tensor, b_index: int, i_index: int) -> torch.Tensor:
    """Entity completion from BIO tags (the paper's inference rule), for every position at once.

    The decoder copies the last token ``p`` of an entity; the entity is ``[start[p], p]``:
    tag ``B`` or ``O`` at ``p``: a single-token entity, ``start = p``;
    tag ``I`` at ``p``: walk left to the ``B`` that opens the run; where the run of ``I`` has no
    ``B`` before it (after an ``O``, or at the sentence start), the entity starts at the run's
    first ``I``.

    ``tags`` has shape (batch, seq_len); the result too.
    """
    positions = torch.arange(tags.size(1), device=tags.device).expand_as(tags)
    is_inside = tags == i_index
    # the last position at or before each token that is not I (-1 if none)
    boundary = torch.where(is_inside, torch.full_like(positions, -1), positions).cummax(dim=1).values
    boundary_tag = tags.gather(1, boundary.clamp(min=0))
    run_start = torch.where((boundary >= 0) & (boundary_tag == b_index), boundary, boundary + 1)
    return torch.where(is_inside, run_start, positions)

