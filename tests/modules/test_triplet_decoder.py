import math

import pytest
import torch
from allennlp.common.checks import ConfigurationError
from allennlp.modules.attention import AdditiveAttention

from copymtl_allennlp.modules import cpu_lstm
from copymtl_allennlp.modules import CopyScorer, TripletDecoder
from copymtl_allennlp.modules.step_attention import StepAdditiveAttention

EMB, HID, RELS, N = 4, 6, 3, 2


def make_decoder(**kwargs):
    torch.manual_seed(0)
    copy_kind = kwargs.pop("copy_kind", "selu")
    return TripletDecoder(
        embedding_dim=EMB,
        hidden_dim=HID,
        num_relations=RELS,
        attention=AdditiveAttention(HID, HID),
        copy_scorer=CopyScorer(HID, HID, copy_kind, hidden_size=5),
        max_triplets=N,
        **kwargs,
    )


def inputs(lengths=(5, 3)):
    torch.manual_seed(1)
    batch, seq_len = len(lengths), max(lengths)
    mask = torch.arange(seq_len).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    state = (torch.randn(batch, HID), torch.randn(batch, HID))
    return torch.randn(batch, seq_len, HID), mask, torch.randn(batch, seq_len, EMB), state


def targets(relations, heads, tails, **extra):
    result = {"relations": torch.tensor(relations), "head_ends": torch.tensor(heads), "tail_ends": torch.tensor(tails)}
    result.update({k: torch.tensor(v) for k, v in extra.items()})
    return result


def test_output_shapes_and_na_conventions():
    decoder = make_decoder()
    output = decoder(*inputs(), targets=targets([[0, -1], [2, 1]], [[4, -1], [0, 2]], [[1, -1], [2, 0]]))
    for key in ("relations", "head_ends", "tail_ends"):
        assert output[key].shape == (2, N)
        assert output[key].min() >= -1
    assert output["loss"].dim() == 0
    # copy predictions are positions in the sentence, never in its padding
    assert (output["head_ends"][1] < 3).all() and (output["tail_ends"][1] < 3).all()


def zero_parameters(decoder):
    with torch.no_grad():
        for parameter in decoder.parameters():
            parameter.zero_()


def test_loss_by_hand_with_uniform_distributions():
    # all weights zero: every relation step is uniform over RELS + 1 (NA) choices and every copy
    # step uniform over the sentence's own tokens + NA, whatever the padding.
    decoder = make_decoder()
    zero_parameters(decoder)
    output = decoder(*inputs((5, 3)), targets=targets([[0, -1], [2, 1]], [[4, -1], [0, 2]], [[1, -1], [2, 0]]))
    per_sentence = [N * (math.log(RELS + 1) + 2 * math.log(length + 1)) for length in (5, 3)]
    assert output["loss"].item() == pytest.approx(sum(per_sentence) / 2, rel=1e-5)


def test_na_relation_finishes_a_sentence_and_early_exit():
    decoder = make_decoder()
    zero_parameters(decoder)
    with torch.no_grad():
        decoder.na_scorer.bias.fill_(10.0)  # NA wins everywhere
    output = decoder(*inputs(), early_exit=True)
    assert output["relations"].tolist() == [[-1, -1], [-1, -1]]
    assert output["head_ends"].tolist() == [[-1, -1], [-1, -1]]
    # a relation after the first NA is not reported: make the relation win only at triplet 2
    calls = []
    original = decoder.relation_scorer.forward

    def relation_wins_late(hidden):
        calls.append(1)
        scores = original(hidden)
        return scores + (20.0 if len(calls) == 2 else 0.0)

    decoder.relation_scorer.forward = relation_wins_late
    output = decoder(*inputs(), early_exit=False)
    assert output["relations"].tolist() == [[-1, -1], [-1, -1]]
    assert len(calls) == 2


def test_head_mask_at_the_tail_step():
    # Eq. 3 gives head and tail the same copy distribution (Eq. 9): without M the tail repeats
    # the head; with M it is the second best position.
    encoder_outputs, mask, embedded, state = inputs((5, 5))
    results = {}
    for use_mask in (False, True):
        decoder = make_decoder(copy_kind="linear", mask_head_at_tail=use_mask)
        with torch.no_grad():
            decoder.na_scorer.bias.fill_(-100.0)  # never NA
        results[use_mask] = decoder(encoder_outputs, mask, embedded, state)
    unmasked, masked = results[False], results[True]
    assert torch.equal(unmasked["head_ends"], unmasked["tail_ends"])
    assert torch.equal(masked["head_ends"], unmasked["head_ends"])
    assert (masked["tail_ends"] != masked["head_ends"]).all()
    scores = (encoder_outputs @ make_decoder(copy_kind="linear").copy_scorer.encoder_projection.weight.T).squeeze(-1)
    second_best = scores.topk(2, dim=1).indices[:, 1]
    assert masked["tail_ends"][:, 0].tolist() == second_best.tolist()


def test_length_prediction_by_hand():
    decoder = make_decoder(max_entity_length=3)
    zero_parameters(decoder)
    with torch.no_grad():
        decoder.na_scorer.bias.fill_(-100.0)
        decoder.length_scorer.bias.copy_(torch.tensor([0.0, 5.0, 0.0]))  # length 2 wins
    output = decoder(*inputs((5, 5)))
    assert output["head_lengths"].tolist() == [[2, 2], [2, 2]]
    # the length loss at one gold entity of length 2: -log softmax([0, 5, 0])[1]; zero for NA
    gold = targets([[0, -1]], [[3, -1]], [[1, -1]], head_lengths=[[2, 0]], tail_lengths=[[7, 0]])
    encoder_outputs, mask, embedded, state = inputs((5,))
    with_lengths = decoder(encoder_outputs, mask, embedded, state, targets=gold)["loss"].item()
    decoder.length_scorer = None
    without = decoder(encoder_outputs, mask, embedded, state, targets=gold)["loss"].item()
    log_z = math.log(2 + math.exp(5))
    # head length 2: log_z - 5; tail length 7 is trained as the maximum, 3: log_z - 0
    assert with_lengths - without == pytest.approx((log_z - 5) + log_z, rel=1e-4)


def test_gold_feeding_differs_from_own_feeding():
    decoder = make_decoder()
    gold = targets([[0, 1], [2, 1]], [[4, 3], [0, 2]], [[1, 0], [2, 0]])
    losses = {f: decoder(*inputs(), targets=gold, feeding=f)["loss"].item() for f in ("gold", "own")}
    assert losses["gold"] != pytest.approx(losses["own"])
    scheduled_all_gold = decoder(*inputs(), targets=gold, feeding="scheduled", gold_ratio=1.0)["loss"].item()
    assert scheduled_all_gold == pytest.approx(losses["gold"])


@pytest.mark.parametrize("cpu_kernels", [True, False])  # lstm_cell_step, or the nn.LSTMCell itself (a GPU's path)
def test_multi_decoder_uses_one_cell_per_triplet(monkeypatch, cpu_kernels):
    monkeypatch.setattr(cpu_lstm, "uses_cpu_kernels", lambda tensor: cpu_kernels)
    decoder = make_decoder(num_decoders=N)
    assert len(decoder.cells) == N
    used = []
    index_of = {id(cell): index for index, cell in enumerate(decoder.cells)}
    for cell in decoder.cells:
        cell.register_forward_hook(lambda module, args, out: used.append(index_of[id(module)]))
    step = cpu_lstm.lstm_cell_step

    def recording_step(cell, x, state, products):
        assert products.weight_hh is cell.weight_hh
        used.append(index_of[id(cell)])
        return step(cell, x, state, products)

    monkeypatch.setattr(cpu_lstm, "lstm_cell_step", recording_step)
    decoder(*inputs())
    assert used == [0, 0, 0, 1, 1, 1]
    used.clear()
    with torch.no_grad():
        decoder(*inputs())
    assert used == [0, 0, 0, 1, 1, 1]
    # and each cell is trained: its weights get a gradient from the loss
    gold = targets([[0, 1], [2, -1]], [[4, 3], [0, -1]], [[1, 0], [2, -1]])
    decoder(*inputs(), targets=gold)["loss"].backward()
    assert all(cell.weight_hh.grad.abs().sum() > 0 for cell in decoder.cells)


@pytest.mark.parametrize(
    "options",
    [{}, {"num_decoders": 4}, {"mask_head_at_tail": True, "copy_kind": "linear"}, {"max_entity_length": 3}, {"cell": "gru"}],
)
def test_early_exit_drops_finished_sentences_without_changing_outputs(options):
    # sentences finish (predict the NA relation) at different triplets; with early_exit they leave
    # the batch, and every output must equal decoding the whole batch to the end
    options = dict(options)
    torch.manual_seed(0)
    decoder = TripletDecoder(
        embedding_dim=EMB,
        hidden_dim=HID,
        num_relations=RELS,
        attention=StepAdditiveAttention(HID, HID),
        copy_scorer=CopyScorer(HID, HID, options.pop("copy_kind", "selu"), hidden_size=5),
        max_triplets=4,
        **options,
    )
    encoder_outputs, mask, embedded, state = inputs((5, 3, 4, 2, 5, 1, 3, 4, 2, 5, 4, 3))
    if decoder.cell == "gru":
        state = (state[0], None)
    finish_counts = set()
    for bias in (-0.3, 0.0, 0.3, 0.6, 1.0):
        with torch.no_grad():
            decoder.na_scorer.bias.fill_(bias)
        full = decoder(encoder_outputs, mask, embedded, state, early_exit=False)
        compacted = decoder(encoder_outputs, mask, embedded, state, early_exit=True)
        assert full.keys() == compacted.keys()
        for key in full:
            assert torch.equal(full[key], compacted[key]), key
        finish_counts.update((full["relations"] >= 0).sum(dim=1).tolist())
    assert len(finish_counts) >= 3  # the case under test happened: sentences finished at different triplets


@pytest.mark.parametrize("num_decoders", [1, N])
def test_training_gradients_equal_plain_additive_attention(num_decoders):
    # StepAdditiveAttention (keys once per pass, hand-written backward, the keys' gradient summed
    # over the steps in one buffer) against AllenNLP's AdditiveAttention through plain autograd
    decoders = []
    for attention in (StepAdditiveAttention(HID, HID), AdditiveAttention(HID, HID)):
        torch.manual_seed(0)
        decoders.append(
            TripletDecoder(EMB, HID, RELS, attention, CopyScorer(HID, HID, "selu", hidden_size=5), max_triplets=N, num_decoders=num_decoders).double()
        )
    decoders[1].load_state_dict(decoders[0].state_dict())
    gold = targets([[0, 1], [2, -1]], [[4, 3], [0, -1]], [[1, 0], [2, -1]])
    gradients = []
    for decoder in decoders:
        encoder_outputs, mask, embedded, state = inputs()
        encoder_outputs = encoder_outputs.double().requires_grad_()
        state = tuple(s.double() for s in state)
        loss = decoder(encoder_outputs, mask, embedded.double(), state, targets=gold)["loss"]
        gradients.append(torch.autograd.grad(loss, [encoder_outputs, *decoder.parameters()]))
    names = ["encoder_outputs", *(name for name, _ in decoders[0].named_parameters())]
    for name, ours, expected in zip(names, *gradients):
        torch.testing.assert_close(ours, expected, msg=name)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])  # float32: oneDNN-packed products
@pytest.mark.parametrize("options", [{}, {"num_decoders": N}, {"cell": "gru"}, {"max_entity_length": 3}])
def test_inference_paths_equal_the_training_computation(monkeypatch, options, dtype):
    # without autograd the input layer weights o_i · W_u^c instead of forming c_t (Eq. 8) and the
    # attention's query product is laid out once per batch;
    # the loss and the greedy outputs (early exit included) must equal the computation that
    # training uses
    extra = {"head_lengths": [[2, 1], [1, 0]], "tail_lengths": [[1, 3], [4, 0]]} if "max_entity_length" in options else {}
    gold = targets([[0, 1], [2, -1]], [[4, 3], [0, -1]], [[1, 0], [2, -1]], **extra)
    torch.manual_seed(0)
    decoder = TripletDecoder(
        EMB, HID, RELS, StepAdditiveAttention(HID, HID), CopyScorer(HID, HID, "selu", hidden_size=5), max_triplets=N, **options
    ).to(dtype)
    encoder_outputs, mask, embedded, state = inputs()
    encoder_outputs, embedded = encoder_outputs.to(dtype), embedded.to(dtype)
    state = (state[0].to(dtype), None if decoder.cell == "gru" else state[1].to(dtype))
    calls = []
    monkeypatch.setattr(decoder, "project_context", lambda o: calls.append("context") or TripletDecoder.project_context(decoder, o))
    monkeypatch.setattr(decoder.attention, "query_products", lambda rows: calls.append("query") or StepAdditiveAttention.query_products(decoder.attention, rows))

    results = []
    for inference in (True, False):
        calls.clear()
        # without autograd the projected context and the packed query; with autograd the context
        # itself (what training computes): the same function
        with torch.set_grad_enabled(not inference):
            results.append((decoder(encoder_outputs, mask, embedded, state, targets=gold), decoder(encoder_outputs, mask, embedded, state, early_exit=True)))
        # the inference paths ran, once per batch each, and only without autograd
        assert calls == (["context", "query"] * 2 if inference else []), calls
    (output, greedy), (expected_output, expected_greedy) = results
    tolerance = {} if dtype == torch.float64 else {"rtol": 1e-5, "atol": 1e-6}
    for key in output:
        torch.testing.assert_close(output[key], expected_output[key].detach(), **tolerance, msg=key)
    for key in greedy:
        assert torch.equal(greedy[key], expected_greedy[key]), key



def test_na_loss_first_by_hand_with_uniform_distributions():
    # all weights zero, as above; with na_loss "first" a sentence's loss covers its gold triplets
    # and the relation step of its first NA triplet: sentence 1 has one gold triplet of N = 2
    # (1 triplet + 1 NA relation step), sentence 2 has two (no NA step at all)
    gold = targets([[0, -1], [2, 1]], [[4, -1], [0, 2]], [[1, -1], [2, 0]])
    relation, copy5, copy3 = math.log(RELS + 1), math.log(5 + 1), math.log(3 + 1)
    expected = ((relation + 2 * copy5) + relation + N * (relation + 2 * copy3)) / 2
    for early_exit in (False, True):
        decoder = make_decoder(na_loss="first")
        zero_parameters(decoder)
        output = decoder(*inputs((5, 3)), targets=gold, early_exit=early_exit)
        assert output["loss"].item() == pytest.approx(expected, rel=1e-5)
    # a sentence without any gold triplet: its first relation step alone
    decoder = make_decoder(na_loss="first")
    zero_parameters(decoder)
    output = decoder(*inputs((5,)), targets=targets([[-1, -1]], [[-1, -1]], [[-1, -1]]))
    assert output["loss"].item() == pytest.approx(relation, rel=1e-5)


def test_na_loss_first_ignores_the_length_terms_of_untrained_steps():
    # CopyRE'5: length terms come from gold entities only, so the NA steps add none either way;
    # "first" must equal "all" minus the NA steps' copy and relation terms (uniform scores)
    gold = targets([[0, -1]], [[3, -1]], [[1, -1]], head_lengths=[[2, 0]], tail_lengths=[[7, 0]])
    losses = {}
    for na_loss in ("all", "first"):
        decoder = make_decoder(max_entity_length=3, na_loss=na_loss)
        zero_parameters(decoder)
        losses[na_loss] = decoder(*inputs((5,)), targets=gold)["loss"].item()
    relation, copy5, length = math.log(RELS + 1), math.log(5 + 1), math.log(3)
    assert losses["first"] == pytest.approx(relation + 2 * copy5 + 2 * length + relation, rel=1e-5)
    assert losses["all"] - losses["first"] == pytest.approx(2 * copy5, rel=1e-5)
    # nothing after the first NA relation is trained, not even a gold triplet placed after it
    decoder = make_decoder(max_entity_length=3, na_loss="first")
    zero_parameters(decoder)
    late = targets([[-1, 0]], [[-1, 3]], [[-1, 1]], head_lengths=[[0, 2]], tail_lengths=[[0, 7]])
    assert decoder(*inputs((5,)), targets=late)["loss"].item() == pytest.approx(relation, rel=1e-5)


@pytest.mark.parametrize("options", [{}, {"num_decoders": 4}, {"max_entity_length": 3}, {"cell": "gru"}])
@pytest.mark.parametrize("feeding", ["gold", "own"])
def test_na_loss_first_rows_leave_a_training_batch_without_changing_the_loss(monkeypatch, options, feeding):
    # with early_exit a sentence leaves after its first gold NA relation step: the decoder steps
    # run over fewer rows, and the loss and every gradient equal the masked whole-batch computation
    options = dict(options)
    torch.manual_seed(0)
    decoder = TripletDecoder(
        EMB, HID, RELS, StepAdditiveAttention(HID, HID), CopyScorer(HID, HID, "selu", hidden_size=5),
        max_triplets=4, na_loss="first", **options,
    ).double()
    lengths = (5, 3, 4, 2, 5, 1)
    encoder_outputs, mask, embedded, state = inputs(lengths)
    counts = [0, 2, 4, 1, 3, 0]  # gold triplets per sentence (max_triplets 4: the 4-triplet one never stops)
    relations = [[(i + k) % RELS if k < n else -1 for k in range(4)] for i, n in enumerate(counts)]
    heads = [[(i + k) % lengths[i] if k < n else -1 for k in range(4)] for i, n in enumerate(counts)]
    tails = [[(i + 2 * k + 1) % lengths[i] if k < n else -1 for k in range(4)] for i, n in enumerate(counts)]
    extra = {"head_lengths": [[2] * 4] * 6, "tail_lengths": [[1] * 4] * 6} if "max_entity_length" in options else {}
    gold = targets(relations, heads, tails, **extra)
    rows_per_step = []
    step = TripletDecoder._step
    monkeypatch.setattr(decoder, "_step", lambda *a: rows_per_step.append(a[1].size(0)) or step(decoder, *a))
    results = []
    for early_exit in (False, True):
        rows_per_step.clear()
        torch.manual_seed(3)
        outputs = encoder_outputs.double().requires_grad_()
        start = tuple(None if decoder.cell == "gru" and i == 1 else s.double() for i, s in enumerate(state))
        loss = decoder(outputs, mask, embedded.double(), start, targets=gold, feeding=feeding, early_exit=early_exit, predictions=False)["loss"]
        results.append((loss, torch.autograd.grad(loss, [outputs, *decoder.parameters()]), list(rows_per_step)))
    (full_loss, full_grads, full_rows), (loss, grads, rows) = results
    torch.testing.assert_close(loss, full_loss)
    for name, ours, expected in zip(["encoder_outputs", *(n for n, _ in decoder.named_parameters())], grads, full_grads):
        torch.testing.assert_close(ours, expected, msg=name)
    assert full_rows == [6] * 12
    # sentence i runs 3 * counts[i] + 1 steps (3 * 4 without an NA triplet)
    assert sum(rows) == sum(min(3 * n + 1, 12) for n in counts)


def test_na_loss_first_keeps_rows_whose_prediction_is_unfinished():
    # validation: targets (the loss) and predictions; a sentence leaves only once both are complete
    gold = targets([[-1, -1], [2, 1]], [[-1, -1], [0, 2]], [[-1, -1], [2, 0]])
    decoder = make_decoder(na_loss="first")
    with torch.no_grad():
        decoder.na_scorer.bias.fill_(-10.0)  # never predicts NA: no sentence's prediction finishes
        full = decoder(*inputs(), targets=gold, early_exit=False)
        compacted = decoder(*inputs(), targets=gold, early_exit=True)
    for key in full:
        torch.testing.assert_close(full[key], compacted[key], msg=key)
    assert (compacted["relations"] >= 0).all()


def test_na_loss_must_be_known():
    with pytest.raises(Exception, match="na_loss"):
        make_decoder(na_loss="some")


# -- beam search and decoding past max_triplets --------------------------------------------------

SEARCH_OPTIONS = [
    {},
    {"copy_kind": "linear", "mask_head_at_tail": True},
    {"num_decoders": N},
    {"max_entity_length": 3},
    {"cell": "gru"},
    {"copy_feedback": "encoder"},
    {"max_entity_length": 3, "length_scorer": "start_pointer"},
]


def decoded_without_na_stop(decoder):
    """Weights under which relations keep winning (no sentence stops early)."""
    with torch.no_grad():
        decoder.na_scorer.bias.fill_(-3.0)
    return decoder


@pytest.mark.parametrize("options", SEARCH_OPTIONS)
def test_beam_search_of_width_one_is_greedy_decoding(options):
    decoder = make_decoder(**options)
    encoder_outputs, mask, embedded, state = inputs((5, 3, 1, 4))
    with torch.no_grad():
        greedy = decoder(encoder_outputs, mask, embedded, state)
        searched = decoder.beam_search(encoder_outputs, mask, embedded, state, beam_size=1)
    assert set(searched) == set(greedy)
    for key in greedy:
        assert searched[key].tolist() == greedy[key].tolist(), key


def sequence_targets(output):
    """Decoder targets that feed a decoded sequence back, ending at its first NA relation."""
    return {key: output[key].clone() for key in ("relations", "head_ends", "tail_ends")}


def sequence_log_likelihood(decoder, args, output, sentence):
    """log P(sequence) of one sentence under the model: gold feeding of the sequence, loss up to
    and including its first NA relation (na_loss "first"), every step counted."""
    encoder_outputs, mask, embedded, state = args
    one = (encoder_outputs[sentence : sentence + 1], mask[sentence : sentence + 1], embedded[sentence : sentence + 1],
           tuple(None if s is None else s[sentence : sentence + 1] for s in state))
    gold = {key: values[sentence : sentence + 1] for key, values in sequence_targets(output).items()}
    decoder.na_loss = "first"
    with torch.no_grad():
        loss = decoder(*one, targets=gold, feeding="gold")["loss"]
    return -loss.item()


@pytest.mark.parametrize("options", [{}, {"num_decoders": N}])
def test_beam_search_finds_a_sequence_at_least_as_likely_as_greedy(options):
    decoder = make_decoder(**options)
    with torch.no_grad():
        for parameter in decoder.parameters():
            parameter.mul_(4.0)  # peaked distributions: greedy and beam part ways
    args = inputs((5,) * 8)
    with torch.no_grad():
        greedy = decoder(*args)
        searched = decoder.beam_search(*args, beam_size=4)
    better = 0
    for sentence in range(8):
        greedy_ll = sequence_log_likelihood(decoder, args, greedy, sentence)
        searched_ll = sequence_log_likelihood(decoder, args, searched, sentence)
        assert searched_ll >= greedy_ll - 1e-5
        better += searched_ll > greedy_ll + 1e-5
    assert better >= 1  # the search found a better sequence somewhere (else this test shows nothing)


def test_beam_search_by_hand_picks_the_likelier_sequence():
    # Relation steps: p(r0, r1, r2, NA) = (.40, .35, .05, .20). Copy steps after r0: logits
    # (log .3 x 3, NA log .2), so each position has p 3/11; after r1: (log 1e-4, log 1e-4,
    # log .9997, NA log .2), position 2 has p .9997/1.2002. Greedy takes r0 and copies with p 3/11
    # twice: log-likelihood 2 (log .4 + 2 log 3/11) = -7.03 for its two triplets; beam 2 keeps r1
    # and reaches 2 (log .35 + 2 log .833) = -2.83.
    decoder = make_decoder()
    zero_parameters(decoder)
    with torch.no_grad():
        # the last relation fed is readable from the state (so it follows the beam's reordering):
        # one-hot relation embeddings pass W_u unchanged into the LSTM's cell gate
        decoder.relation_embedding.weight.copy_(torch.eye(RELS + 1, EMB))
        decoder.input_projection.weight[:, :EMB].copy_(torch.eye(EMB))
        decoder.cells[0].weight_ih[2 * HID : 2 * HID + EMB].copy_(20 * torch.eye(EMB))
        decoder.na_scorer.bias.fill_(math.log(0.20))

    def copy_logits(hidden, projected_encoder):
        after_r1 = hidden[:, : RELS + 1].argmax(dim=1) == 1
        spread = torch.log(torch.tensor([0.3, 0.3, 0.3]))
        sure = torch.log(torch.tensor([1e-4, 1e-4, 0.9997]))
        return torch.where(after_r1.unsqueeze(1), sure, spread)

    decoder.relation_scorer.forward = lambda hidden: torch.log(torch.tensor([[0.40, 0.35, 0.05]])).expand(hidden.size(0), -1)
    decoder.copy_scorer.forward = copy_logits
    encoder_outputs, mask, _, state = inputs((3,))
    args = (encoder_outputs, mask, torch.zeros(1, 3, EMB), (torch.zeros(1, HID), torch.zeros(1, HID)))
    with torch.no_grad():
        greedy = decoder(*args)
        searched = decoder.beam_search(*args, beam_size=2)
    assert greedy["relations"].tolist() == [[0, 0]]
    assert greedy["head_ends"].tolist() == [[0, 0]]  # ties go to the first position
    assert searched["relations"].tolist() == [[1, 1]]
    assert searched["head_ends"].tolist() == [[2, 2]] and searched["tail_ends"].tolist() == [[2, 2]]


def test_beam_search_respects_padding_and_mask_m():
    decoder = make_decoder(copy_kind="linear", mask_head_at_tail=True)
    decoded_without_na_stop(decoder)
    args = inputs((5, 2))
    with torch.no_grad():
        output = decoder.beam_search(*args, beam_size=3)
    assert (output["head_ends"][1] < 2).all() and (output["tail_ends"][1] < 2).all()
    both = (output["head_ends"] >= 0) & (output["tail_ends"] >= 0)
    assert not (both & (output["head_ends"] == output["tail_ends"])).any()


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_decoding_past_max_triplets(search):
    decoder = decoded_without_na_stop(make_decoder())
    args = inputs((5, 3))
    with torch.no_grad():
        short = decoder(*args)
        if search == "greedy":
            long = decoder(*args, num_triplets=N + 3)
        else:
            long = decoder.beam_search(*args, beam_size=1, num_triplets=N + 3)
    assert long["relations"].shape == (2, N + 3)
    # the first max_triplets triplets are those of the shorter decoding, and more follow
    for key in ("relations", "head_ends", "tail_ends"):
        assert long[key][:, :N].tolist() == short[key].tolist()
    assert (long["relations"][:, N:] >= 0).any()


def test_decoding_past_max_triplets_stops_at_the_first_na_relation():
    decoder = make_decoder()
    zero_parameters(decoder)
    with torch.no_grad():
        decoder.na_scorer.bias.fill_(10.0)
    output = decoder(*inputs(), num_triplets=N + 2)
    assert output["relations"].tolist() == [[-1] * (N + 2)] * 2


def test_decoding_past_max_triplets_needs_the_one_decoder():
    with pytest.raises(ConfigurationError):
        make_decoder(num_decoders=N)(*inputs(), num_triplets=N + 1)
    with pytest.raises(ConfigurationError):
        make_decoder(num_decoders=N).beam_search(*inputs(), beam_size=2, num_triplets=N + 1)


def test_start_pointer_by_hand():
    # zero weights: the pointer is uniform over the first tokens inside the sentence, so an entity
    # ending at position i costs log(min(i + 1, max_entity_length))
    decoder = make_decoder(max_entity_length=3, length_scorer="start_pointer")
    zero_parameters(decoder)
    gold = targets([[0, -1]], [[1, -1]], [[4, -1]], head_lengths=[[2, 0]], tail_lengths=[[1, 0]])
    encoder_outputs, mask, embedded, state = inputs((5,))
    with_lengths = decoder(encoder_outputs, mask, embedded, state, targets=gold)["loss"].item()
    decoder.length_scorer = None
    without = decoder(encoder_outputs, mask, embedded, state, targets=gold)["loss"].item()
    assert with_lengths - without == pytest.approx(math.log(2) + math.log(3), rel=1e-5)


def test_start_pointer_scores_the_candidate_first_token():
    # v · tanh(W [h ; o_i ; o_s]) with W reading o_s alone: the first token whose encoder output is
    # largest wins, and starts before the sentence are never predicted
    decoder = make_decoder(max_entity_length=3, length_scorer="start_pointer")
    zero_parameters(decoder)
    with torch.no_grad():
        decoder.length_scorer[0].weight[0, 2 * HID] = 1.0  # o_s, first feature
        decoder.length_scorer[2].weight[0, 0] = 1.0
        decoder.na_scorer.bias.fill_(-100.0)
    encoder_outputs, mask, embedded, state = inputs((5,))
    encoder_outputs = torch.zeros_like(encoder_outputs)
    encoder_outputs[0, 2, 0] = 3.0  # token 2 looks like a first token
    encoder_outputs[0, 4, 0] = -3.0
    position = torch.tensor([0, 3, 4])
    lengths = decoder._length_log_probs(torch.zeros(3, HID), encoder_outputs.expand(3, -1, -1), position).argmax(-1) + 1
    # end 0: only length 1; end 3: start 2 (length 2); end 4: starts 4, 3, 2 -> 2 (length 3)
    assert lengths.tolist() == [1, 2, 3]


def test_length_scorer_must_be_known():
    with pytest.raises(ConfigurationError, match="length_scorer"):
        make_decoder(max_entity_length=3, length_scorer="bilinear")


def test_encoder_feedback_feeds_the_projected_encoder_output():
    decoder = make_decoder(copy_feedback="encoder")
    encoder_outputs, mask, embedded, state = inputs((5,))
    fed = decoder.copied_inputs(embedded, encoder_outputs)
    assert torch.allclose(fed, encoder_outputs @ decoder.copy_feedback.weight.t())
    # the word embeddings are not read: changing them changes nothing
    gold = targets([[0, -1]], [[1, -1]], [[4, -1]])
    loss = decoder(encoder_outputs, mask, embedded, state, targets=gold, feeding="gold")["loss"]
    other = decoder(encoder_outputs, mask, embedded + 1.0, state, targets=gold, feeding="gold")["loss"]
    assert loss.item() == pytest.approx(other.item())
    with pytest.raises(ConfigurationError, match="copy_feedback"):
        make_decoder(copy_feedback="context")


# -- repeated triplets blocked ---------------------------------------------------------------------


def repeating_decoder():
    """Every step prefers the same choice: relation r0, then copy logits ranking the positions
    1 > 3 > 2 > 0 > 4 (NA far below), so greedy decoding repeats (r0, 1, 1)."""
    decoder = make_decoder()
    zero_parameters(decoder)
    with torch.no_grad():
        decoder.na_scorer.bias.fill_(-10.0)
    decoder.relation_scorer.forward = lambda hidden: torch.tensor([[2.0, 1.0, 0.0]]).expand(hidden.size(0), -1)
    decoder.copy_scorer.forward = lambda hidden, projected: torch.tensor([[1.0, 4.0, 2.0, 3.0, 0.0]]).expand(hidden.size(0), -1)
    return decoder


@pytest.mark.parametrize("search", ["greedy", "beam 1", "beam 3"])
def test_blocked_repeats_by_hand(search):
    decoder = repeating_decoder()
    args = inputs((5,))
    with torch.no_grad():
        if search == "greedy":
            plain = decoder(*args, num_triplets=3)
            blocked = decoder(*args, num_triplets=3, block_repeats=True)
        else:
            width = int(search.split()[1])
            plain = decoder.beam_search(*args, beam_size=width, num_triplets=3)
            blocked = decoder.beam_search(*args, beam_size=width, num_triplets=3, block_repeats=True)
    assert plain["relations"].tolist() == [[0, 0, 0]]
    assert plain["head_ends"].tolist() == [[1, 1, 1]] and plain["tail_ends"].tolist() == [[1, 1, 1]]
    # the second triplet takes the second-best tail, the third the third-best; heads stay
    assert blocked["relations"].tolist() == [[0, 0, 0]]
    assert blocked["head_ends"].tolist() == [[1, 1, 1]] and blocked["tail_ends"].tolist() == [[1, 3, 2]]


def test_a_repeat_is_blocked_only_for_the_same_relation_and_head():
    relations, heads, tails = torch.tensor([[0, 1, 0]]), torch.tensor([[2, 2, 3]]), torch.tensor([[4, 1, 0]])
    repeated = TripletDecoder._repeated_tails(relations, heads, tails, torch.tensor([0]), torch.tensor([2]), 6)
    assert repeated.tolist() == [[False, False, False, False, True, False]]
    # an NA tail (-1) blocks nothing
    repeated = TripletDecoder._repeated_tails(relations, heads, torch.tensor([[-1, 1, 0]]), torch.tensor([0]), torch.tensor([2]), 6)
    assert not repeated.any()


def test_blocked_repeats_are_for_decoding_without_targets():
    with pytest.raises(ConfigurationError):
        make_decoder()(*inputs(), targets=targets([[0, -1], [2, 1]], [[4, -1], [0, 2]], [[1, -1], [2, 0]]), block_repeats=True)


def test_output_dropout_acts_on_the_scored_state_in_training_only():
    plain, dropped = make_decoder(max_entity_length=3), make_decoder(max_entity_length=3, output_dropout=0.5)
    dropped.load_state_dict(plain.state_dict())
    gold = targets([[0, -1], [2, 1]], [[4, -1], [0, 2]], [[1, -1], [2, 0]], head_lengths=[[1, 0], [1, 2]], tail_lengths=[[2, 0], [1, 1]])
    args = inputs()
    plain.eval(), dropped.eval()
    with torch.no_grad():
        assert plain(*args, targets=gold)["loss"].item() == dropped(*args, targets=gold)["loss"].item()
        searched = dropped.beam_search(*args, beam_size=2)
        for key, values in plain.beam_search(*args, beam_size=2).items():
            assert searched[key].tolist() == values.tolist()
    dropped.train()
    torch.manual_seed(0)
    assert plain(*args, targets=gold, feeding="gold")["loss"].item() != dropped(*args, targets=gold, feeding="gold")["loss"].item()


@pytest.mark.parametrize("options", SEARCH_OPTIONS)
def test_forcing_the_greedy_choices_reproduces_greedy_decoding(options):
    # forced choices run the same steps: fed its own argmax, the decoder returns what it decoded,
    # CopyRE'5's lengths included
    decoder = decoded_without_na_stop(make_decoder(**options))
    args = inputs((5, 3, 1, 4))
    with torch.no_grad():
        greedy = decoder(*args)
        forced = decoder(*args, forced={key: greedy[key] for key in ("relations", "head_ends", "tail_ends")})
    for key in greedy:
        assert forced[key].tolist() == greedy[key].tolist(), key


def test_forced_choices_are_what_is_decoded_and_lengths_read_their_positions():
    decoder = decoded_without_na_stop(make_decoder(max_entity_length=3))
    args = inputs((5, 4))
    chosen = targets([[1, 0], [2, -1]], [[4, 2], [3, -1]], [[0, 1], [-1, -1]])
    with torch.no_grad():
        forced = decoder(*args, forced=chosen)
    # sentence 1 ends at its second triplet (NA relation); its first triplet keeps an NA tail
    assert forced["relations"].tolist() == [[1, 0], [2, -1]]
    assert forced["head_ends"].tolist() == [[4, 2], [3, -1]]
    assert forced["tail_ends"].tolist() == [[0, 1], [-1, -1]]
    assert (forced["head_lengths"][0] > 0).all() and (forced["tail_lengths"][0] > 0).all()
    assert forced["head_lengths"][1].tolist()[1] == 0 and forced["tail_lengths"][1].tolist() == [0, 0]
    with pytest.raises(ConfigurationError, match="without targets"):
        decoder(*args, targets=chosen, forced=chosen)
