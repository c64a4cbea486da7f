"""The CPU kernels of the package: what the LSTMs of the encoder and the decoder run on a CPU.

On a GPU every module runs torch's own (cuDNN) ``torch.nn.LSTM`` / ``LSTMCell``. On a CPU those
are slow for this model in two places, and this module replaces them with the same function:

1. **The encoder's backward.** torch's CPU backward through packed sequences allocates a
   full-size gradient per time step (quadratic in sentence length: about 40% of a paper-size
   training step). :func:`masked_lstm_direction` runs one direction over padded sentences as a
   chain of autograd nodes: torch's fused LSTM kernel (``torch.lstm``, oneDNN) over the runs of
   steps where the same sentences have tokens, and :class:`_LstmDirection`, a step loop with a
   hand-written backward whose weight gradients are one matmul per block of steps, between them.
   At inference it runs a few whole kernel calls with **frozen padding steps**
   (:func:`_lstm_direction_frozen_padding`).
2. **The decoder's recurrent products.** Every decoder step multiplies a batch of 100 rows by the
   same recurrent weight (16 MB at paper size), which BLAS re-packs at every step.
   :class:`RecurrentProducts` lays it out once per batch for oneDNN (:func:`recurrent_product`),
   and :func:`lstm_cell_step` is ``LSTMCell`` on those products, its ``W_hh`` gradient summed
   over the steps in one buffer.

:func:`uses_cpu_kernels` is the one place that decides (a tensor on the CPU). Each kernel computes
what the torch module computes, up to float rounding; the tests compare them, with gradients.

The equations, per step t (gate order i, f, g, o, as ``torch.nn.LSTM``)::

    G = x_t W_ih^T + h_{t-1} W_hh^T + b          (b = b_ih + b_hh)
    i, f, o = sigmoid(G_i), sigmoid(G_f), sigmoid(G_o);  g = tanh(G_g)
    c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)

Private torch operators: the packed products call ``torch.ops.mkldnn._reorder_linear_weight`` and
``_linear_pointwise`` (what torch's own CPU inference compiler uses). Where this torch lacks them, or
for another dtype than float32, :func:`recurrent_product` falls back to a plain ``matmul`` (tested).
"""
from typing import Callable, List, Optional, Tuple

import torch

from copymtl_allennlp import compat

# tuning constants (docs/performance.md)
BLOCK_VALUES = 4_000_000  # gate values (time x batch x 4H) per block of steps of the loop's backward
MIN_KERNEL_RUN = 3  # in training, shorter runs of steps stay in the step loop (a kernel call lays its weights out again)
FREEZE = 1e4  # the gate offset of a frozen padding step: sigmoid(-FREEZE) = 0, sigmoid(FREEZE) = 1
KERNEL_CALL_ROW_STEPS = 60.0  # what one kernel call costs beyond its steps, in row-steps (_kernel_segments)


def uses_cpu_kernels(tensor: torch.Tensor) -> bool:
    """Whether the modules run this module's kernels for ``tensor`` (on the CPU, float32: not under
    CPU autocast) or torch's own."""
    return tensor.device.type == "cpu" and not torch.is_autocast_enabled("cpu")


_ONEDNN_LINEAR = compat.onednn_packed_linear_available()


def recurrent_product(weight: torch.Tensor, rows: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> x weight^T`` for a ``weight`` (out, in) that multiplies ``rows``-row inputs at every
    step of a loop. On a CPU in float32 with oneDNN, the weight is reordered once into oneDNN's
    blocked layout and every step runs a packed product (same values up to float rounding);
    otherwise a plain ``matmul``. ``weight`` must not change while the function is used."""
    if _ONEDNN_LINEAR and weight.device.type == "cpu" and weight.dtype == torch.float32:
        # oneDNN's reorder reads any strides: W_hh^T (the backward's product) is laid out without a copy
        return compat.onednn_packed_linear(weight, rows)
    weight_t = weight.detach().t()
    return lambda x: x.matmul(weight_t)


def _blocks(seq_len: int, batch_size: int, four_hidden: int) -> List[Tuple[int, int]]:
    size = max(1, BLOCK_VALUES // (batch_size * four_hidden))
    return [(start, min(start + size, seq_len)) for start in range(0, seq_len, size)]


def _activate_gates(gates: torch.Tensor, c: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """In place: ``G`` (rows, 4H) becomes the activations i, f, g, o. Returns ``c_t``, ``tanh(c_t)``."""
    hidden = c.size(1)
    torch.sigmoid_(gates[:, : 2 * hidden])  # i, f
    torch.tanh_(gates[:, 2 * hidden : 3 * hidden])  # g
    torch.sigmoid_(gates[:, 3 * hidden :])  # o
    i, f, g, _ = gates.chunk(4, dim=1)
    c_new = torch.addcmul(f * c, i, g)
    return c_new, torch.tanh(c_new)


def _forward_step(
    recurrent: Callable[[torch.Tensor], torch.Tensor], h: torch.Tensor, c: torch.Tensor, input_gates: torch.Tensor, h_out: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step over the active rows: writes ``h_t`` into ``h_out``; returns the gate activations,
    ``c_t`` and ``tanh(c_t)``. ``h`` and ``c`` are not changed."""
    act = recurrent(h).add_(input_gates)
    c_new, tanh_c = _activate_gates(act, c)
    torch.mul(act[:, 3 * c.size(1) :], tanh_c, out=h_out)
    return act, c_new, tanh_c


def _gate_gradients(
    dh: torch.Tensor, dc: torch.Tensor, activations: torch.Tensor, c_previous: torch.Tensor, tanh_c: torch.Tensor, out: torch.Tensor
) -> torch.Tensor:
    """The backward of one LSTM step's gates: from ``dL/dh_t`` and the ``dL/dc_t`` arriving from
    later steps, writes ``dL/dG`` (rows, 4H) into ``out`` and returns the full ``dL/dc_t``."""
    i, f, g, o = activations.chunk(4, dim=1)
    dc = torch.addcmul(dc, dh * o, 1 - tanh_c * tanh_c)
    di, df, dg, do = out.chunk(4, dim=1)
    torch.mul(dc * g, i * (1 - i), out=di)
    torch.mul(dc * c_previous, f * (1 - f), out=df)
    torch.mul(dc * i, 1 - g * g, out=dg)
    torch.mul(dh * tanh_c, o * (1 - o), out=do)
    return dc


class _LstmDirection(torch.autograd.Function):
    """One direction over a batch whose rows are sorted by length (longest first): at step t only
    the first ``active[t]`` rows have a token, and the step runs over those rows only; the other
    rows' states stay as they are (their outputs are zero)."""

    @staticmethod
    def forward(ctx, inputs, active, weight_ih, weight_hh, bias, reverse, h0=None, c0=None):
        # inputs: time-major (seq_len, batch_size, input_size), rows sorted by length; the state
        # starts from (h0, c0) (batch_size, hidden) where given, from zeros otherwise
        seq_len, batch_size, input_size = inputs.shape
        four_hidden, hidden = weight_hh.shape
        blocks = _blocks(seq_len, batch_size, four_hidden)
        outputs = inputs.new_zeros(batch_size, seq_len, hidden)
        h = inputs.new_zeros(batch_size, hidden) if h0 is None else h0.clone()
        c = inputs.new_zeros(batch_size, hidden) if c0 is None else c0.clone()
        # per step, what the backward needs: gate activations, previous h and c, tanh(c_t)
        activations: List[Optional[torch.Tensor]] = [None] * seq_len
        previous_h: List[Optional[torch.Tensor]] = [None] * seq_len
        previous_c: List[Optional[torch.Tensor]] = [None] * seq_len
        tanh_c: List[Optional[torch.Tensor]] = [None] * seq_len
        keep = any(ctx.needs_input_grad)  # nothing is kept without autograd (inference)
        recurrent = recurrent_product(weight_hh, batch_size)  # h W_hh^T
        for start, end in reversed(blocks) if reverse else blocks:
            # shape: (block_len, batch_size, 4 * hidden): the input half of G for the block
            input_gates = torch.addmm(bias, inputs[start:end].reshape(-1, input_size), weight_ih.t())
            input_gates = input_gates.view(end - start, batch_size, four_hidden)
            for t in range(end - 1, start - 1, -1) if reverse else range(start, end):
                n = active[t]
                if n == 0:
                    continue
                act, c_new, tc = _forward_step(recurrent, h[:n], c[:n], input_gates[t - start, :n], outputs[:n, t])
                if keep:  # the states stay as they were: the backward reads them
                    previous_h[t], previous_c[t] = h, c[:n]
                    h, c = h.clone(), c.clone()
                h[:n], c[:n] = outputs[:n, t], c_new
                if keep:
                    activations[t], tanh_c[t] = act, tc
        ctx.reverse, ctx.blocks, ctx.active, ctx.initial_state = reverse, blocks, active, h0 is not None
        if keep:
            zeros = inputs.new_zeros(batch_size, hidden)  # the state before an empty step
            previous_h = [zeros if p is None else p for p in previous_h]
            ctx.steps = [t for t in range(seq_len) if active[t] > 0]
            kept = [tensors[t] for tensors in (activations, previous_c, tanh_c) for t in ctx.steps]
            ctx.save_for_backward(inputs, weight_ih, weight_hh, *previous_h, *kept)
        return outputs, h, c

    @staticmethod
    def backward(ctx, grad_outputs, grad_h, grad_c):
        inputs, weight_ih, weight_hh, *saved = ctx.saved_tensors
        seq_len, batch_size, input_size = inputs.shape
        four_hidden, hidden = weight_hh.shape
        previous_h, saved = saved[:seq_len], saved[seq_len:]
        count = len(ctx.steps)
        activations, previous_c, tanh_c = ({} for _ in range(3))
        for index, t in enumerate(ctx.steps):
            activations[t], previous_c[t], tanh_c[t] = saved[index], saved[count + index], saved[2 * count + index]
        dh, dc = grad_h.clone(), grad_c.clone()
        grad_inputs = torch.empty_like(inputs)
        grad_weight_ih = weight_ih.new_zeros(weight_ih.shape)
        grad_weight_hh = weight_hh.new_zeros(weight_hh.shape)
        grad_bias = weight_hh.new_zeros(four_hidden)
        recurrent_t = recurrent_product(weight_hh.t(), batch_size)  # dG W_hh
        # the forward's blocks in the opposite order, each block's steps backwards
        for start, end in ctx.blocks if ctx.reverse else reversed(ctx.blocks):
            grad_gates = inputs.new_zeros(end - start, batch_size, four_hidden)  # dL/dG per step
            for t in range(start, end) if ctx.reverse else range(end - 1, start - 1, -1):
                n = ctx.active[t]
                if n == 0:
                    continue
                # rows past n had no token at step t: their state gradients pass through unchanged
                dc_new = _gate_gradients(
                    dh[:n] + grad_outputs[:n, t], dc[:n], activations[t], previous_c[t], tanh_c[t], grad_gates[t - start, :n]
                )
                dc[:n] = dc_new * activations[t].chunk(4, dim=1)[1]
                dh[:n] = recurrent_t(grad_gates[t - start, :n])
            # the weight gradients of the whole block: one matmul each, over the rows with a token
            flat_grad = grad_gates.view(-1, four_hidden)
            if all(ctx.active[t] == batch_size for t in range(start, end)):
                token_grad, token_h, token_inputs = flat_grad, torch.cat(previous_h[start:end]), inputs[start:end].reshape(-1, input_size)
            else:
                steps = [(t, ctx.active[t]) for t in range(start, end) if ctx.active[t] > 0]
                token_grad = torch.cat([grad_gates[t - start, :n] for t, n in steps])
                token_h = torch.cat([previous_h[t][:n] for t, n in steps])
                token_inputs = torch.cat([inputs[t, :n] for t, n in steps])
            grad_weight_hh.addmm_(token_grad.t(), token_h)
            grad_weight_ih.addmm_(token_grad.t(), token_inputs)
            grad_bias += token_grad.sum(dim=0)
            grad_inputs[start:end] = flat_grad.mm(weight_ih).view(end - start, batch_size, input_size)
        # dh, dc: the gradients of the state before the first step (rows without a token there
        # passed theirs through unchanged)
        grads = (grad_inputs, None, grad_weight_ih, grad_weight_hh, grad_bias, None, dh, dc)
        return grads if ctx.initial_state else grads[:6]


def _runs(active: List[int]) -> List[Tuple[int, int, int]]:
    """Maximal runs ``(start, end, rows)`` of consecutive steps with the same number of active
    rows, in time order; steps without a token are left out."""
    runs: List[Tuple[int, int, int]] = []
    for t, n in enumerate(active):
        if n == 0:
            continue
        if runs and runs[-1][1] == t and runs[-1][2] == n:
            runs[-1] = (runs[-1][0], t + 1, n)
        else:
            runs.append((t, t + 1, n))
    return runs


def _segments(runs: List[Tuple[int, int, int]], min_kernel_run: int) -> List[Tuple[int, int, int, bool]]:
    """The runs of :func:`_runs` grouped into segments ``(start, end, rows, kernel)`` in time order:
    a run of ``min_kernel_run`` steps or more is a kernel segment of its own; consecutive shorter
    runs make one loop segment, whose ``rows`` are those of its first run (the most)."""
    segments: List[Tuple[int, int, int, bool]] = []
    for start, end, n in runs:
        kernel = end - start >= min_kernel_run
        if not kernel and segments and not segments[-1][3] and segments[-1][1] == start:
            segments[-1] = (segments[-1][0], end, segments[-1][2], False)
        else:
            segments.append((start, end, n, kernel))
    return segments


def _lstm_direction_training(
    inputs: torch.Tensor,
    lengths: torch.Tensor,
    active: List[int],
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias: torch.Tensor,
    reverse: bool,
    min_kernel_run: int = MIN_KERNEL_RUN,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What :class:`_LstmDirection` computes, as a chain of autograd nodes: a run of
    ``min_kernel_run`` steps or more over the same rows is one call of torch's own LSTM
    kernel with its own backward (oneDNN's on a CPU), from the rows' current state, time flipped
    for the reverse direction; the short runs between them go through :class:`_LstmDirection`
    from the state reached so far. In a length-sorted batch the kernel takes the long run up to
    the shortest sentence, the loop the few steps after it. The state passes between the nodes as
    new tensors (``torch.cat``), never written in place, so every node's backward sees the values
    it saw forward."""
    seq_len, batch_size, _ = inputs.shape
    hidden = weight_hh.size(1)
    h = inputs.new_zeros(batch_size, hidden)
    c = inputs.new_zeros(batch_size, hidden)
    kernel_weights = [weight_ih, weight_hh, bias, torch.zeros_like(bias)]  # b_ih + b_hh as one bias
    pieces: List[Tuple[int, int, torch.Tensor]] = []  # (start, end, time-major outputs (end - start, batch, H))
    segments = _segments(_runs(active), min_kernel_run)
    for start, end, n, kernel in reversed(segments) if reverse else segments:
        if kernel:
            run_inputs = inputs[start:end, :n]
            run_outputs, h_n, c_n = compat.fused_lstm(
                run_inputs.flip(0) if reverse else run_inputs, (h[:n].unsqueeze(0), c[:n].unsqueeze(0)), kernel_weights, True
            )
            # shape: (end - start, n, hidden), in time order
            run_outputs, h_n, c_n = run_outputs.flip(0) if reverse else run_outputs, h_n[0], c_n[0]
        else:  # the segment's rows only: those of its first run
            run_outputs, h_n, c_n = _LstmDirection.apply(
                inputs[start:end, :n], active[start:end], weight_ih, weight_hh, bias, reverse, h[:n], c[:n]
            )
            run_outputs = run_outputs.transpose(0, 1)
        if n < batch_size:  # rows without a token in the segment: zero outputs, state unchanged
            run_outputs = torch.nn.functional.pad(run_outputs, (0, 0, 0, batch_size - n))
            h_n, c_n = torch.cat([h_n, h[n:]]), torch.cat([c_n, c[n:]])
        pieces.append((start, end, run_outputs))
        h, c = h_n, c_n
    time_major = [piece for _, _, piece in (reversed(pieces) if reverse else pieces)]
    # steps after the longest sentence (a batch padded beyond it): no row has a token there;
    # active counts never grow, so such steps only come at the end
    covered = max((end for _, end, _ in pieces), default=0)
    if covered < seq_len:
        time_major.append(inputs.new_zeros(seq_len - covered, batch_size, hidden))
    return torch.cat(time_major).transpose(0, 1), h, c


def _kernel_segments(runs: List[Tuple[int, int, int]], call_cost: float) -> List[Tuple[int, int, int]]:
    """Consecutive ``runs`` (of :func:`_runs`) grouped into kernel calls ``(start, end, rows)``
    that cost least: a call over runs i..j costs ``call_cost`` plus ``rows_i x (end_j - start_i)``
    row-steps (every step of a call runs the rows of its first run, the most; rows that end
    earlier take frozen padding steps). Exact, by dynamic programming over the run boundaries."""
    best = [0.0] + [float("inf")] * len(runs)
    first = [0] * (len(runs) + 1)  # the first run of the last call, for best[j]
    for j in range(1, len(runs) + 1):
        end = runs[j - 1][1]
        for i in range(j):
            cost = best[i] + call_cost + runs[i][2] * (end - runs[i][0])
            if cost < best[j]:
                best[j], first[j] = cost, i
    segments: List[Tuple[int, int, int]] = []
    j = len(runs)
    while j > 0:
        i = first[j]
        segments.append((runs[i][0], runs[j - 1][1], runs[i][2]))
        j = i
    return segments[::-1]


def _lstm_direction_frozen_padding(
    inputs: torch.Tensor,
    lengths: torch.Tensor,
    active: List[int],
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias: torch.Tensor,
    reverse: bool,
    call_cost: float = KERNEL_CALL_ROW_STEPS,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What :class:`_LstmDirection` computes, in a few calls of torch's own LSTM kernel
    (``torch.lstm``; oneDNN's fused LSTM on a CPU, with its own backward under autograd) over
    the length-sorted batch, each over the rows of its first step, chosen by
    :func:`_kernel_segments`.

    Rows whose sentence ends inside a call take **frozen padding steps**: the input gets one more
    feature, 1 at padding, whose weight column adds ``-FREEZE`` to the input gate and
    ``+FREEZE`` to the forget gate, so there ``i = 0`` and ``f = 1`` exactly (in float32 and
    float64) and ``c_t = c_{t-1}``: the cell state is kept. The forward direction then takes each
    sentence's ``h`` from its output at its last token. The reverse direction runs time-flipped,
    so a sentence's padding comes before its last token and keeps the zero state exactly
    (``c = 0``, ``h = o tanh(0) = 0``). Gradients are exact too: at a frozen step every gate's
    gradient is zero (``i (1 - i)``, ``f (1 - f)``, ``i`` and ``tanh(c) = 0`` or a zero output
    gradient), and ``dc`` passes through ``f = 1`` unchanged. Outputs at padding are zero."""
    seq_len, batch_size, _ = inputs.shape
    hidden = weight_hh.size(1)
    column = inputs.new_zeros(4 * hidden, 1)
    column[:hidden], column[hidden : 2 * hidden] = -FREEZE, FREEZE  # gate order i, f, g, o
    kernel_weights = [torch.cat([weight_ih, column], dim=1), weight_hh, bias, torch.zeros_like(bias)]
    steps = torch.arange(seq_len, device=inputs.device).unsqueeze(1)
    # shape: (seq_len, batch_size); the frozen-padding feature, and the output mask
    is_token = steps < lengths.unsqueeze(0)
    inputs = torch.cat([inputs, (~is_token).unsqueeze(2).to(inputs.dtype)], dim=2)
    h = inputs.new_zeros(batch_size, hidden)
    c = inputs.new_zeros(batch_size, hidden)
    pieces: List[torch.Tensor] = []  # time-major outputs (end - start, batch, H), in call order
    segments = _kernel_segments(_runs(active), call_cost)
    for start, end, n in reversed(segments) if reverse else segments:
        run_inputs = inputs[start:end, :n]
        run_outputs, h_n, c_n = compat.fused_lstm(
            run_inputs.flip(0) if reverse else run_inputs, (h[:n].unsqueeze(0), c[:n].unsqueeze(0)), kernel_weights,
            torch.is_grad_enabled(),
        )
        # shape: (end - start, n, hidden), in time order, zero at padding
        run_outputs = (run_outputs.flip(0) if reverse else run_outputs) * is_token[start:end, :n].unsqueeze(2)
        if reverse:
            h_n = h_n[0]  # every row of the call has a token at its last step, ``start``
        else:  # each row's output at its last token in the call
            last = (lengths[:n].clamp(max=end) - 1 - start).view(1, n, 1).expand(1, n, hidden)
            h_n = run_outputs.gather(0, last)[0]
        c_n = c_n[0]
        if n < batch_size:  # rows without a token in the call: zero outputs, state unchanged
            run_outputs = torch.nn.functional.pad(run_outputs, (0, 0, 0, batch_size - n))
            h_n, c_n = torch.cat([h_n, h[n:]]), torch.cat([c_n, c[n:]])
        pieces.append(run_outputs)
        h, c = h_n, c_n
    time_major = pieces[::-1] if reverse else pieces
    covered = max((end for _, end, _ in segments), default=0)
    if covered < seq_len:  # steps after the longest sentence: no row has a token
        time_major.append(inputs.new_zeros(seq_len - covered, batch_size, hidden))
    return torch.cat(time_major).transpose(0, 1), h, c


def masked_lstm_direction(
    inputs: torch.Tensor,
    mask: torch.BoolTensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias: torch.Tensor,
    reverse: bool = False,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One LSTM direction from a zero state.

    ``inputs``: (batch, seq_len, input_size); ``mask``: (batch, seq_len), true at real tokens (a
    prefix of each row); ``weight_ih`` (4H, input_size), ``weight_hh`` (4H, H) as in
    ``torch.nn.LSTM``; ``bias``: ``b_ih + b_hh``.

    Returns outputs (batch, seq_len, H), zero at padding, and the final ``h``, ``c`` (batch, H):
    after the last token (forward) or the first (``reverse``).

    Padding is skipped as packed sequences skip it: the sentences are sorted by length, so those
    with a token at step t are the first ``n_t`` rows, and each step (and its backward) runs over
    those rows only; a sentence's state stays as it is outside its tokens, so the forward direction
    ends at its last token and the backward direction starts there from zero.
    """
    four_hidden, hidden = weight_hh.shape
    if (
        inputs.dim() != 3
        or tuple(mask.shape) != tuple(inputs.shape[:2])
        or tuple(weight_ih.shape) != (four_hidden, inputs.size(2))
        or four_hidden != 4 * hidden
        or tuple(bias.shape) != (four_hidden,)
    ):
        # torch's fused kernel does not check these: it would compute from the wrong memory
        raise ValueError(
            f"shapes do not make one LSTM direction: inputs {tuple(inputs.shape)} (batch, seq_len, input_size), "
            f"mask {tuple(mask.shape)} (batch, seq_len), weight_ih {tuple(weight_ih.shape)} (4 * hidden, input_size), "
            f"weight_hh {tuple(weight_hh.shape)} (4 * hidden, hidden), bias {tuple(bias.shape)} (4 * hidden,)"
        )
    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in (inputs, weight_ih, weight_hh, bias))
    # training: kernel runs and the step loop between them; inference: kernel calls with frozen padding
    path = _lstm_direction_training if needs_grad else _lstm_direction_frozen_padding
    return _sorted_by_length(path, inputs, mask, weight_ih, weight_hh, bias, reverse)


DirectionPath = Callable[..., Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def _sorted_by_length(
    path: DirectionPath,
    inputs: torch.Tensor,
    mask: torch.BoolTensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias: torch.Tensor,
    reverse: bool,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Runs ``path`` (one of this module's direction functions) over the batch sorted by length,
    time-major, and puts the rows back in their order."""
    lengths = mask.sum(dim=1)
    order = lengths.argsort(descending=True, stable=True)
    # rows of the sorted batch with a token at each step
    steps = torch.arange(inputs.size(1), device=inputs.device).unsqueeze(1)
    active = (lengths[order].unsqueeze(0) > steps).sum(dim=1).tolist()
    time_major = inputs.index_select(0, order).transpose(0, 1).contiguous()
    outputs, h, c = path(time_major, lengths[order], active, weight_ih, weight_hh, bias, reverse)
    restore = order.argsort()
    return outputs.index_select(0, restore), h.index_select(0, restore), c.index_select(0, restore)


def _step_loop(
    inputs: torch.Tensor, lengths: torch.Tensor, active: List[int], weight_ih: torch.Tensor,
    weight_hh: torch.Tensor, bias: torch.Tensor, reverse: bool,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:class:`_LstmDirection` alone over the whole batch (the reference the tests compare with)."""
    return _LstmDirection.apply(inputs, active, weight_ih, weight_hh, bias, reverse)


class RecurrentProducts:
    """The two products of a weight that multiplies the decoder's state at every step of one
    batch (an LSTM cell's ``W_hh``; at inference also the attention's query weight), ``h W^T``
    (forward) and ``dG W`` (backward), each laid out once (on first use) by
    :func:`recurrent_product`, and the weight's gradient summed over the steps in one buffer
    (:meth:`add_weight_gradient`). Valid while the weight does not change (one forward and
    backward)."""

    def __init__(self, weight_hh: torch.Tensor, rows: int) -> None:
        self.weight_hh, self.rows = weight_hh, rows
        self._forward: Optional[Callable[[torch.Tensor], torch.Tensor]] = None
        self._backward: Optional[Callable[[torch.Tensor], torch.Tensor]] = None
        self.steps = 0  # steps run forward so far
        self._grad_weight_hh: Optional[torch.Tensor] = None

    def add_weight_gradient(self, step: int, grad_gates: torch.Tensor, h: torch.Tensor) -> Optional[torch.Tensor]:
        """Adds step ``step``'s ``dG^T h_{t-1}`` to one buffer instead of a fresh 4H x H gradient per
        step; returns the sum at step 0, the last step the backward reaches (every later step
        depends on it), and None (nothing to add) before."""
        if self._grad_weight_hh is None:
            self._grad_weight_hh = grad_gates.t().mm(h)
        else:
            self._grad_weight_hh.addmm_(grad_gates.t(), h)
        if step > 0:
            return None
        total, self._grad_weight_hh = self._grad_weight_hh, None
        return total

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self._forward is None:
            self._forward = recurrent_product(self.weight_hh, self.rows)
        return self._forward(h)

    def backward(self, grad_gates: torch.Tensor) -> torch.Tensor:
        if self._backward is None:
            self._backward = recurrent_product(self.weight_hh.t(), self.rows)
        return self._backward(grad_gates)


class _LstmCellStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h, c, weight_ih, weight_hh, bias, products):
        hidden = h.size(1)
        activations = products.forward(h).add_(torch.addmm(bias, x, weight_ih.t()))
        c_new, tanh_c = _activate_gates(activations, c)
        h_new = activations[:, 3 * hidden :] * tanh_c
        ctx.products, ctx.step = products, products.steps
        products.steps += 1
        ctx.save_for_backward(x, h, c, weight_ih, activations, tanh_c)
        return h_new, c_new

    @staticmethod
    def backward(ctx, grad_h, grad_c):
        x, h, c, weight_ih, activations, tanh_c = ctx.saved_tensors
        grad_gates = torch.empty_like(activations)
        grad_c = _gate_gradients(grad_h, grad_c, activations, c, tanh_c, grad_gates)
        grad_x = grad_gates.mm(weight_ih) if ctx.needs_input_grad[0] else None
        grad_h_previous = ctx.products.backward(grad_gates) if ctx.needs_input_grad[1] else None
        grad_c_previous = grad_c * activations.chunk(4, dim=1)[1]  # dc_t/dc_{t-1} = f
        grad_weight_ih = grad_gates.t().mm(x) if ctx.needs_input_grad[3] else None
        grad_weight_hh = None
        if ctx.needs_input_grad[4]:
            grad_weight_hh = ctx.products.add_weight_gradient(ctx.step, grad_gates, h)
        grad_bias = grad_gates.sum(dim=0) if ctx.needs_input_grad[5] else None
        return grad_x, grad_h_previous, grad_c_previous, grad_weight_ih, grad_weight_hh, grad_bias, None


def lstm_cell_step(
    cell: torch.nn.LSTMCell, x: torch.Tensor, state: Tuple[torch.Tensor, torch.Tensor], products: RecurrentProducts
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``cell(x, state)`` (same weights, gate order and results as ``torch.nn.LSTMCell``) with the
    recurrent products of ``products``, whose weight must be ``cell.weight_hh``: a decoder that
    runs the same cell for many steps of a batch lays its recurrent weight out once."""
    h, c = state
    bias = cell.bias_ih + cell.bias_hh
    if not torch.is_grad_enabled():
        activations = products.forward(h).add_(torch.addmm(bias, x, cell.weight_ih.t()))
        c_new, tanh_c = _activate_gates(activations, c)
        return activations[:, 3 * h.size(1) :] * tanh_c, c_new
    return _LstmCellStep.apply(x, h, c, cell.weight_ih, cell.weight_hh, bias, products)
