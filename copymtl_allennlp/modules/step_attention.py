import torch
from allennlp.modules import Attention
from allennlp.modules.attention import AdditiveAttention
from allennlp.nn import util


@Attention.register("step_additive")
class StepAdditiveAttention(AdditiveAttention):
    """AllenNLP's additive attention, ``v · tanh(W h + U o_i)``, for a decoder that attends to the
    same encoder outputs at every step: ``U o_i`` does not depend on the step (the decomposition
    of the paper's Eq. 8), so :meth:`project_matrix` computes it once per sentence and
    :meth:`attend` adds the step's ``W h``. Same parameters and results as ``"additive"``; as a
    plain ``Attention`` it behaves exactly like it.

    :meth:`attend` works over (batch, seq_len, vector_dim) at every step, the largest elementwise
    work of the decoder, so it uses ``tanh(x) = 2 sigmoid(2x) - 1`` (one cheap in-place sigmoid
    instead of a tanh, which torch computes about three times slower on a CPU):
    ``v · tanh(x) = 2 v · sigmoid(2x) - sum(v)``; :meth:`project_matrix` returns ``2 U o_i``.
    """

    def project_matrix(self, matrix: torch.Tensor) -> torch.Tensor:
        """``2 U o_i`` for every position: (batch, seq_len, vector_dim)."""
        return matrix.matmul(2 * self._u_matrix)

    def attend(self, vector: torch.Tensor, projected_matrix: torch.Tensor, matrix_mask: torch.BoolTensor) -> torch.Tensor:
        """Attention weights (batch, seq_len) for one step, from :meth:`project_matrix`'s output."""
        # shape: (batch_size, seq_len, vector_dim): sigmoid(2 (W h + U o_i)), computed in place
        gates = torch.sigmoid_((2 * vector.matmul(self._w_matrix)).unsqueeze(1) + projected_matrix)
        scores = 2 * gates.matmul(self._v_vector).squeeze(2) - self._v_vector.sum()
        return util.masked_softmax(scores, matrix_mask) if self._normalize else scores
