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
