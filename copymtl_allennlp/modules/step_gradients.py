"""Gradients that the decoder's steps contribute to one shared tensor, summed once after the last
step instead of once per step.

The decoder uses the same tensors at each of its ``3 · max_triplets`` steps: the recurrent cell's
weights, the attention keys ``U o_i`` and the encoder outputs it averages into a context. Autograd
gives each step's use its own gradient, a fresh tensor of the full size (a 4H x H matrix, a
(batch, seq_len, H) block), and adds them up one by one. Here the steps hand their parts to a
:class:`StepGradients` sink instead, and one autograd node (:func:`shared_by_steps`, an identity
in the forward pass) turns them into the tensor's gradient once, after the last step's backward:

- a linear map used at every step (:func:`step_linear`, ``y_t = x_t W^T``):
  ``dW = sum_t dy_t^T x_t``, one matmul over all steps;
- a context ``c_t = sum_i a_ti o_i`` (:func:`step_weighted_sum`, AllenNLP's ``weighted_sum`` for
  one step): ``do_i = sum_t a_ti dc_t``, one batched product over all steps;
- an elementwise gradient (the attention keys, :class:`~copymtl_allennlp.modules.step_attention.
  _AdditiveScores`): summed into one buffer as the steps' backward passes produce it.

The results equal autograd's (tests compare them with ``nn.LSTMCell``, ``weighted_sum`` and
``gradcheck``); only the order of the floating-point sums differs.
"""
from typing import List, Optional, Tuple

import torch


class StepGradients:
    """Collects the steps' parts of one shared tensor's gradient (see the module notes)."""

    def __init__(self) -> None:
        self.total: Optional[torch.Tensor] = None
        self.linear_terms: List[Tuple[torch.Tensor, torch.Tensor]] = []  # (x_t, dy_t)
        self.weighted_sum_terms: List[Tuple[torch.Tensor, torch.Tensor]] = []  # (a_t, dc_t)

    def add(self, gradient: torch.Tensor) -> None:
        """An elementwise part; the sink may keep (and add into) the tensor it is given."""
        self.total = gradient if self.total is None else self.total.add_(gradient)

    def take(self) -> Optional[torch.Tensor]:
        """The gradient from all parts collected since the last call; the sink is emptied."""
        total = self.total
        if self.linear_terms:
            inputs, output_grads = zip(*self.linear_terms)
            # dW = sum_t dy_t^T x_t: (out, in)
            product = torch.cat(output_grads).t().mm(torch.cat(inputs))
            total = product if total is None else total.add_(product)
        if self.weighted_sum_terms:
            weights, context_grads = zip(*self.weighted_sum_terms)
            # do = sum_t a_t^T dc_t: (batch, seq_len, steps) x (batch, steps, dim)
            product = torch.stack(weights, dim=2).bmm(torch.stack(context_grads, dim=1))
            total = product if total is None else total.add_(product)
        self.total, self.linear_terms, self.weighted_sum_terms = None, [], []
        return total


class _SharedBySteps(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor, sink):  # type: ignore[override]
        ctx.set_materialize_grads(False)
        ctx.sink = sink
        return tensor.view_as(tensor)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        total = ctx.sink.take()
        if grad is not None:  # a use of the output outside the sink's functions
            total = grad if total is None else total + grad
        return total, None


def shared_by_steps(tensor: torch.Tensor) -> Tuple[torch.Tensor, StepGradients]:
    """``tensor`` as it should be passed to the step functions with the returned sink; its
    gradient is the sum of what they collect."""
    sink = StepGradients()
    return _SharedBySteps.apply(tensor, sink), sink


class _StepLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inputs, weight, sink):  # type: ignore[override]
        ctx.save_for_backward(inputs, weight)
        ctx.sink = sink
        return inputs.mm(weight.t())

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        inputs, weight = ctx.saved_tensors
        if ctx.needs_input_grad[1]:
            ctx.sink.linear_terms.append((inputs, grad))
        return grad.mm(weight) if ctx.needs_input_grad[0] else None, None, None


def step_linear(inputs: torch.Tensor, weight: torch.Tensor, sink: StepGradients) -> torch.Tensor:
    """``inputs W^T`` (batch, out) for one step; ``weight`` from :func:`shared_by_steps`."""
    return _StepLinear.apply(inputs, weight, sink)


class _StepWeightedSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weights, values, sink):  # type: ignore[override]
        ctx.save_for_backward(weights, values)
        ctx.sink = sink
        return weights.unsqueeze(1).bmm(values).squeeze(1)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        weights, values = ctx.saved_tensors
        if ctx.needs_input_grad[1]:
            ctx.sink.weighted_sum_terms.append((weights, grad))
        grad_weights = values.bmm(grad.unsqueeze(2)).squeeze(2) if ctx.needs_input_grad[0] else None
        return grad_weights, None, None


def step_weighted_sum(weights: torch.Tensor, values: torch.Tensor, sink: StepGradients) -> torch.Tensor:
    """``sum_i weights_i values_i`` (batch, dim) for one step; ``values`` from
    :func:`shared_by_steps`."""
    return _StepWeightedSum.apply(weights, values, sink)


def lstm_cell_step(
    inputs: torch.Tensor,
    state: Tuple[torch.Tensor, torch.Tensor],
    cell: torch.nn.LSTMCell,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    sink_ih: StepGradients,
    sink_hh: StepGradients,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """What ``cell(inputs, state)`` computes (gate order i, f, g, o), with the weights from
    :func:`shared_by_steps` so that their gradients are one matmul over all steps."""
    h, c = state
    gates = step_linear(inputs, weight_ih, sink_ih) + step_linear(h, weight_hh, sink_hh)
    if cell.bias:
        gates = gates + (cell.bias_ih + cell.bias_hh)
    i, f, g, o = gates.chunk(4, dim=1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_new), c_new
