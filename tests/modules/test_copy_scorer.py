import torch

from copymtl_allennlp.modules import CopyScorer


def test_eq10_equals_the_concatenated_form():
    torch.manual_seed(0)
    scorer = CopyScorer(decoder_dim=4, encoder_dim=3, kind="selu", hidden_size=5)
    decoder_hidden, encoder_outputs = torch.randn(2, 4), torch.randn(2, 6, 3)
    scores = scorer(decoder_hidden, scorer.project_encoder(encoder_outputs))
    # selu([h; o_i] · W_f) · W_o, with W_f = [W_1; W_2] as one matrix
    w_f = torch.cat([scorer.decoder_projection.weight, scorer.encoder_projection.weight], dim=1)
    concatenated = torch.cat([decoder_hidden.unsqueeze(1).expand(-1, 6, -1), encoder_outputs], dim=-1)
    fused = torch.nn.functional.selu(concatenated @ w_f.T + scorer.decoder_projection.bias)
    expected = (fused @ scorer.output_projection.weight.T).squeeze(-1)
    assert scores.shape == (2, 6)
    torch.testing.assert_close(scores, expected)


def test_eq3_copy_distribution_does_not_depend_on_the_decoder_state():
    # the paper's Eq. 9: with the linear scorer, softmax over positions ignores h_t
    torch.manual_seed(0)
    scorer = CopyScorer(decoder_dim=4, encoder_dim=3, kind="linear")
    projected = scorer.project_encoder(torch.randn(1, 6, 3))
    first = torch.softmax(scorer(torch.randn(1, 4), projected), dim=-1)
    second = torch.softmax(scorer(torch.randn(1, 4), projected), dim=-1)
    torch.testing.assert_close(first, second)
    scorer = CopyScorer(decoder_dim=4, encoder_dim=3, kind="selu", hidden_size=5)
    projected = scorer.project_encoder(torch.randn(1, 6, 3))
    first = torch.softmax(scorer(torch.randn(1, 4), projected), dim=-1)
    second = torch.softmax(scorer(torch.randn(1, 4), projected), dim=-1)
    assert not torch.allclose(first, second)


def test_step_attention_equals_allennlp_additive_attention():
    from allennlp.modules.attention import AdditiveAttention

    from copymtl_allennlp.modules import StepAdditiveAttention

    torch.manual_seed(0)
    step = StepAdditiveAttention(4, 3)
    plain = AdditiveAttention(4, 3)
    plain.load_state_dict(step.state_dict())
    vector, matrix = torch.randn(2, 4), torch.randn(2, 5, 3)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    expected = plain(vector, matrix, mask)
    torch.testing.assert_close(step.attend(vector, step.project_matrix(matrix), mask), expected)
    torch.testing.assert_close(step(vector, matrix, mask), expected)
    assert expected[1, 3:].abs().max() == 0


def test_step_attention_gradients_equal_allennlp_additive_attention():
    from allennlp.modules.attention import AdditiveAttention

    from copymtl_allennlp.modules import StepAdditiveAttention
    from copymtl_allennlp.modules.step_attention import _AdditiveScores

    torch.manual_seed(1)
    step = StepAdditiveAttention(4, 3).double()
    plain = AdditiveAttention(4, 3).double()
    plain.load_state_dict(step.state_dict())
    vector = torch.randn(2, 4, dtype=torch.double, requires_grad=True)
    matrix = torch.randn(2, 5, 3, dtype=torch.double, requires_grad=True)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    weights = torch.randn(2, 5, dtype=torch.double)
    ours = (step.attend(vector, step.project_matrix(matrix), mask) * weights).sum()
    expected = (plain(vector, matrix, mask) * weights).sum()
    inputs = [vector, matrix, *step.parameters()]
    for got, want in zip(torch.autograd.grad(ours, inputs), torch.autograd.grad(expected, [vector, matrix, *plain.parameters()])):
        torch.testing.assert_close(got, want)
    args = (torch.randn(2, 3, dtype=torch.double, requires_grad=True),
            torch.randn(2, 5, 3, dtype=torch.double, requires_grad=True),
            torch.randn(3, 1, dtype=torch.double, requires_grad=True))
    assert torch.autograd.gradcheck(_AdditiveScores.apply, args)


def test_cpu_selu_is_torch_selu_with_its_gradients():
    from copymtl_allennlp.modules.copy_scorer import SELU_ALPHA, SELU_SCALE, _CpuSelu, selu

    # by hand: scale * x above 0, scale * alpha * (e^x - 1) at or below it
    x = torch.tensor([-2.0, -1e-4, 0.0, 0.5, 3.0], dtype=torch.double)
    expected = torch.tensor([SELU_SCALE * SELU_ALPHA * (torch.e**-2 - 1), SELU_SCALE * SELU_ALPHA * (torch.e**-1e-4 - 1), 0.0, SELU_SCALE * 0.5, SELU_SCALE * 3.0], dtype=torch.double)
    torch.testing.assert_close(selu(x), expected)
    torch.manual_seed(0)
    values = torch.randn(3, 4, 7, 5) * 3
    ours, theirs = values.clone().requires_grad_(), values.clone().requires_grad_()
    weights = torch.randn(3, 4, 7, 5)
    (selu(ours) * weights).sum().backward()
    (torch.nn.functional.selu(theirs) * weights).sum().backward()
    torch.testing.assert_close(selu(values), torch.nn.functional.selu(values))
    torch.testing.assert_close(ours.grad, theirs.grad)
    # the derivative at and below 0 is scale * alpha * e^x, from the output
    assert torch.autograd.gradcheck(_CpuSelu.apply, (torch.randn(4, 6, dtype=torch.double, requires_grad=True),))
    # not a float32 / float64 tensor on the CPU (here: bfloat16): torch's own selu
    half = values.bfloat16()
    assert torch.equal(selu(half), torch.nn.functional.selu(half))


def test_set_decoder_pointer_scores_use_the_cpu_selu_and_match_torch():
    torch.manual_seed(0)
    scorer = CopyScorer(decoder_dim=4, encoder_dim=3, kind="selu", hidden_size=5)
    # slots (batch 2, 3 slots) against 6 positions, as the set decoder scores them
    states, projected = torch.randn(2, 3, 4), scorer.project_encoder(torch.randn(2, 6, 3)).unsqueeze(1)
    scores = scorer(states, projected)
    fused = projected + scorer.decoder_projection(states).unsqueeze(-2)
    expected = (torch.nn.functional.selu(fused) @ scorer.output_projection.weight.T).squeeze(-1)
    assert scores.shape == (2, 3, 6)
    torch.testing.assert_close(scores, expected)
    # the CPU's selu is on the graph (not torch's EluBackward)
    names, node = [], scores.grad_fn
    while node is not None:
        names.append(type(node).__name__)
        node = node.next_functions[0][0] if node.next_functions else None
    assert "_CpuSeluBackward" in names and not any(name.startswith("Elu") for name in names)
