import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from copymtl_allennlp.modules import lstm_layer
from copymtl_allennlp.modules.lstm_layer import masked_lstm_direction


def _both_directions(lstm: torch.nn.LSTM, inputs: torch.Tensor, mask: torch.Tensor):
    outputs, hs, cs = [], [], []
    for suffix, reverse in (("", False), ("_reverse", True)):
        bias = getattr(lstm, f"bias_ih_l0{suffix}") + getattr(lstm, f"bias_hh_l0{suffix}")
        out, h, c = masked_lstm_direction(
            inputs, mask, getattr(lstm, f"weight_ih_l0{suffix}"), getattr(lstm, f"weight_hh_l0{suffix}"), bias, reverse
        )
        outputs.append(out)
        hs.append(h)
        cs.append(c)
    return torch.cat(outputs, dim=2), torch.stack(hs), torch.stack(cs)


def _outputs_and_gradients(lstm: torch.nn.LSTM, inputs: torch.Tensor, mask: torch.Tensor, loss_weights: list) -> list:
    """Both directions' outputs and final states, then the gradients of inputs and weights for a
    random linear loss of them (its weights drawn into ``loss_weights`` on the first call)."""
    outputs = _both_directions(lstm, inputs, mask)
    if not loss_weights:
        loss_weights.extend(torch.randn_like(t) for t in outputs)
    loss = sum((t * w).sum() for t, w in zip(outputs, loss_weights))
    return [*outputs, *torch.autograd.grad(loss, [inputs, *lstm.parameters()])]


# training: the step loop alone (kernel runs off), in one block or blocks of 3 steps; torch's kernel
# for runs of 2 steps or more, the loop between them; every run in the kernel; frozen padding with
# a kernel call per run (call cost 0), a few calls, one call for the whole batch
@pytest.mark.parametrize(
    "kernel_runs,min_kernel_run,block_values,frozen_call_cost",
    [
        (False, 3, lstm_layer.BLOCK_VALUES, None), (False, 3, 4 * 6 * 4 * 3, None),
        (True, 2, 4 * 6 * 4 * 3, None), (True, 1, lstm_layer.BLOCK_VALUES, None),
        (False, 3, lstm_layer.BLOCK_VALUES, 0.0), (False, 3, lstm_layer.BLOCK_VALUES, 3.0), (False, 3, lstm_layer.BLOCK_VALUES, 1e9),
    ],
)
def test_outputs_states_and_every_gradient_equal_torch_packed_lstm(monkeypatch, kernel_runs, min_kernel_run, block_values, frozen_call_cost):
    monkeypatch.setattr(lstm_layer, "FROZEN_PADDING_FOR_TRAINING", frozen_call_cost is not None)
    monkeypatch.setattr(lstm_layer, "KERNEL_CALL_ROW_STEPS", frozen_call_cost or 0.0)
    monkeypatch.setattr(lstm_layer, "BLOCK_VALUES", block_values)
    monkeypatch.setattr(lstm_layer, "KERNEL_RUNS_FOR_TRAINING", kernel_runs)
    monkeypatch.setattr(lstm_layer, "MIN_KERNEL_RUN_TRAINING", min_kernel_run)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(5, 6, bidirectional=True, batch_first=True).double()
    inputs = torch.randn(4, 7, 5, dtype=torch.double, requires_grad=True)
    lengths = torch.tensor([7, 3, 1, 5])
    mask = torch.arange(7).unsqueeze(0) < lengths.unsqueeze(1)

    packed, (h_ref, c_ref) = lstm(pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False))
    out_ref, _ = pad_packed_sequence(packed, batch_first=True, total_length=7)
    out, h, c = _both_directions(lstm, inputs, mask)
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


# the step loop alone; a kernel run, then the loop; one kernel call with frozen padding steps
@pytest.mark.parametrize("kernel_runs,frozen", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck(monkeypatch, reverse, kernel_runs, frozen):
    monkeypatch.setattr(lstm_layer, "FROZEN_PADDING_FOR_TRAINING", frozen)
    monkeypatch.setattr(lstm_layer, "KERNEL_CALL_ROW_STEPS", 1e9)
    monkeypatch.setattr(lstm_layer, "BLOCK_VALUES", 2 * 2 * 12)  # blocks of two steps
    monkeypatch.setattr(lstm_layer, "KERNEL_RUNS_FOR_TRAINING", kernel_runs)
    torch.manual_seed(1)
    inputs = torch.randn(2, 5, 3, dtype=torch.double, requires_grad=True)
    weight_ih = torch.randn(12, 3, dtype=torch.double, requires_grad=True)
    weight_hh = torch.randn(12, 3, dtype=torch.double, requires_grad=True)
    bias = torch.randn(12, dtype=torch.double, requires_grad=True)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    assert torch.autograd.gradcheck(
        lambda x, w1, w2, b: masked_lstm_direction(x, mask, w1, w2, b, reverse), (inputs, weight_ih, weight_hh, bias)
    )


@pytest.mark.skipif(not lstm_layer._ONEDNN_LINEAR, reason="this torch has no oneDNN linear")
def test_packed_recurrent_products_equal_plain_matmuls_in_float32(monkeypatch):
    torch.manual_seed(2)
    lstm = torch.nn.LSTM(8, 32, bidirectional=True, batch_first=True)
    inputs = torch.randn(5, 9, 8, requires_grad=True)
    mask = torch.arange(9).unsqueeze(0) < torch.tensor([9, 4, 1, 7, 9]).unsqueeze(1)
    loss_weights: list = []
    monkeypatch.setattr(lstm_layer, "KERNEL_RUNS_FOR_TRAINING", False)  # the step loop's products

    def run(packed: bool):
        monkeypatch.setattr(lstm_layer, "PACKED_PRODUCTS", packed)
        return _outputs_and_gradients(lstm, inputs, mask, loss_weights)

    calls = []
    reorder = torch.ops.mkldnn._reorder_linear_weight
    monkeypatch.setattr(
        lstm_layer.torch.ops.mkldnn, "_reorder_linear_weight", lambda w, rows: calls.append(w.is_contiguous()) or reorder(w, rows), raising=False
    )
    packed, plain = run(True), run(False)
    # W_hh and W_hh^T of each direction, once each; W_hh^T read through its strides, not copied
    assert sorted(calls) == [False, False, True, True]
    for got, expected in zip(packed, plain):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("accumulate", [True, False])  # W_hh's gradient in one buffer, or per step
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])  # plain and oneDNN-packed products
def test_lstm_cell_steps_equal_torch_lstm_cell(monkeypatch, dtype, accumulate):
    monkeypatch.setattr(lstm_layer, "ACCUMULATE_IN_PLACE", accumulate)
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

    products = lstm_layer.RecurrentProducts(cell.weight_hh, 5)
    ours = run(lambda x, state: lstm_layer.lstm_cell_step(cell, x, state, products))
    reference = run(lambda x, state: cell(x, state))
    tolerance = {} if dtype == torch.float64 else {"rtol": 1e-5, "atol": 1e-6}
    for got, expected in zip(ours, reference):
        torch.testing.assert_close(got, expected, **tolerance)
    with torch.no_grad():  # inference: no autograd node
        h, c = lstm_layer.lstm_cell_step(cell, xs[0], (h0, c0), lstm_layer.RecurrentProducts(cell.weight_hh, 5))
        torch.testing.assert_close((h, c), cell(xs[0], (h0, c0)), **tolerance)


def test_lstm_cell_step_gradcheck():
    torch.manual_seed(5)
    cell = torch.nn.LSTMCell(3, 4).double()
    x = torch.randn(2, 3, dtype=torch.double, requires_grad=True)
    h = torch.randn(2, 4, dtype=torch.double, requires_grad=True)
    c = torch.randn(2, 4, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, h, c: lstm_layer.lstm_cell_step(cell, x, (h, c), lstm_layer.RecurrentProducts(cell.weight_hh, 2)), (x, h, c)
    )


# round 5's kernel runs: every run in torch's kernel, mixed, none; frozen padding: a call per run, a few, one
@pytest.mark.parametrize("min_kernel_run,frozen_call_cost", [(1, None), (2, None), (100, None), (3, 0.0), (3, 5.0), (3, 1e9)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_inference_runs_equal_the_training_loop(monkeypatch, min_kernel_run, frozen_call_cost, dtype):
    monkeypatch.setattr(lstm_layer, "FROZEN_PADDING_FOR_INFERENCE", frozen_call_cost is not None)
    monkeypatch.setattr(lstm_layer, "KERNEL_CALL_ROW_STEPS", frozen_call_cost or 0.0)
    monkeypatch.setattr(lstm_layer, "MIN_KERNEL_RUN", min_kernel_run)
    monkeypatch.setattr(lstm_layer, "KERNEL_RUNS_FOR_TRAINING", False)  # the reference: the step loop
    torch.manual_seed(4)
    lstm = torch.nn.LSTM(5, 6, bidirectional=True, batch_first=True).to(dtype)
    # sorted lengths 8, 8, 6, 5, 5, 2, 1: runs of 1, 1, 3, 1 and 2 steps
    lengths = torch.tensor([5, 8, 1, 6, 2, 8, 5])
    inputs = torch.randn(7, 8, 5, dtype=dtype)
    mask = torch.arange(8).unsqueeze(0) < lengths.unsqueeze(1)
    assert lstm_layer._runs([7, 6, 5, 5, 5, 3, 2, 2, 0]) == [(0, 1, 7), (1, 2, 6), (2, 5, 5), (5, 6, 3), (6, 8, 2)]
    with torch.enable_grad():
        loop = _both_directions(lstm, inputs.detach().requires_grad_(), mask)  # autograd: the training loop
    with torch.no_grad():
        runs = _both_directions(lstm, inputs.detach(), mask)  # no autograd: kernel runs and the step loop
    for got, want in zip(runs, loop):
        torch.testing.assert_close(got, want.detach())


def test_kernel_paths_equal_the_step_loop_in_float32(monkeypatch):
    # float32 on a CPU: torch's kernel runs oneDNN's LSTM and its backward (float64 runs torch's
    # native kernel, tested above)
    torch.manual_seed(6)
    lstm = torch.nn.LSTM(5, 16, bidirectional=True, batch_first=True)
    # sorted lengths 9, 9, 8, 8, 8, 3: kernel runs of 3 steps (6 rows) and 5 steps (5 rows), a loop step (2 rows)
    lengths = torch.tensor([8, 9, 3, 9, 8, 8])
    inputs = torch.randn(6, 9, 5, requires_grad=True)
    mask = torch.arange(9).unsqueeze(0) < lengths.unsqueeze(1)
    assert lstm_layer._segments(lstm_layer._runs([6] * 3 + [5] * 2 + [5] * 3 + [2]), 3) == [(0, 3, 6, True), (3, 8, 5, True), (8, 9, 2, False)]
    runs = [(0, 3, 6), (3, 4, 5), (4, 7, 3), (7, 8, 1), (8, 9, 1)]
    assert lstm_layer._segments(runs, 3) == [(0, 3, 6, True), (3, 4, 5, False), (4, 7, 3, True), (7, 9, 1, False)]
    assert lstm_layer._segments(runs, 4) == [(0, 9, 6, False)]  # short runs: one loop segment
    loss_weights: list = []

    def run(kernel_runs: bool, frozen_call_cost=None):
        monkeypatch.setattr(lstm_layer, "FROZEN_PADDING_FOR_TRAINING", frozen_call_cost is not None)
        monkeypatch.setattr(lstm_layer, "KERNEL_CALL_ROW_STEPS", frozen_call_cost or 0.0)
        monkeypatch.setattr(lstm_layer, "KERNEL_RUNS_FOR_TRAINING", kernel_runs)
        return _outputs_and_gradients(lstm, inputs, mask, loss_weights)

    loop = run(False)
    # kernel runs and the loop; frozen padding: a call per run, 2 calls ((0, 8) and (8, 9)), 1 call
    for variant in (run(True), run(False, 0.0), run(False, 10.0), run(False, 1e9)):
        for got, expected in zip(variant, loop):
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    with torch.no_grad():  # and without autograd
        for frozen_call_cost in (0.0, 1e9):
            monkeypatch.setattr(lstm_layer, "FROZEN_PADDING_FOR_INFERENCE", True)
            monkeypatch.setattr(lstm_layer, "KERNEL_CALL_ROW_STEPS", frozen_call_cost)
            for got, expected in zip(_both_directions(lstm, inputs, mask), loop[:3]):
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


@pytest.mark.parametrize("kernel_runs,frozen", [(True, False), (False, False), (False, True)])
def test_steps_after_the_longest_sentence_are_zero_in_training(monkeypatch, kernel_runs, frozen):
    # a batch padded beyond its longest sentence: no row has a token in the last two steps
    monkeypatch.setattr(lstm_layer, "FROZEN_PADDING_FOR_TRAINING", frozen)
    monkeypatch.setattr(lstm_layer, "KERNEL_RUNS_FOR_TRAINING", kernel_runs)
    torch.manual_seed(8)
    lstm = torch.nn.LSTM(3, 4, bidirectional=True, batch_first=True).double()
    inputs = torch.randn(3, 8, 3, dtype=torch.double, requires_grad=True)
    lengths = torch.tensor([6, 2, 5])
    mask = torch.arange(8).unsqueeze(0) < lengths.unsqueeze(1)
    packed, (h_ref, c_ref) = lstm(pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False))
    out_ref, _ = pad_packed_sequence(packed, batch_first=True, total_length=8)
    out, h, c = _both_directions(lstm, inputs, mask)
    assert out.shape == out_ref.shape and out[:, 6:].abs().max() == 0
    torch.testing.assert_close((out, h, c), (out_ref, h_ref, c_ref))
    weights = torch.randn_like(out_ref)
    torch.testing.assert_close(torch.autograd.grad((out * weights).sum(), inputs), torch.autograd.grad((out_ref * weights).sum(), inputs))


def test_kernel_segments_minimise_calls_plus_row_steps():
    # runs (start, end, rows) of sorted lengths 6, 6, 5, 5, 5, 1; with a call cost c:
    # one call 6 x 6 + c = 36 + c; (0, 2) + (2, 6): 12 + 20 + 2c = 32 + 2c;
    # (0, 5) + (5, 6): 30 + 1 + 2c = 31 + 2c; a call per run: 12 + 15 + 1 + 3c = 28 + 3c
    runs = [(0, 2, 6), (2, 5, 5), (5, 6, 1)]
    assert lstm_layer._kernel_segments(runs, 10.0) == [(0, 6, 6)]  # 46 < 51 < 52, 58
    assert lstm_layer._kernel_segments(runs, 4.0) == [(0, 5, 6), (5, 6, 1)]  # 39 < 40
    assert lstm_layer._kernel_segments(runs, 2.0) == [(0, 2, 6), (2, 5, 5), (5, 6, 1)]  # 34 < 35 < 36, 38
    assert lstm_layer._kernel_segments([], 2.0) == []
