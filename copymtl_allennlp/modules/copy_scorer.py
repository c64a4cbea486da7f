import torch
from allennlp.common.checks import ConfigurationError

from copymtl_allennlp.modules.cpu_lstm import uses_cpu_kernels

# torch.nn.functional.selu's constants
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class _CpuSelu(torch.autograd.Function):
    """``torch.selu`` through ``exp`` for the CPU: torch computes the negative side with ``expm1``,
    which its CPU kernels do not vectorise, and Eq. 10's selu over (batch, [slots,] seq_len, width)
    took about a fifth of a set decoder's training step there (docs/performance.md, "Eq. 10's
    activation on the CPU"). ``selu(x) = scale (relu(x) + alpha (exp(min(x, 0)) - 1))`` is the same
    function (``exp(x) - 1`` rounds differently from ``expm1`` near 0: a few 1e-7 absolutely in
    float32); the backward is torch's own (``elu_backward`` from the output)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        result = x.clamp(max=0).exp_().sub_(1).mul_(SELU_ALPHA * SELU_SCALE).add_(torch.relu(x), alpha=SELU_SCALE)
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (result,) = ctx.saved_tensors
        return torch.ops.aten.elu_backward(grad, SELU_ALPHA, SELU_SCALE, 1.0, True, result)


def selu(x: torch.Tensor) -> torch.Tensor:
    """Eq. 10's activation: :class:`_CpuSelu` on the CPU in float32 / float64 (not under autocast),
    ``torch.nn.functional.selu`` everywhere else (one fused kernel on a GPU)."""
    if uses_cpu_kernels(x) and x.dtype in (torch.float32, torch.float64):
        return _CpuSelu.apply(x)
    return torch.nn.functional.selu(x)


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
        return self.output_projection(selu(fused)).squeeze(-1)  # Eq. 10
