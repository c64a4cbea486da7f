import math

import pytest
import torch
from allennlp.modules.attention import AdditiveAttention

from copymtl_allennlp.modules import triplet_decoder
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


@pytest.mark.parametrize("cpu_cell_step", [True, False])  # lstm_cell_step, or the nn.LSTMCell itself
def test_multi_decoder_uses_one_cell_per_triplet(monkeypatch, cpu_cell_step):
    monkeypatch.setattr(triplet_decoder, "CPU_CELL_STEP", cpu_cell_step)
    decoder = make_decoder(num_decoders=N)
    assert len(decoder.cells) == N
    used = []
    index_of = {id(cell): index for index, cell in enumerate(decoder.cells)}
    for cell in decoder.cells:
        cell.register_forward_hook(lambda module, args, out: used.append(index_of[id(module)]))
    step = triplet_decoder.lstm_cell_step

    def recording_step(cell, x, state, products):
        assert products.weight_hh is cell.weight_hh
        used.append(index_of[id(cell)])
        return step(cell, x, state, products)

    monkeypatch.setattr(triplet_decoder, "lstm_cell_step", recording_step)
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

    def switches(on):
        monkeypatch.setattr(triplet_decoder, "PROJECTED_CONTEXT", on)
        monkeypatch.setattr(triplet_decoder, "PACKED_QUERY", on)

    results = []
    for fast in (True, False):
        switches(fast)
        calls.clear()
        with torch.no_grad():
            results.append((decoder(encoder_outputs, mask, embedded, state, targets=gold), decoder(encoder_outputs, mask, embedded, state, early_exit=True)))
        # the fast paths ran, once per batch each, and only with their switches on
        assert calls == (["context", "query"] * 2 if fast else []), calls
    (output, greedy), (expected_output, expected_greedy) = results
    tolerance = {} if dtype == torch.float64 else {"rtol": 1e-5, "atol": 1e-6}
    for key in output:
        torch.testing.assert_close(output[key], expected_output[key], **tolerance, msg=key)
    for key in greedy:
        assert torch.equal(greedy[key], expected_greedy[key]), key
    switches(True)
    calls.clear()
    decoder(encoder_outputs, mask, embedded, state, targets=gold)["loss"].backward()  # training: none of them
    assert calls == []



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
