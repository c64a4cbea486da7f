import pytest
import torch
from allennlp.nn import util

from copymtl_allennlp.modules import CopyScorer, TripletDecoder
from copymtl_allennlp.modules.step_attention import StepAdditiveAttention
from copymtl_allennlp.modules.step_gradients import (
    lstm_cell_step,
    shared_by_steps,
    step_linear,
    step_weighted_sum,
)


def test_lstm_cell_step_equals_lstm_cell_values_and_gradients():
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(3, 4).double()
    inputs = torch.randn(5, 6, 3, dtype=torch.double)  # (steps, batch, input)
    start = (torch.randn(6, 4, dtype=torch.double), torch.randn(6, 4, dtype=torch.double))

    def run(step):
        state, total = start, 0
        for t in range(5):
            state = step(inputs[t], state)
            total = total + (state[0].sin() * (t + 1)).sum() + state[1].cos().sum()
        return total

    expected = run(cell)
    expected_grads = torch.autograd.grad(expected, list(cell.parameters()))
    weight_ih, sink_ih = shared_by_steps(cell.weight_ih)
    weight_hh, sink_hh = shared_by_steps(cell.weight_hh)
    got = run(lambda x, state: lstm_cell_step(x, state, cell, weight_ih, weight_hh, sink_ih, sink_hh))
    torch.testing.assert_close(got, expected)
    for ours, theirs in zip(torch.autograd.grad(got, list(cell.parameters())), expected_grads):
        torch.testing.assert_close(ours, theirs)


def test_step_weighted_sum_equals_allennlp_weighted_sum():
    torch.manual_seed(0)
    values = torch.randn(2, 5, 3, dtype=torch.double, requires_grad=True)
    weights = torch.randn(4, 2, 5, dtype=torch.double, requires_grad=True)  # 4 steps
    expected = sum((util.weighted_sum(values, weights[t]) * (t + 1)).sum() for t in range(4))
    shared_values, sink = shared_by_steps(values)
    got = sum((step_weighted_sum(weights[t], shared_values, sink) * (t + 1)).sum() for t in range(4))
    torch.testing.assert_close(got, expected)
    for ours, theirs in zip(torch.autograd.grad(got, [values, weights]), torch.autograd.grad(expected, [values, weights])):
        torch.testing.assert_close(ours, theirs)


def test_gradcheck_of_shared_tensors_over_steps_and_a_direct_use():
    torch.manual_seed(0)
    weight = torch.randn(4, 3, dtype=torch.double, requires_grad=True)
    inputs = torch.randn(3, 2, 3, dtype=torch.double, requires_grad=True)
    values = torch.randn(2, 5, 4, dtype=torch.double, requires_grad=True)

    def steps(weight, inputs, values):
        shared_weight, weight_sink = shared_by_steps(weight)
        shared_values, values_sink = shared_by_steps(values)
        outputs = []
        for t in range(3):
            projected = step_linear(inputs[t], shared_weight, weight_sink)  # (2, 4)
            attention = torch.softmax(values.matmul(projected.unsqueeze(2)).squeeze(2), dim=1)
            outputs.append(step_weighted_sum(attention, shared_values, values_sink))
        # a use outside the step functions adds to the same gradient
        return torch.stack(outputs).tanh().sum() + (shared_values * 2).sum() + shared_weight.sum()

    assert torch.autograd.gradcheck(steps, (weight, inputs, values))
    # the sinks are emptied by each backward pass: a second pass gives the same gradients
    first = torch.autograd.grad(steps(weight, inputs, values), [weight, values])
    second = torch.autograd.grad(steps(weight, inputs, values), [weight, values])
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("options", [{}, {"num_decoders": 3}, {"max_entity_length": 2}])
@pytest.mark.parametrize("feeding", ["gold", "own"])
def test_decoder_loss_gradients_equal_plain_autograd(options, feeding):
    torch.manual_seed(0)
    decoder = TripletDecoder(
        embedding_dim=4,
        hidden_dim=6,
        num_relations=3,
        attention=StepAdditiveAttention(6, 6),
        copy_scorer=CopyScorer(6, 6, "selu", hidden_size=5),
        max_triplets=3,
        **options,
    ).double()
    batch, seq_len = 3, 5
    mask = torch.arange(seq_len).unsqueeze(0) < torch.tensor([[5], [3], [4]])
    encoder_outputs = torch.randn(batch, seq_len, 6, dtype=torch.double, requires_grad=True)
    embedded = torch.randn(batch, seq_len, 4, dtype=torch.double, requires_grad=True)
    state = (torch.randn(batch, 6, dtype=torch.double), torch.randn(batch, 6, dtype=torch.double))
    targets = {
        "relations": torch.tensor([[0, 2, -1], [1, -1, -1], [2, 2, 0]]),
        "head_ends": torch.tensor([[4, 1, -1], [0, -1, -1], [3, 2, 1]]),
        "tail_ends": torch.tensor([[1, 3, -1], [2, -1, -1], [0, 0, 2]]),
        "head_lengths": torch.tensor([[1, 2, 0], [3, 0, 0], [1, 1, 2]]),
        "tail_lengths": torch.tensor([[2, 1, 0], [1, 0, 0], [1, 2, 1]]),
    }
    inputs = [encoder_outputs, embedded, *decoder.parameters()]
    results = {}
    for collect in (True, False):
        decoder.collect_step_gradients = collect
        loss = decoder(encoder_outputs, mask, embedded, state, targets=targets, feeding=feeding)["loss"]
        results[collect] = (loss, torch.autograd.grad(loss, inputs, allow_unused=True))
    torch.testing.assert_close(results[True][0], results[False][0])
    for ours, theirs in zip(results[True][1], results[False][1]):
        if theirs is None:
            assert ours is None
        else:
            torch.testing.assert_close(ours, theirs)
