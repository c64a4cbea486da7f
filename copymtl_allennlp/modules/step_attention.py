from typing import Optional

import torch
from allennlp.modules import Attention
from allennlp.modules.attention import AdditiveAttention
from allennlp.nn import util

from copymtl_allennlp.modules.cpu_lstm import RecurrentProducts
from copymtl_allennlp.modules.precision import at_least_float32


class _AdditiveScores(torch.autograd.Function):
    """``scores = v · tanh(x)`` with ``x = W h + U o_i``, written as ``2 v · sigmoid(2x) - sum(v)``.

    Inputs are already doubled: ``query = 2 W h`` (batch, dim), ``keys = 2 U o_i`` (batch,
    seq_len, dim); ``v`` is (dim, 1). Nothing of size (batch, seq_len, dim) is kept between the
    forward and the backward pass (15 such buffers per batch otherwise, 300 MB for a paper-size
    batch of 51-token sentences): the backward recomputes ``s = sigmoid(2x)``, an addition and a
    sigmoid, at no measurable cost in training speed here, and works in that one buffer::

        d scores / d (2x) = 2 v s (1 - s);   d scores / d v = 2 s - 1
    """

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda")
    def forward(ctx, query, keys, v):
        ctx.save_for_backward(query, keys, v)
        # shape: (batch_size, seq_len, dim)
        s = torch.sigmoid_(query.unsqueeze(1) + keys)
        return s.matmul(v).squeeze(2).mul_(2).sub_(v.sum())

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx, grad_scores):
        query, keys, v = ctx.saved_tensors
        s = torch.sigmoid_(query.unsqueeze(1) + keys)
        grad_v = None
        if ctx.needs_input_grad[2]:
            grad_v = 2 * grad_scores.unsqueeze(1).bmm(s).sum(dim=0).view(-1, 1) - grad_scores.sum()
        # shape: (batch_size, seq_len, dim): g 2 v s (1 - s), in the same buffer
        grad_x = s.addcmul_(s, s, value=-1).mul_(grad_scores.unsqueeze(2)).mul_((2 * v).view(1, 1, -1))
        return grad_x.sum(dim=1), grad_x, grad_v


@Attention.register("step_additive")
class StepAdditiveAttention(AdditiveAttention):
    """AllenNLP's additive attention, ``v · tanh(W h + U o_i)``, for a decoder that attends to the
    same encoder outputs at every step: ``U o_i`` does not depend on the step (the decomposition
    of the paper's Eq. 8), so :meth:`project_matrix` computes it once per sentence and
    :meth:`attend` adds the step's ``W h``. Same parameters and results as ``"additive"``; as a
    plain ``Attention`` it behaves exactly like it.

    :meth:`attend` works over (batch, seq_len, vector_dim) at every step, the largest elementwise
    work of the decoder, so it uses ``tanh(x) = 2 sigmoid(2x) - 1`` (a sigmoid, which torch
    computes about three times faster than a tanh on a CPU) with a hand-written backward
    (:class:`_AdditiveScores`); :meth:`project_matrix` returns ``2 U o_i``.
    """

    def project_matrix(self, matrix: torch.Tensor) -> torch.Tensor:
        """``2 U o_i`` for every position: (batch, seq_len, vector_dim)."""
        return matrix.matmul(2 * self._u_matrix)

    def query_products(self, rows: int) -> RecurrentProducts:
        """The query product ``h W`` of every step of one batch, laid out once
        (``cpu_lstm.RecurrentProducts`` of ``W^T``, as (out, in); forward only: its backward
        is not written)."""
        return RecurrentProducts(self._w_matrix.t(), rows)

    def attend(
        self,
        vector: torch.Tensor,
        projected_matrix: torch.Tensor,
        matrix_mask: torch.BoolTensor,
        query: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Attention weights (batch, seq_len) for one step, from :meth:`project_matrix`'s output;
        ``query`` is ``vector W`` where the caller has computed it already (a packed product)."""
        if query is None:
            query = vector.matmul(self._w_matrix)
        # float32 under autocast: AllenNLP's masked softmax and the softmax itself
        scores = at_least_float32(_AdditiveScores.apply(2 * query, projected_matrix, self._v_vector))
        return util.masked_softmax(scores, matrix_mask) if self._normalize else scores
