import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from copymtl_allennlp.modules import AveragedBidirectionalEncoder, cpu_lstm


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_cpu_loop_equals_torch_packed_rnn_and_averages_directions(cell, num_layers):
    torch.manual_seed(0)
    encoder = AveragedBidirectionalEncoder(input_size=3, hidden_size=4, cell=cell, num_layers=num_layers)
    inputs = torch.randn(3, 6, 3, requires_grad=True)
    mask = torch.arange(6).unsqueeze(0) < torch.tensor([[6], [2], [4]])
    outputs, (h, c) = encoder.forward_with_state(inputs, mask)

    packed = pack_padded_sequence(inputs, mask.sum(1), batch_first=True, enforce_sorted=False)
    reference, final = encoder.rnn(packed)
    reference, _ = pad_packed_sequence(reference, batch_first=True, total_length=6)
    torch.testing.assert_close(outputs, (reference[..., :4] + reference[..., 4:]) / 2)
    # the last layer's final states, directions averaged
    final_h = final[0] if cell == "lstm" else final
    torch.testing.assert_close(h, final_h[-2:].mean(0))
    if cell == "lstm":
        torch.testing.assert_close(c, final[1][-2:].mean(0))
    else:
        assert c is None
    assert outputs.shape == (3, 6, 4) and encoder.get_output_dim() == 4
    assert outputs[1, 2:].abs().max() == 0  # padding outputs nothing

    # gradients agree too
    outputs.sum().backward()
    loop_grads = [inputs.grad.clone()] + [p.grad.clone() for p in encoder.rnn.parameters()]
    inputs.grad = None
    encoder.rnn.zero_grad()
    ((reference[..., :4] + reference[..., 4:]) / 2).sum().backward()
    # the inputs' and every layer's weights'
    torch.testing.assert_close(loop_grads, [inputs.grad] + [p.grad for p in encoder.rnn.parameters()])


def test_padding_does_not_change_a_sentence():
    torch.manual_seed(0)
    encoder = AveragedBidirectionalEncoder(input_size=3, hidden_size=4)
    sentence = torch.randn(1, 3, 3)
    alone, (h_alone, _) = encoder.forward_with_state(sentence, torch.ones(1, 3, dtype=torch.bool))
    padded_input = torch.cat([sentence, torch.randn(1, 4, 3)], dim=1)
    padded, (h_padded, _) = encoder.forward_with_state(padded_input, torch.arange(7).unsqueeze(0) < 3)
    torch.testing.assert_close(padded[:, :3], alone)
    torch.testing.assert_close(h_padded, h_alone)


def test_inference_path_gives_the_training_path_results():
    torch.manual_seed(0)
    encoder = AveragedBidirectionalEncoder(input_size=3, hidden_size=4)
    inputs = torch.randn(2, 5, 3)
    mask = torch.arange(5).unsqueeze(0) < torch.tensor([[5], [3]])
    with_grad, (h1, c1) = encoder.forward_with_state(inputs, mask)  # masked loop
    with torch.no_grad():
        without, (h2, c2) = encoder.forward_with_state(inputs, mask)  # the loop over sorted rows
    torch.testing.assert_close(with_grad, without)
    torch.testing.assert_close((h1, c1), (h2, c2))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])  # oneDNN-packed and plain products
def test_inference_loop_equals_torch_packed_lstm(dtype):
    torch.manual_seed(3)
    encoder = AveragedBidirectionalEncoder(input_size=5, hidden_size=16).to(dtype)
    # unsorted lengths, ties, a one-token sentence, a batch longer than most of its sentences
    lengths = torch.tensor([4, 9, 1, 4, 7, 2])
    inputs = torch.randn(6, 9, 5, dtype=dtype)
    mask = torch.arange(9).unsqueeze(0) < lengths.unsqueeze(1)
    with torch.no_grad():
        outputs, (h, c) = encoder.forward_with_state(inputs, mask)
        packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
        reference, (h_ref, c_ref) = encoder.rnn(packed)
    reference, _ = pad_packed_sequence(reference, batch_first=True, total_length=9)
    torch.testing.assert_close(outputs, (reference[..., :16] + reference[..., 16:]) / 2)
    torch.testing.assert_close(h, h_ref.mean(0))
    torch.testing.assert_close(c, c_ref.mean(0))
    assert outputs[2, 1:].abs().max() == 0
    # a single sentence (torch.nn.LSTM) gets what it gets in the batch (the loop)
    with torch.no_grad():
        alone, (h_alone, c_alone) = encoder.forward_with_state(inputs[1:2], mask[1:2])
    torch.testing.assert_close(alone, outputs[1:2])
    torch.testing.assert_close((h_alone, c_alone), (h[1:2], c[1:2]))


@pytest.mark.parametrize("grad", [True, False])
def test_the_path_of_other_devices_gives_the_cpu_kernels_results(monkeypatch, grad):
    # uses_cpu_kernels false: torch's own packed LSTM, as on a GPU
    torch.manual_seed(3)
    encoder = AveragedBidirectionalEncoder(input_size=3, hidden_size=4)
    inputs = torch.randn(3, 6, 3)
    mask = torch.arange(6).unsqueeze(0) < torch.tensor([[6], [2], [4]])
    with torch.set_grad_enabled(grad):
        kernels = encoder.forward_with_state(inputs, mask)
        monkeypatch.setattr(cpu_lstm, "uses_cpu_kernels", lambda tensor: False)
        torch_modules = encoder.forward_with_state(inputs, mask)
    torch.testing.assert_close(kernels, torch_modules)
