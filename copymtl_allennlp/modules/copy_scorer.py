import torch
from allennlp.common.checks import ConfigurationError


class CopyScorer(torch.nn.Module):
    """Scores every source position ``i`` for being copied at decoder step ``t``.

    ``"linear"`` is CopyRE's Eq. 3, ``q_t(i) = [h_t; o_i] · W_e``.
    ``"selu"`` is CopyMTL's Eq. 10, ``q_t(i) = selu([h_t; o_i] · W_f) · W_o``, with ``W_f`` of
    width ``hidden_size`` (the released code hard-codes 100).

    Both use the decomposition of the paper's Eq. 8, ``[h_t; o_i] · W = h_t · W_1 + o_i · W_2``:
    the encoder term ``o_i · W_2`` does not depend on the step, so ``project_encoder`` computes
    it once per sentence and ``forward`` adds the step's term. (For Eq. 3 that is exactly why
    the head and tail distributions coincide, Eq. 9; the selu breaks it.)
    """

    def __init__(self, decoder_dim: int, encoder_dim: int, kind: str = "selu", hidden_size: int = 100) -> None:
        super().__init__()
        if kind not in ("linear", "selu"):
            raise ConfigurationError(f"copy scorer must be 'linear' (Eq. 3) or 'selu' (Eq. 10), got {kind!r}")
        self.kind = kind
        width = 1 if kind == "linear" else hidden_size
        # W_e (Eq. 3) or W_f (Eq. 10), split into its decoder and encoder halves (Eq. 8)
        self.decoder_projection = torch.nn.Linear(decoder_dim, width)
        self.encoder_projection = torch.nn.Linear(encoder_dim, width, bias=False)
        # W_o (Eq. 10)
        self.output_projection = torch.nn.Linear(hidden_size, 1, bias=False) if kind == "selu" else None

    def project_encoder(self, encoder_outputs: torch.Tensor) -> torch.Tensor:
        """``o_i · W_2`` for every position, once per sentence. Shape (batch, seq_len, width)."""
        return self.encoder_projection(encoder_outputs)

    def forward(self, decoder_hidden: torch.Tensor, projected_encoder: torch.Tensor) -> torch.Tensor:
        """Copy scores ``q_t`` of shape (batch, seq_len), not normalised and not masked.

        ``decoder_hidden`` may have more leading dimensions than the batch, each state scored
        against every position: states (batch, num_slots, dim) and ``projected_encoder`` viewed as
        (batch, 1, seq_len, width) give scores (batch, num_slots, seq_len) (the set decoder)."""
        # shape: (batch_size, seq_len, width)
        fused = projected_encoder + self.decoder_projection(decoder_hidden).unsqueeze(-2)
        if self.output_projection is None:
            return fused.squeeze(-1)  # Eq. 3
        return self.output_projection(torch.nn.functional.selu(fused)).squeeze(-1)  # Eq. 10
