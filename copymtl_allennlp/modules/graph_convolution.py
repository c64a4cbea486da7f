"""GraphRel's graph convolutions (Fu, Li and Ma 2019), batched over padded sentences.

:class:`BiGcn` (1st phase, Section 3.1): over the dependency tree, one GCN over each token's
outgoing edges and one over its incoming edges, each with a self-loop, their outputs concatenated:

    h_out,u^{l+1} = ReLU( Σ_{v ∈ out(u) ∪ {u}} (W_out^l h_v^l + b_out^l) ),   likewise h_in;
    h_u^{l+1} = [h_out,u^{l+1} ; h_in,u^{l+1}]

:class:`RelationWeightedGcn` (2nd phase, Section 3.2): one graph per relation, the edge ``u → v``
weighted by the 1st phase's probability ``P_r(u, v)`` of relation ``r`` between them:

    h_u^{l+1} = ReLU( Σ_v Σ_r P_r(u, v) · (W_r^l h_v^l + b_r^l) ) + h_u^l

Padding tokens have no edges and zero outputs.
"""
from typing import cast

import torch


def dependency_adjacency(heads: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
    """``A[b, u, v] = 1`` where ``v`` is the head of ``u`` (the edge ``u → v``; roots and padding
    have none), from ``heads`` (batch, seq_len), ``-1`` at roots and padding."""
    batch_size, seq_len = heads.shape
    adjacency = heads.new_zeros(batch_size, seq_len, seq_len + 1, dtype=torch.float)
    # a root's (or padding's) edge goes to the extra column, dropped below
    adjacency.scatter_(2, torch.where(heads < 0, seq_len, heads).unsqueeze(2), 1.0)
    return adjacency[:, :, :seq_len] * mask.unsqueeze(2) * mask.unsqueeze(1)


class BiGcn(torch.nn.Module):
    """``num_layers`` bi-directional GCN layers (the module docstring); ``hidden_size`` a
    direction, so the output is ``2 * hidden_size`` wide."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 2) -> None:
        super().__init__()
        sizes = [input_size] + [2 * hidden_size] * num_layers
        self.outgoing = torch.nn.ModuleList(torch.nn.Linear(sizes[i], hidden_size) for i in range(num_layers))
        self.incoming = torch.nn.ModuleList(torch.nn.Linear(sizes[i], hidden_size) for i in range(num_layers))

    def get_output_dim(self) -> int:
        return 2 * cast(torch.nn.Linear, self.outgoing[0]).out_features

    def forward(self, inputs: torch.Tensor, adjacency: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        # with self-loops at real tokens; shape: (batch_size, seq_len, seq_len)
        loops = torch.diag_embed(mask.float())
        outgoing, incoming = adjacency + loops, adjacency.transpose(1, 2) + loops
        h = inputs
        for w_out, w_in in zip(self.outgoing, self.incoming):
            h = torch.cat([torch.relu(outgoing @ w_out(h)), torch.relu(incoming @ w_in(h))], dim=-1)
        return h * mask.unsqueeze(2)


class RelationWeightedGcn(torch.nn.Module):
    """One relation-weighted GCN layer (the module docstring) for ``num_relations`` relations over
    ``size``-wide token features; ``W_r`` and ``b_r`` for every relation."""

    def __init__(self, size: int, num_relations: int) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(num_relations, size, size))
        self.bias = torch.nn.Parameter(torch.zeros(num_relations, size))
        torch.nn.init.xavier_uniform_(self.weight.view(num_relations * size, size))

    def forward(self, h: torch.Tensor, probabilities: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        """``h``: (batch, seq_len, size); ``probabilities``: (batch, seq_len, seq_len, num_relations),
        ``P_r(u, v)`` at ``[b, u, v, r]``."""
        pair_mask = (mask.unsqueeze(2) & mask.unsqueeze(1)).unsqueeze(3)
        weights = probabilities * pair_mask
        # Σ_v P_r(u, v) h_v for every relation; shape: (batch, seq_len, num_relations, size)
        gathered = torch.einsum("buvr,bvd->burd", weights, h)
        # Σ_r W_r (Σ_v P_r(u, v) h_v) + Σ_r (Σ_v P_r(u, v)) b_r
        messages = torch.einsum("burd,red->bue", gathered, self.weight) + weights.sum(dim=2) @ self.bias
        return (torch.relu(messages) + h) * mask.unsqueeze(2)
