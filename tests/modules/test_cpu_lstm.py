from functools import partial

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from copymtl_allennlp.modules import cpu_lstm
from copymtl_allennlp.modules.cpu_lstm import masked_lstm_direction

# the ways through one direction: the step loop alone; kernel runs with the loop between them
# (training's), every run in the kernel; frozen padding with a kernel call per run (call cost 0), a
# few calls, one call (inference's)
STEP_LOOP = cpu_lstm._step_loop
KERNEL_RUNS = {n: partial(cpu_lstm._lstm_direction_training, min_kernel_run=n) for n in (1, 2, 3)}
FROZEN = {cost: partial(cpu_lstm._lstm_direction_frozen_padding, call_cost=cost) for cost in (0.0, 3.0, 5.0, 10.0, 1e9)}


def _direction(path, inputs, mask, weight_ih, weight_hh, bias, reverse):
    """One direction through ``path`` (None: the public function, which chooses by autograd)."""
    if path is None:
        return masked_lstm_direction(inputs, mask, weight_ih, weight_hh, bias, reverse)
    return cpu_lstm._sorted_by_length(path, inputs, mask, weight_ih, weight_hh, bias, reverse)


def _both_directions(lstm: torch.nn.LSTM, inputs: torch.Tensor, mask: torch.Tensor, path=None):
    outputs, hs, cs = [], [], []
    for suffix, reverse in (("", False), ("_reverse", True)):
        bias = getattr(lstm, f"bias_ih_l0{suffix}") + getattr(lstm, f"bias_hh_l0{suffix}")
        out, h, c = _direction(
            path, inputs, mask, getattr(lstm, f"weight_ih_l0{suffix}"), getattr(lstm, f"weight_hh_l0{suffix}"), bias, reverse
        )
        outputs.append(out)
        hs.append(h)
        cs.append(c)
    return torch.cat(outputs, dim=2), torch.stack(hs), torch.stack(cs)


def _outputs_and_gradients(lstm: torch.nn.LSTM, inputs: torch.Tensor, mask: torch.Tensor, loss_weights: list, path=None) -> list:
    """Both directions' outputs and final states, then the gradients of inputs and weights for a
    random linear loss of them (its weights drawn into ``loss_weights`` on the first call)."""
    outputs = _both_directions(lstm, inputs, mask, path)
    if not loss_weights:
        loss_weights.extend(torch.randn_like(t) for t in outputs)
    loss = sum((t * w).sum() for t, w in zip(outputs, loss_weights))
    return [*outputs, *torch.autograd.grad(loss, [inputs, *lstm.parameters()])]


# with autograd: the public function (training's path), the step loop in one block or blocks of 3
# steps, kernel runs of 2 steps or more, every run in the kernel, frozen padding at three call costs
@pytest.mark.parametrize(
    "path,block_values",
    [
        (None, cpu_lstm.BLOCK_VALUES), (STEP_LOOP, cpu_lstm.BLOCK_VALUES), (STEP_LOOP, 4 * 6 * 4 * 3),
        (KERNEL_RUNS[2], 4 * 6 * 4 * 3), (KERNEL_RUNS[1], cpu_lstm.BLOCK_VALUES),
        (FROZEN[0.0], cpu_lstm.BLOCK_VALUES), (FROZEN[3.0], cpu_lstm.BLOCK_VALUES), (FROZEN[1e9], cpu_lstm.BLOCK_VALUES),
    ],
)
def test_outputs_states_and_every_gradient_equal_torch_packed_lstm(monkeypatch, path, block_values):
    monkeypatch.setattr(cpu_lstm, "BLOCK_VALUES", block_values)  # a tuning constant: the loop's blocks
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(5, 6, bidirectional=True, batch_first=True).double()
    inputs = torch.randn(4, 7, 5, dtype=torch.double, requires_grad=True)
    lengths = torch.tensor([7, 3, 1, 5])
    mask = torch.arange(7).unsqueeze(0) < lengths.unsqueeze(1)

    packed, (h_ref, c_ref) = lstm(pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False))
    out_ref, _ = pad_packed_sequence(packed, batch_first=True, total_length=7)
    out, h, c = _both_directions(lstm, inputs, mask, path)
    torch.testing.assert_close(out, out_ref)
    torch.testing.assert_close(h, h_ref)
    torch.testing.assert_close(c, c_ref)
    assert out[2, 1:].abs().max() == 0  # padding outputs zeros

    # a loss that uses the outputs and both final states, so every backward path is exercised
    weights = [torch.randn_like(t) for t in (out_ref, h_ref, c_ref)]

    def loss(tensors):
        return sum((t * w).sum() for t, w in zip(tensors, weights))

    reference = torch.autograd.grad(loss((out_ref, h_ref, c_ref)), [inputs, *lstm.parameters()])
    ours = torch.autograd.grad(loss((out, h, c)), [inputs, *lstm.parameters()])
    for (name, _), expected, got in zip([("inputs", None), *lstm.named_parameters()], reference, ours):
        torch.testing.assert_close(got, expected, msg=name)


# the step loop alone (in blocks of two steps); a kernel run, then the loop; one kernel call with frozen padding steps
@pytest.mark.parametrize("path", [STEP_LOOP, KERNEL_RUNS[3], FROZEN[1e9]])
@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck(monkeypatch, reverse, path):
    monkeypatch.setattr(cpu_lstm, "BLOCK_VALUES", 2 * 2 * 12)  # blocks of two steps
    torch.manual_seed(1)
    inputs = torch.randn(2, 5, 3, dtype=torch.double, requires_grad=True)
    weight_ih = torch.randn(12, 3, dtype=torch.double, requires_grad=True)
    weight_hh = torch.randn(12, 3, dtype=torch.double, requires_grad=True)
    bias = torch.randn(12, dtype=torch.double, requires_grad=True)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    assert torch.autograd.gradcheck(
        lambda x, w1, w2, b: _direction(path, x, mask, w1, w2, b, reverse), (inputs, weight_ih, weight_hh, bias)
    )


@pytest.mark.skipif(not cpu_lstm._ONEDNN_LINEAR, reason="this torch has no oneDNN linear")
def test_packed_recurrent_products_equal_the_plain_matmul_fallback_in_float32(monkeypatch):
    # the fallback is what a torch without the private oneDNN operators runs
    torch.manual_seed(2)
    lstm = torch.nn.LSTM(8, 32, bidirectional=True, batch_first=True)
    inputs = torch.randn(5, 9, 8, requires_grad=True)
    mask = torch.arange(9).unsqueeze(0) < torch.tensor([9, 4, 1, 7, 9]).unsqueeze(1)
    loss_weights: list = []

    def run(packed: bool):
        monkeypatch.setattr(cpu_lstm, "_ONEDNN_LINEAR", packed)
        return _outputs_and_gradients(lstm, inputs, mask, loss_weights, STEP_LOOP)  # the step loop's products

    calls = []
    reorder = torch.ops.mkldnn._reorder_linear_weight
    monkeypatch.setattr(
        cpu_lstm.torch.ops.mkldnn, "_reorder_linear_weight", lambda w, rows: calls.append(w.is_contiguous()) or reorder(w, rows), raising=False
    )
    packed = run(True)
    # W_hh and W_hh^T of each direction, once each; W_hh^T read through its strides, not copied
    assert sorted(calls) == [False, False, True, True]
    calls.clear()
    plain = run(False)
    assert calls == []  # the fallback: no private operator
    for got, expected in zip(packed, plain):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])  # plain and oneDNN-packed products
def test_lstm_cell_steps_equal_torch_lstm_cell(dtype):
    torch.manual_seed(4)
    cell = torch.nn.LSTMCell(6, 24).to(dtype)
    xs = torch.randn(3, 5, 6, dtype=dtype, requires_grad=True)
    h0 = torch.randn(5, 24, dtype=dtype, requires_grad=True)
    c0 = torch.randn(5, 24, dtype=dtype, requires_grad=True)
    weights = torch.randn(3, 5, 24, dtype=dtype)

    def run(step):
        state, loss = (h0, c0), 0
        for t in range(3):  # three steps share one layout of the recurrent weight
            state = step(xs[t], state)
            loss = loss + (state[0] * weights[t]).sum()
        loss = loss + state[1].sum()  # the last c is used; the earlier ones only through later steps
        return [*state, *torch.autograd.grad(loss, [xs, h0, c0, *cell.parameters()])]

    products = cpu_lstm.RecurrentProducts(cell.weight_hh, 5)
    ours = run(lambda x, state: cpu_lstm.lstm_cell_step(cell, x, state, products))
    reference = run(lambda x, state: cell(x, state))
    tolerance = {} if dtype == torch.float64 else {"rtol": 1e-5, "atol": 1e-6}
    for got, expected in zip(ours, reference):
        torch.testing.assert_close(got, expected, **tolerance)
    with torch.no_grad():  # inference: no autograd node
        h, c = cpu_lstm.lstm_cell_step(cell, xs[0], (h0, c0), cpu_lstm.RecurrentProducts(cell.weight_hh, 5))
        torch.testing.assert_close((h, c), cell(xs[0], (h0, c0)), **tolerance)


def test_lstm_cell_step_gradcheck():
    torch.manual_seed(5)
    cell = torch.nn.LSTMCell(3, 4).double()
    x = torch.randn(2, 3, dtype=torch.double, requires_grad=True)
    h = torch.randn(2, 4, dtype=torch.double, requires_grad=True)
    c = torch.randn(2, 4, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, h, c: cpu_lstm.lstm_cell_step(cell, x, (h, c), cpu_lstm.RecurrentProducts(cell.weight_hh, 2)), (x, h, c)
    )


# without autograd: the public function (inference's path: frozen padding), frozen padding with a
# call per run, a few, one; kernel runs (every run in the kernel, mixed)
@pytest.mark.parametrize("path", [None, FROZEN[0.0], FROZEN[5.0], FROZEN[1e9], KERNEL_RUNS[1], KERNEL_RUNS[2]])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_inference_paths_equal_the_training_loop(path, dtype):
    torch.manual_seed(4)
    lstm = torch.nn.LSTM(5, 6, bidirectional=True, batch_first=True).to(dtype)
    # sorted lengths 8, 8, 6, 5, 5, 2, 1: runs of 1, 1, 3, 1 and 2 steps
    lengths = torch.tensor([5, 8, 1, 6, 2, 8, 5])
    inputs = torch.randn(7, 8, 5, dtype=dtype)
    mask = torch.arange(8).unsqueeze(0) < lengths.unsqueeze(1)
    assert cpu_lstm._runs([7, 6, 5, 5, 5, 3, 2, 2, 0]) == [(0, 1, 7), (1, 2, 6), (2, 5, 5), (5, 6, 3), (6, 8, 2)]
    with torch.enable_grad():
        loop = _both_directions(lstm, inputs.detach().requires_grad_(), mask, STEP_LOOP)  # autograd: the step loop
    with torch.no_grad():
        runs = _both_directions(lstm, inputs.detach(), mask, path)
    for got, want in zip(runs, loop):
        torch.testing.assert_close(got, want.detach())


def test_kernel_paths_equal_the_step_loop_in_float32():
    # float32 on a CPU: torch's kernel runs oneDNN's LSTM and its backward (float64 runs torch's
    # native kernel, tested above)
    torch.manual_seed(6)
    lstm = torch.nn.LSTM(5, 16, bidirectional=True, batch_first=True)
    # sorted lengths 9, 9, 8, 8, 8, 3: kernel runs of 3 steps (6 rows) and 5 steps (5 rows), a loop step (2 rows)
    lengths = torch.tensor([8, 9, 3, 9, 8, 8])
    inputs = torch.randn(6, 9, 5, requires_grad=True)
    mask = torch.arange(9).unsqueeze(0) < lengths.unsqueeze(1)
    assert cpu_lstm._segments(cpu_lstm._runs([6] * 3 + [5] * 2 + [5] * 3 + [2]), 3) == [(0, 3, 6, True), (3, 8, 5, True), (8, 9, 2, False)]
    runs = [(0, 3, 6), (3, 4, 5), (4, 7, 3), (7, 8, 1), (8, 9, 1)]
    assert cpu_lstm._segments(runs, 3) == [(0, 3, 6, True), (3, 4, 5, False), (4, 7, 3, True), (7, 9, 1, False)]
    assert cpu_lstm._segments(runs, 4) == [(0, 9, 6, False)]  # short runs: one loop segment
    loss_weights: list = []
    loop = _outputs_and_gradients(lstm, inputs, mask, loss_weights, STEP_LOOP)
    # the public function (kernel runs and the loop); frozen padding: a call per run, 2 calls ((0, 8) and (8, 9)), 1 call
    for path in (None, FROZEN[0.0], FROZEN[10.0], FROZEN[1e9]):
        for got, expected in zip(_outputs_and_gradients(lstm, inputs, mask, loss_weights, path), loop):
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    with torch.no_grad():  # and without autograd
        for path in (None, FROZEN[0.0], FROZEN[1e9]):
            for got, expected in zip(_both_directions(lstm, inputs, mask, path), loop[:3]):
                torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("grad", [True, False])  # the training and the inference path: both call torch's kernel
def test_shapes_that_do_not_fit_are_refused(grad):
    # torch.lstm itself does not check the input width (it computes from the wrong memory)
    lstm = torch.nn.LSTM(3, 4)
    weights = (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0)
    mask = torch.ones(2, 5, dtype=torch.bool)
    with torch.set_grad_enabled(grad):
        with pytest.raises(ValueError, match=r"inputs \(2, 5, 7\).*weight_ih \(16, 3\)"):
            masked_lstm_direction(torch.randn(2, 5, 7), mask, *weights)
        with pytest.raises(ValueError, match=r"mask \(2, 4\)"):
            masked_lstm_direction(torch.randn(2, 5, 3), mask[:, :4], *weights)
        with pytest.raises(ValueError, match=r"bias \(15,\)"):
            masked_lstm_direction(torch.randn(2, 5, 3), mask, *weights[:2], weights[2][:15])


@pytest.mark.parametrize("path", [None, STEP_LOOP, FROZEN[3.0]])
def test_steps_after_the_longest_sentence_are_zero_in_training(path):
    # a batch padded beyond its longest sentence: no row has a token in the last two steps
    torch.manual_seed(8)
    lstm = torch.nn.LSTM(3, 4, bidirectional=True, batch_first=True).double()
    inputs = torch.randn(3, 8, 3, dtype=torch.double, requires_grad=True)
    lengths = torch.tensor([6, 2, 5])
    mask = torch.arange(8).unsqueeze(0) < lengths.unsqueeze(1)
    packed, (h_ref, c_ref) = lstm(pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False))
    out_ref, _ = pad_packed_sequence(packed, batch_first=True, total_length=8)
    out, h, c = _both_directions(lstm, inputs, mask, path)
    assert out.shape == out_ref.shape and out[:, 6:].abs().max() == 0
    torch.testing.assert_close((out, h, c), (out_ref, h_ref, c_ref))
    weights = torch.randn_like(out_ref)
    torch.testing.assert_close(torch.autograd.grad((out * weights).sum(), inputs), torch.autograd.grad((out_ref * weights).sum(), inputs))


def test_kernel_segments_minimise_calls_plus_row_steps():
    # runs (start, end, rows) of sorted lengths 6, 6, 5, 5, 5, 1; with a call cost c:
    # one call 6 x 6 + c = 36 + c; (0, 2) + (2, 6): 12 + 20 + 2c = 32 + 2c;
    # (0, 5) + (5, 6): 30 + 1 + 2c = 31 + 2c; a call per run: 12 + 15 + 1 + 3c = 28 + 3c
    runs = [(0, 2, 6), (2, 5, 5), (5, 6, 1)]
    assert cpu_lstm._kernel_segments(runs, 10.0) == [(0, 6, 6)]  # 46 < 51 < 52, 58
    assert cpu_lstm._kernel_segments(runs, 4.0) == [(0, 5, 6), (5, 6, 1)]  # 39 < 40
    assert cpu_lstm._kernel_segments(runs, 2.0) == [(0, 2, 6), (2, 5, 5), (5, 6, 1)]  # 34 < 35 < 36, 38
    assert cpu_lstm._kernel_segments([], 2.0) == []
