import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, cast

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.modules import Attention
from allennlp.nn import util
from allennlp.nn.beam_search import BeamSearch

from copymtl_allennlp.modules.averaged_encoder import RnnState
from copymtl_allennlp.modules.copy_scorer import CopyScorer
from copymtl_allennlp.modules import cpu_lstm
from copymtl_allennlp.modules.step_attention import StepAdditiveAttention
from copymtl_allennlp.modules.precision import at_least_float32

RELATION, HEAD, TAIL = 0, 1, 2  # the role of step t: t % 3
FEEDING = ("gold", "own", "scheduled")
NA_LOSS = ("all", "first")  # which NA steps the loss trains (TripletDecoder's docstring)
LENGTH_SCORERS = ("linear", "start_pointer")  # how an entity's length is scored (TripletDecoder's docstring)
COPY_FEEDBACK = ("word", "encoder")  # what a copy step feeds the next step (TripletDecoder's docstring)


class TripletDecoder(torch.nn.Module):
    """The CopyRE / CopyMTL decoder: every three steps emit (relation, head last token, tail last
    token); ``max_triplets`` triplets, NA triplets for the rest.

    Step t (Eq. 2): ``c_t = Attention(h_{t-1}, o_{1:n})``, ``u_t = [e_t; c_t] · W_u``,
    ``h_t = LSTM(u_t, h_{t-1})``. ``e_t`` embeds the previous output: the start embedding at
    t = 1, a relation embedding after a relation step, the copied word's embedding after a copy
    step (a learned NA embedding after an NA copy). With ``copy_feedback="encoder"`` a copy step
    feeds the copied token's encoder output instead, projected to the embedding width
    (``o_i · W_fb``): the token in its context rather than the word alone.

    The input layer goes through the decomposition of Eq. 8: with ``c_t = sum_i a_ti o_i``,
    ``[e_t; c_t] · W_u = e_t · W_u^e + sum_i a_ti (o_i · W_u^c)``. ``o_i · W_u^c``
    (``embedding_dim`` wide, a tenth of ``o_i`` at paper size) does not depend on the step, so
    :meth:`project_context` computes it once per sentence and each step weights it instead of
    the encoder outputs; ``c_t`` itself is never formed. That, and the attention's query product
    ``h_{t-1} W`` laid out once per batch on a CPU, run without autograd (the same function,
    other float rounding; in training neither was faster, so training forms ``c_t``).

    Logits (Eq. 4): relation steps ``[h_t · W_r ; q_NA]``; copy steps ``[q_t(1..n) ; q_NA]``
    (the copy scorer, Eq. 3 or Eq. 10), padding masked; ``q_NA = h_t · W_NA`` (Eq. 7) is one
    scorer shared by both. With ``mask_head_at_tail`` (CopyRE's mask M) the head just predicted
    cannot be predicted as the tail; like the paper, M changes predictions, not the loss.

    ``num_decoders = 1`` is the OneDecoder. ``num_decoders = max_triplets`` is the MultiDecoder:
    decoder k has its own cell and runs the three steps of triplet k, starting from
    ``(h_enc + state_of_decoder_{k-1}) / 2`` (the first from ``h_enc / 2``); attention, input
    layer, scorers and embeddings are shared.

    With ``max_entity_length > 0`` (CopyRE'5), every copy step also classifies the length of the
    entity ending at the copied token, from ``[h_t ; o_i]``, into 1..max_entity_length tokens
    (``length_scorer="linear"``). ``length_scorer="start_pointer"`` points at the entity's first
    token instead: length k (start ``s = i - k + 1``) scores ``v · tanh(W [h_t ; o_i ; o_s])``,
    so the score sees the candidate first token; starts before the sentence are masked.

    ``output_dropout``: dropout on ``h_t`` where the scorers (Eq. 4, the length head) read it, in
    training (the training pass of :meth:`forward`; beam search is inference only); the recurrence
    carries ``h_t`` itself. The paper has none (0).

    Loss ``L_D`` (Eq. 6): the negative log-likelihood summed over the steps (plus the length
    terms), averaged over the sentences of the batch. ``na_loss`` says which steps:

    - ``"all"`` (the paper): all ``3 · max_triplets`` steps, the gold sequence padded with NA
      triplets (NA, NA, NA);
    - ``"first"``: the gold triplets' steps and the relation step of the first NA triplet, where
      greedy decoding stops; the NA triplet's two copy steps and every later triplet are never
      read at inference, so they are not trained. With ``early_exit``, a sentence then leaves a
      training batch after that step (fewer rows for the later steps; same loss). With gold
      feeding no trained step then follows an NA copy, so the NA copy embedding keeps its
      initial value (greedy decoding feeds it after a copy step that predicts NA).
    """

    def __init__(
        self,
        embedding_dim: int,
        hidden_dim: int,
        num_relations: int,
        attention: Attention,
        copy_scorer: CopyScorer,
        max_triplets: int = 5,
        cell: str = "lstm",
        num_decoders: int = 1,
        mask_head_at_tail: bool = False,
        max_entity_length: int = 0,
        na_loss: str = "all",
        length_scorer: str = "linear",
        copy_feedback: str = "word",
        output_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if copy_feedback not in COPY_FEEDBACK:
            raise ConfigurationError(f"copy_feedback must be one of {COPY_FEEDBACK}, got {copy_feedback!r}")
        if length_scorer not in LENGTH_SCORERS:
            raise ConfigurationError(f"length_scorer must be one of {LENGTH_SCORERS}, got {length_scorer!r}")
        if na_loss not in NA_LOSS:
            raise ConfigurationError(f"na_loss must be one of {NA_LOSS}, got {na_loss!r}")
        if cell not in ("lstm", "gru"):
            raise ConfigurationError(f"decoder cell must be 'lstm' or 'gru', got {cell!r}")
        if num_decoders not in (1, max_triplets):
            raise ConfigurationError(
                f"num_decoders must be 1 (OneDecoder) or max_triplets = {max_triplets} (MultiDecoder), got {num_decoders}"
            )
        self.num_relations = num_relations
        self.na_relation = num_relations  # the NA relation is the last relation logit
        self.max_triplets = max_triplets
        self.cell = cell
        self.multi = num_decoders > 1
        self.mask_head_at_tail = mask_head_at_tail
        self.max_entity_length = max_entity_length
        self.na_loss = na_loss
        self.output_dropout = torch.nn.Dropout(output_dropout)  # on h_t where the scorers read it

        self.start_embedding = torch.nn.Parameter(torch.empty(embedding_dim).normal_(std=0.1))
        self.na_copy_embedding = torch.nn.Parameter(torch.empty(embedding_dim).normal_(std=0.1))
        self.relation_embedding = torch.nn.Embedding(num_relations + 1, embedding_dim)
        self.attention = attention
        self.input_projection = torch.nn.Linear(embedding_dim + hidden_dim, embedding_dim)  # W_u
        cell_class = torch.nn.LSTMCell if cell == "lstm" else torch.nn.GRUCell
        self.cells = torch.nn.ModuleList(cell_class(embedding_dim, hidden_dim) for _ in range(num_decoders))
        self.relation_scorer = torch.nn.Linear(hidden_dim, num_relations)  # W_r
        self.na_scorer = torch.nn.Linear(hidden_dim, 1)  # W_NA
        self.copy_scorer = copy_scorer
        self.copy_feedback = (
            torch.nn.Linear(hidden_dim, embedding_dim, bias=False) if copy_feedback == "encoder" else None
        )  # W_fb
        self.length_scorer_kind = length_scorer
        self.length_scorer: Optional[torch.nn.Module] = None
        if max_entity_length > 0 and length_scorer == "linear":
            self.length_scorer = torch.nn.Linear(2 * hidden_dim, max_entity_length)
        elif max_entity_length > 0:
            # W on [h_t ; o_i ; o_s], then v
            self.length_scorer = torch.nn.Sequential(
                torch.nn.Linear(3 * hidden_dim, hidden_dim), torch.nn.Tanh(), torch.nn.Linear(hidden_dim, 1)
            )

    def forward(
        self,
        encoder_outputs: torch.Tensor,
        source_mask: torch.BoolTensor,
        embedded_source: torch.Tensor,
        encoder_state: RnnState,
        targets: Optional[Dict[str, torch.Tensor]] = None,
        feeding: str = "own",
        gold_ratio: float = 1.0,
        early_exit: bool = False,
        predictions: bool = True,
        num_triplets: Optional[int] = None,
        block_repeats: bool = False,
        forced: Optional[Dict[str, torch.Tensor]] = None,
    ) -> Dict[str, torch.Tensor]:
        """Decodes greedily (feeding its own predictions) or, with ``targets``, by ``feeding``:
        ``gold`` (teacher forcing), ``own`` (the released code), or ``scheduled`` (gold with
        probability ``gold_ratio`` per sentence and step).

        ``targets``: ``relations``, ``head_ends``, ``tail_ends`` (batch, max_triplets), ``-1`` for
        NA; with length prediction also ``head_lengths``, ``tail_lengths``.

        Returns ``relations``, ``head_ends``, ``tail_ends`` (batch, max_triplets), ``-1`` for NA and
        for every triplet after a sentence's first NA relation (a sentence is finished there);
        ``head_lengths`` / ``tail_lengths`` with length prediction; ``loss`` with targets. With
        ``early_exit`` a sentence leaves the batch once nothing later is read: its prediction is
        finished (unless ``predictions`` is False) and, with targets, its loss is complete (never
        before the last step with ``na_loss="all"``). Later steps run over the remaining
        sentences only, and decoding stops when none is left; the loss and the predictions are
        the same as without it. ``predictions=False`` (a training step: only the loss is read)
        returns the loss alone.

        ``num_triplets`` (without targets only) decodes that many triplets instead of
        ``max_triplets``: a sentence may have more triplets than the training targets had (the
        OneDecoder only; the first NA relation still ends a sentence).

        ``block_repeats`` (without targets only): a tail step may not choose the tail that would
        repeat a triplet already decoded for the sentence (:meth:`_repeated_tails`).

        ``forced`` (without targets only): the choices to make instead of the argmax, as
        :meth:`forward` returns them (``relations``, ``head_ends``, ``tail_ends``, -1 for NA), e.g.
        the sequence a beam search chose: each step runs on them, and CopyRE'5's lengths are
        classified at the forced positions.
        """
        if (block_repeats or forced is not None) and targets is not None:
            raise ConfigurationError("block_repeats and forced choices are for decoding without targets")
        if num_triplets is None:
            num_triplets = self.max_triplets
        elif num_triplets != self.max_triplets and (targets is not None or self.multi):
            raise ConfigurationError("decoding other than max_triplets triplets needs the OneDecoder and no targets")
        if feeding not in FEEDING:
            raise ConfigurationError(f"feeding must be one of {FEEDING}, got {feeding!r}")
        batch = self._start_decoding(
            encoder_outputs, source_mask, embedded_source, encoder_state, targets, num_triplets, early_exit, forced
        )
        for triplet in range(num_triplets):
            if batch.all_left:
                break
            if self.multi:
                batch.state = self._initial_state(batch.encoder_state, triplet, batch.state)
            batch.head_position = None
            for role in (RELATION, HEAD, TAIL):
                # shape: (rows, hidden_dim); what the scorers read (dropout in training)
                hidden = self.output_dropout(self._advance(batch, triplet))
                if role == RELATION:
                    self._relation_step(batch, triplet, hidden, feeding, gold_ratio, predictions)
                    if batch.all_left:
                        break
                else:
                    self._copy_step(batch, triplet, role, hidden, feeding, gold_ratio, block_repeats)
        return self._finish_decoding(batch, predictions)

    # -- the steps of forward ------------------------------------------------------------------

    def _start_decoding(
        self,
        encoder_outputs: torch.Tensor,
        source_mask: torch.BoolTensor,
        embedded_source: torch.Tensor,
        encoder_state: RnnState,
        targets: Optional[Dict[str, torch.Tensor]],
        num_triplets: int,
        early_exit: bool,
        forced: Optional[Dict[str, torch.Tensor]] = None,
    ) -> "_Decoding":
        """What every step of one batch reads: the step-independent projections (Eq. 8, computed
        once), the gold classes, the decoder's initial state and empty predictions."""
        batch_size, seq_len, _ = encoder_outputs.shape
        inference = not torch.is_grad_enabled()
        # the step-independent half of the attention, once
        attention_keys = self.attention.project_matrix(encoder_outputs) if isinstance(self.attention, StepAdditiveAttention) else None
        # Eq. 8: the context's half of the input layer, once (training forms the context itself:
        # neither was faster there)
        projected_context = self.project_context(encoder_outputs) if inference else None
        gold: Dict[str, torch.Tensor] = {}
        if targets is not None:
            gold = {
                "relations": targets["relations"].masked_fill(targets["relations"] < 0, self.na_relation),
                "head_ends": targets["head_ends"].masked_fill(targets["head_ends"] < 0, seq_len),
                "tail_ends": targets["tail_ends"].masked_fill(targets["tail_ends"] < 0, seq_len),
            }
            for length_key in ("head_lengths", "tail_lengths"):
                if length_key in targets:
                    gold[length_key] = targets[length_key]
        if forced is not None:
            # the decoder's classes: NA relations and NA copies as the step's NA class
            forced = {
                "relations": forced["relations"].masked_fill(forced["relations"] < 0, self.na_relation),
                "head_ends": forced["head_ends"].masked_fill(forced["head_ends"] < 0, seq_len),
                "tail_ends": forced["tail_ends"].masked_fill(forced["tail_ends"] < 0, seq_len),
            }
        truncated_loss = targets is not None and self.na_loss == "first"
        # on a CPU the weights that multiply the state at every step are laid out once for all of
        # the batch's steps: each LSTM cell's W_hh; without autograd also the attention's query weight
        on_cpu = cpu_lstm.uses_cpu_kernels(encoder_outputs)
        query_products = None
        if attention_keys is not None and on_cpu and inference:
            query_products = self.attention.query_products(batch_size)
        device = encoder_outputs.device
        no_prediction = torch.full((batch_size, num_triplets), -1, dtype=torch.long, device=device)
        predicted = {key: no_prediction.clone() for key in ("relations", "head_ends", "tail_ends")}
        if self.length_scorer is not None:
            predicted["head_lengths"] = torch.zeros_like(no_prediction)
            predicted["tail_lengths"] = torch.zeros_like(no_prediction)
        return _Decoding(
            batch_size=batch_size,
            na_position=seq_len,  # the NA copy logit follows the source positions
            source_mask=source_mask,
            encoder_outputs=encoder_outputs,
            encoder_state=encoder_state,
            embedded_source=self.copied_inputs(embedded_source, encoder_outputs),
            # Eq. 8: the encoder half of the copy scorer, once
            projected_encoder=self.copy_scorer.project_encoder(encoder_outputs),
            copy_mask=torch.cat([source_mask, source_mask.new_ones(batch_size, 1)], dim=1),
            attention_keys=attention_keys,
            projected_context=projected_context,
            # the steps read the encoder outputs themselves only for what is not projected once above
            needs_encoder_outputs=attention_keys is None or projected_context is None or self.length_scorer is not None,
            cell_products=[
                cpu_lstm.RecurrentProducts(cast(torch.Tensor, cell.weight_hh), batch_size) if self.cell == "lstm" and on_cpu else None
                for cell in self.cells
            ],
            query_products=query_products,
            has_targets=targets is not None,
            gold=gold,
            forced=forced,
            truncated_loss=truncated_loss,
            compact=early_exit and (targets is None or truncated_loss),
            state=self._initial_state(encoder_state, 0),
            previous_embedding=self.start_embedding.expand(batch_size, -1),
            finished=torch.zeros(batch_size, dtype=torch.bool, device=device),
            loss_done=torch.zeros(batch_size, dtype=torch.bool, device=device),
            predicted=predicted,
        )

    def _advance(self, batch: "_Decoding", triplet: int) -> torch.Tensor:
        """One decoder step (Eq. 2) over the sentences still decoded; returns ``h_t``."""
        index = triplet if self.multi else 0
        batch.state = self._step(
            self.cells[index], batch.previous_embedding, batch.state, batch.encoder_outputs, batch.source_mask,
            batch.attention_keys, batch.cell_products[index], batch.projected_context, batch.query_products,
        )
        return batch.state[0]

    def _relation_step(
        self, batch: "_Decoding", triplet: int, hidden: torch.Tensor, feeding: str, gold_ratio: float, predictions: bool
    ) -> None:
        """Step t % 3 = 1: the relation (Eq. 4), its loss, what the next step is fed; a sentence is
        finished at its first NA relation and leaves the batch once nothing later is read."""
        if batch.forced is None:
            # shape: (rows, num_relations + 1)
            logits = self._relation_logits(hidden)
            choice = logits.argmax(dim=-1)
        else:  # no scores needed: neither a choice nor a loss reads them
            choice = batch.forced["relations"][:, triplet]
        fed = choice
        if batch.has_targets:
            fed = self._train_step(batch, "relations", triplet, torch.log_softmax(logits, dim=-1), choice, feeding, gold_ratio)
            if batch.truncated_loss:
                # the first gold NA relation step is trained; its copy steps and later ones not
                batch.loss_done = batch.loss_done | (batch.gold["relations"][:, triplet] == self.na_relation)
        batch.finished = batch.finished | (choice == self.na_relation)
        batch.record("relations", triplet, torch.where(batch.finished, -1, choice))
        batch.previous_embedding = self._next_input(RELATION, fed, batch.embedded_source, batch.na_position)
        # nothing later is read for a sentence whose prediction and loss are both complete
        done = batch.finished if predictions else torch.ones_like(batch.finished)
        if batch.has_targets:
            done = done & batch.loss_done
        if batch.compact and bool(done.any()):
            batch.leave(done)

    def _copy_step(
        self, batch: "_Decoding", triplet: int, role: int, hidden: torch.Tensor, feeding: str, gold_ratio: float,
        block_repeats: bool,
    ) -> None:
        """Steps t % 3 = 2 (head) and 0 (tail): the copied position (Eq. 4 with the copy scorer),
        its loss, what the next step is fed; with CopyRE'5 the entity's length."""
        key = "head_ends" if role == HEAD else "tail_ends"
        earlier: Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = None
        relation: Optional[torch.Tensor] = None
        if block_repeats and role == TAIL and triplet > 0:
            # shape: (rows, triplet) each: the earlier triplets as recorded; (rows,): this relation
            relations, head_ends, tail_ends = (batch.recorded(k)[:, : triplet + 1] for k in ("relations", "head_ends", "tail_ends"))
            earlier, relation = (relations[:, :-1], head_ends[:, :-1], tail_ends[:, :-1]), relations[:, -1]
        if batch.forced is None:
            # shape: (rows, seq_len + 1) each
            logits, allowed = self._copy_scores(
                role, hidden, batch.projected_encoder, batch.copy_mask, batch.head_position, earlier, relation
            )
            choice = util.replace_masked_values(logits, allowed, util.min_value_of_dtype(logits.dtype)).argmax(-1)
        else:  # no scores needed: neither a choice nor a loss reads them
            choice = batch.forced[key][:, triplet]
        fed = choice
        if batch.has_targets:
            log_probs = util.masked_log_softmax(logits, batch.copy_mask)
            fed = self._train_step(batch, key, triplet, log_probs, choice, feeding, gold_ratio)
        is_na = choice == batch.na_position
        batch.record(key, triplet, torch.where(batch.finished | is_na, -1, choice))
        batch.previous_embedding = self._next_input(role, fed, batch.embedded_source, batch.na_position)
        if role == HEAD:
            batch.head_position = fed  # what the tail step follows on
        if self.length_scorer is not None:
            length_key = "head_lengths" if role == HEAD else "tail_lengths"
            seq_len = batch.na_position
            length_log_probs = self._length_log_probs(hidden, batch.encoder_outputs, choice.clamp(max=seq_len - 1))
            batch.record(length_key, triplet, torch.where(batch.finished | is_na, 0, length_log_probs.argmax(dim=-1) + 1))
            if batch.has_targets:
                length_loss = self._length_loss(
                    hidden, batch.encoder_outputs, batch.gold[key][:, triplet], batch.gold[length_key][:, triplet], seq_len
                )
                batch.add_loss(length_loss.masked_fill(batch.loss_done, 0.0) if batch.truncated_loss else length_loss)

    def _train_step(
        self, batch: "_Decoding", key: str, triplet: int, log_probs: torch.Tensor, choice: torch.Tensor,
        feeding: str, gold_ratio: float,
    ) -> torch.Tensor:
        """A step's term of L_D (Eq. 6), the NLL of the gold class; returns what is fed next."""
        gold_choice = batch.gold[key][:, triplet]
        step_loss = -log_probs.gather(1, gold_choice.unsqueeze(1)).squeeze(1)
        if batch.truncated_loss:
            step_loss = step_loss.masked_fill(batch.loss_done, 0.0)
        batch.add_loss(step_loss)
        return self._feed(choice, gold_choice, feeding, gold_ratio)

    @staticmethod
    def _finish_decoding(batch: "_Decoding", predictions: bool) -> Dict[str, torch.Tensor]:
        """The predictions (entities NA wherever the relation is) and, with targets, L_D: summed
        over the steps, then the mean over the batch's sentences (Eq. 6)."""
        predicted = batch.predicted
        for key in ("head_ends", "tail_ends"):
            predicted[key] = predicted[key].masked_fill(predicted["relations"] < 0, -1)
        if batch.has_targets:
            # shape: (batch_size,) per step
            predicted["loss"] = torch.stack(batch.step_losses, dim=1).sum(dim=1).mean()
            if not predictions:
                return {"loss": predicted["loss"]}
        return predicted

    # -- beam search ---------------------------------------------------------------------------

    def beam_search(
        self,
        encoder_outputs: torch.Tensor,
        source_mask: torch.BoolTensor,
        embedded_source: torch.Tensor,
        encoder_state: RnnState,
        beam_size: int,
        num_triplets: Optional[int] = None,
        block_repeats: bool = False,
    ) -> Dict[str, torch.Tensor]:
        """Beam search over the whole triplet sequence (AllenNLP's :class:`BeamSearch`), for
        inference: the sequence with the highest log-likelihood (the sum of the steps' log
        probabilities, Eq. 6 without the minus) among ``beam_size`` hypotheses kept per step.

        One class space serves every step: the relations and NA (``0 .. num_relations``), then the
        copy positions and the NA copy (``num_relations + 1 + i``). A relation step allows only the
        first block, a copy step only the second (padding and, with mask M, the head excluded); the
        NA relation is the end symbol, so a hypothesis ends at its first NA relation, as greedy
        decoding does. ``beam_size=1`` is greedy decoding. Returns what :meth:`forward` returns
        without targets.

        A search step is a step of :meth:`forward` on the hypotheses, built from the same pieces
        (:meth:`_next_input`, :meth:`_step`, :meth:`_relation_logits`, :meth:`_copy_scores`);
        CopyRE'5's entity lengths come from :meth:`forward` itself, forced to the chosen sequence."""
        if num_triplets is None:
            num_triplets = self.max_triplets
        if self.multi and num_triplets != self.max_triplets:
            raise ConfigurationError("decoding other than max_triplets triplets needs the OneDecoder")
        batch_size, seq_len, _ = encoder_outputs.shape
        # shape: (batch_size, seq_len, embedding_dim): what a copy step feeds the next one
        embedded_source = self.copied_inputs(embedded_source, encoder_outputs)
        offset = self.na_relation + 1  # the class of copy position 0
        na_position = seq_len
        num_classes = offset + seq_len + 1
        state: Dict[str, torch.Tensor] = {
            "encoder_outputs": encoder_outputs,
            "source_mask": source_mask,
            "embedded_source": embedded_source,
            # shape: (batch_size, seq_len + 1): the copy positions and NA
            "copy_mask": torch.cat([source_mask, source_mask.new_ones(batch_size, 1)], dim=1),
            # shape: (batch_size, seq_len, copy_width); Eq. 8: the encoder half of the copy scorer
            "projected_encoder": self.copy_scorer.project_encoder(encoder_outputs),
            "encoder_h": encoder_state[0],
            "h": encoder_state[0],
            "head_position": source_mask.new_zeros(batch_size, dtype=torch.long),
        }
        if block_repeats:
            # shape: (batch_size, 3 * num_triplets): the classes chosen so far (-1: not yet)
            state["history"] = source_mask.new_full((batch_size, 3 * num_triplets), -1, dtype=torch.long)
        if isinstance(self.attention, StepAdditiveAttention):
            state["attention_keys"] = self.attention.project_matrix(encoder_outputs)
        if encoder_state[1] is not None:
            state["encoder_c"] = encoder_state[1]
            state["c"] = encoder_state[1]

        def step(last_predictions: torch.Tensor, state: Dict[str, torch.Tensor], timestep: int):
            # one step of forward's loop on the hypotheses: the input fed by the last choice, Eq. 2,
            # the role's log-probabilities in the shared class space
            role, triplet = timestep % 3, timestep // 3
            group = last_predictions.size(0)
            if block_repeats and timestep > 0:
                state["history"] = state["history"].clone()
                state["history"][:, timestep - 1] = last_predictions
            if timestep == 0:
                previous_embedding = self.start_embedding.expand(group, -1)
            else:
                previous_role = (timestep - 1) % 3
                fed = self._from_class(last_predictions, previous_role, offset, na_position)
                previous_embedding = self._next_input(previous_role, fed, state["embedded_source"], na_position)
                if previous_role == HEAD:
                    state["head_position"] = fed
            rnn_state: RnnState = (state["h"], state.get("c"))
            if self.multi and role == RELATION:
                rnn_state = self._initial_state((state["encoder_h"], state.get("encoder_c")), triplet, rnn_state)
            rnn_state = self._step(
                self.cells[triplet if self.multi else 0], previous_embedding, rnn_state,
                state["encoder_outputs"], state["source_mask"], state.get("attention_keys"),
            )
            state["h"] = rnn_state[0]
            if rnn_state[1] is not None:
                state["c"] = rnn_state[1]
            hidden = rnn_state[0]
            # shape: (group, num_classes); what a step cannot choose stays far below everything else
            log_probs = hidden.new_full((group, num_classes), -1e9, dtype=torch.promote_types(hidden.dtype, torch.float32))
            if role == RELATION:
                log_probs[:, :offset] = torch.log_softmax(self._relation_logits(hidden), dim=-1)
                return log_probs, state
            earlier: Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = None
            relation: Optional[torch.Tensor] = None
            if block_repeats and role == TAIL and triplet > 0:
                # shape: (group, triplet, 3): the earlier triplets' classes
                classes = state["history"][:, : 3 * triplet].view(group, triplet, 3)
                earlier = (
                    classes[:, :, RELATION],
                    self._from_class(classes[:, :, HEAD], HEAD, offset, na_position, na=-1),
                    self._from_class(classes[:, :, TAIL], TAIL, offset, na_position, na=-1),
                )
                relation = state["history"][:, timestep - 2]
            logits, allowed = self._copy_scores(
                role, hidden, state["projected_encoder"], state["copy_mask"], state["head_position"], earlier, relation
            )
            log_probs[:, offset:] = util.masked_log_softmax(logits, allowed).masked_fill(~allowed, -1e9)
            return log_probs, state

        search = BeamSearch(end_index=self.na_relation, max_steps=3 * num_triplets, beam_size=beam_size)
        start = source_mask.new_zeros(batch_size, dtype=torch.long)
        with warnings.catch_warnings():
            # BeamSearch warns when every sentence of a batch ends at its first step (no triplet)
            warnings.filterwarnings("ignore", message="Empty sequences predicted")
            # shape: (batch_size, beam_size, num_steps)
            top_sequences, _ = search.search(start, state, step)
        best = top_sequences[:, 0, :]
        steps = torch.full((batch_size, 3 * num_triplets), self.na_relation, dtype=torch.long, device=best.device)
        steps[:, : best.size(1)] = best
        # shape: (batch_size, num_triplets, 3)
        steps = steps.view(batch_size, num_triplets, 3)
        relations = steps[:, :, RELATION]
        finished = (relations == self.na_relation).cumsum(dim=1) > 0
        predicted = {"relations": torch.where(finished, -1, relations)}
        for role, key in ((HEAD, "head_ends"), (TAIL, "tail_ends")):
            predicted[key] = torch.where(finished, -1, self._from_class(steps[:, :, role], role, offset, na_position, na=-1))
        if self.length_scorer is None:
            for key in ("head_ends", "tail_ends"):
                predicted[key] = predicted[key].masked_fill(predicted["relations"] < 0, -1)
            return predicted
        # CopyRE'5's lengths: the same steps again, forced to the chosen sequence, classify the
        # length at each copied position
        return self.forward(
            encoder_outputs, source_mask, embedded_source, encoder_state,
            num_triplets=num_triplets, forced=predicted, early_exit=True,
        )

    @staticmethod
    def _from_class(classes: torch.Tensor, role: int, offset: int, na_position: int, na: Optional[int] = None) -> torch.Tensor:
        """A choice of beam search's shared class space as the step's own: the relation (NA:
        ``num_relations``) at a relation step, the copied position at a copy step (NA:
        ``na_position``, or ``na`` where given; a class outside the copy block counts as NA)."""
        if role == RELATION:
            return classes.clamp(max=offset - 1)
        position = classes - offset
        is_entity = (position >= 0) & (position < na_position)
        return torch.where(is_entity, position, na_position if na is None else na)

    # -- pieces of a step ----------------------------------------------------------------------

    def _initial_state(self, encoder_state: RnnState, triplet: int, previous: Optional[RnnState] = None) -> RnnState:
        if not self.multi:
            return encoder_state
        # MultiDecoder: (h_enc + state of the previous decoder) / 2; the first from h_enc / 2
        h, c = encoder_state
        if previous is None or triplet == 0:
            return h / 2, None if c is None else c / 2
        previous_h, previous_c = previous
        return (h + previous_h) / 2, None if c is None or previous_c is None else (c + previous_c) / 2

    def _step(
        self,
        cell: torch.nn.Module,
        previous_embedding: torch.Tensor,
        state: RnnState,
        encoder_outputs: torch.Tensor,
        source_mask: torch.Tensor,
        attention_keys: Optional[torch.Tensor] = None,
        products: Optional[cpu_lstm.RecurrentProducts] = None,
        projected_context: Optional[torch.Tensor] = None,
        query_products: Optional[cpu_lstm.RecurrentProducts] = None,
    ) -> RnnState:
        """Eq. 2: attention on h_{t-1}, input layer W_u, one recurrent step."""
        # shape: (batch_size, hidden_dim); h_{t-1} W by a packed product, where there is one
        query = query_products.forward(state[0]) if query_products is not None else None
        # shape: (batch_size, seq_len)
        if attention_keys is not None:
            attention_weights = self.attention.attend(state[0], attention_keys, source_mask, query)
        else:
            attention_weights = self.attention(state[0], encoder_outputs, source_mask)
        if projected_context is not None:
            # shape: (batch_size, embedding_dim); u_t = e_t · W_u^e + b_u + sum_i a_ti (o_i · W_u^c)
            embedding_weight = self.input_projection.weight[:, : self.input_projection.out_features]
            cell_input = torch.nn.functional.linear(previous_embedding, embedding_weight, self.input_projection.bias)
            cell_input = cell_input + util.weighted_sum(projected_context, attention_weights)
        else:
            # shape: (batch_size, hidden_dim)
            context = util.weighted_sum(encoder_outputs, attention_weights)
            # shape: (batch_size, embedding_dim)
            cell_input = self.input_projection(torch.cat([previous_embedding, context], dim=-1))
        if self.cell == "lstm":
            if products is None:
                return cell(cell_input, state)
            return cpu_lstm.lstm_cell_step(cast(torch.nn.LSTMCell, cell), cell_input, cast(Tuple[torch.Tensor, torch.Tensor], state), products)
        return cell(cell_input, state[0]), None

    def _relation_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Eq. 4, t % 3 = 1: ``[h_t · W_r ; q_NA]`` with ``q_NA = h_t · W_NA`` (Eq. 7);
        (batch, num_relations + 1); float32 under autocast (the softmax and masking read them)."""
        return at_least_float32(torch.cat([self.relation_scorer(hidden), self.na_scorer(hidden)], dim=-1))

    def _copy_logits(self, hidden: torch.Tensor, projected_encoder: torch.Tensor) -> torch.Tensor:
        """Eq. 4, t % 3 = 2 and 0: ``[q_t(1..n) ; q_NA]`` (the copy scorer, Eq. 3 or 10);
        (batch, seq_len + 1); float32 under autocast (the softmax and masking read them)."""
        return at_least_float32(torch.cat([self.copy_scorer(hidden, projected_encoder), self.na_scorer(hidden)], dim=-1))

    def _copy_scores(
        self, role: int, hidden: torch.Tensor, projected_encoder: torch.Tensor, copy_mask: torch.Tensor,
        head_position: Optional[torch.Tensor], earlier: Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = None,
        relation: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """A copy step's logits (Eq. 4, :meth:`_copy_logits`) and the positions it may choose
        (:meth:`_allowed_copies`), each (rows, seq_len + 1). With ``earlier`` (the earlier
        triplets' relations, head ends and tail ends, (rows, triplets), -1 for NA) and this
        triplet's ``relation`` (rows,), a tail step may not repeat an earlier triplet."""
        logits = self._copy_logits(hidden, projected_encoder)
        repeated = None
        if earlier is not None:
            assert relation is not None and head_position is not None, "a tail step follows a relation and a head"
            repeated = self._repeated_tails(*earlier, relation, head_position, copy_mask.size(1))
        return logits, self._allowed_copies(copy_mask, role, head_position, repeated)

    def _next_input(self, role: int, fed: torch.Tensor, embedded_source: torch.Tensor, na_position: int) -> torch.Tensor:
        """``e_t`` of Eq. 2 for the step after a step of ``role`` chose ``fed``: the relation's
        embedding after a relation step; after a copy step the copied input (the NA copy
        embedding for an NA copy); (rows, embedding_dim)."""
        if role == RELATION:
            return self.relation_embedding(fed)
        return self._copied_embedding(embedded_source, fed, na_position)

    @staticmethod
    def _repeated_tails(
        relations: torch.Tensor, head_ends: torch.Tensor, tail_ends: torch.Tensor,
        relation: torch.Tensor, head_end: torch.Tensor, width: int,
    ) -> torch.Tensor:
        """The tail positions that would repeat an earlier triplet: ``relations``, ``head_ends``,
        ``tail_ends`` (group, earlier triplets; -1 for NA) and this triplet's ``relation`` and
        ``head_end`` (group,); returns (group, width), true at the tail end of every earlier
        triplet with this relation and head."""
        # shape: (group, earlier triplets)
        same = (relations == relation.unsqueeze(1)) & (head_ends == head_end.unsqueeze(1)) & (tail_ends >= 0)
        # shape: (group, earlier triplets, width)
        tails = torch.nn.functional.one_hot(tail_ends.clamp(min=0), width).bool()
        return (tails & same.unsqueeze(2)).any(dim=1)

    def _allowed_copies(
        self, copy_mask: torch.Tensor, role: int, head_position: Optional[torch.Tensor],
        repeated: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """The positions a copy step may choose: the sentence and NA; at a tail step with CopyRE's
        mask M, not the head just predicted (NA stays allowed); never a ``repeated`` tail."""
        if repeated is not None:
            copy_mask = copy_mask & ~repeated
        if role != TAIL or not self.mask_head_at_tail:
            return copy_mask
        assert head_position is not None, "a tail step follows a head step"
        na_position = copy_mask.size(1) - 1
        is_head = torch.nn.functional.one_hot(head_position, na_position + 1).bool()
        return copy_mask & ~(is_head & (head_position < na_position).unsqueeze(1))

    def copied_inputs(self, embedded_source: torch.Tensor, encoder_outputs: torch.Tensor) -> torch.Tensor:
        """What a copy step of position i feeds the next step: the word embedding (``word``) or
        ``o_i · W_fb`` (``encoder``); (batch, seq_len, embedding_dim)."""
        return embedded_source if self.copy_feedback is None else self.copy_feedback(encoder_outputs)

    def project_context(self, encoder_outputs: torch.Tensor) -> torch.Tensor:
        """``o_i · W_u^c`` for every position, the context's half of the input layer ``W_u``
        (Eq. 8): (batch, seq_len, embedding_dim)."""
        embedding_dim = self.input_projection.out_features
        return torch.nn.functional.linear(encoder_outputs, self.input_projection.weight[:, embedding_dim:])

    @staticmethod
    def _feed(choice: torch.Tensor, gold_choice: torch.Tensor, feeding: str, gold_ratio: float) -> torch.Tensor:
        if feeding == "gold":
            return gold_choice
        if feeding == "own":
            return choice
        use_gold = torch.rand(choice.shape, device=choice.device) < gold_ratio
        return torch.where(use_gold, gold_choice, choice)

    def _copied_embedding(self, embedded_source: torch.Tensor, position: torch.Tensor, na_position: int) -> torch.Tensor:
        # shape: (batch_size, embedding_dim)
        gathered = embedded_source.gather(
            1, position.clamp(max=na_position - 1).view(-1, 1, 1).expand(-1, 1, embedded_source.size(-1))
        ).squeeze(1)
        return torch.where((position == na_position).unsqueeze(1), self.na_copy_embedding.expand_as(gathered), gathered)

    def _length_log_probs(self, hidden: torch.Tensor, encoder_outputs: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        # shape: (batch_size, hidden_dim): the encoder output at the copied position
        copied = encoder_outputs.gather(
            1, position.view(-1, 1, 1).expand(-1, 1, encoder_outputs.size(-1))
        ).squeeze(1)
        if self.length_scorer_kind == "linear":
            return torch.log_softmax(at_least_float32(self.length_scorer(torch.cat([hidden, copied], dim=-1))), dim=-1)  # type: ignore[misc]
        # start pointer: the candidate first token s = i - k + 1 of each length k = 1..max_entity_length
        # shape: (batch_size, max_entity_length)
        starts = position.unsqueeze(1) - torch.arange(self.max_entity_length, device=position.device)
        # shape: (batch_size, max_entity_length, hidden_dim)
        first_tokens = encoder_outputs.gather(
            1, starts.clamp(min=0).unsqueeze(2).expand(-1, -1, encoder_outputs.size(-1))
        )
        pairs = torch.cat(
            [hidden.unsqueeze(1).expand_as(first_tokens), copied.unsqueeze(1).expand_as(first_tokens), first_tokens], dim=-1
        )
        # shape: (batch_size, max_entity_length)
        scores = at_least_float32(self.length_scorer(pairs).squeeze(-1))  # type: ignore[misc]
        return util.masked_log_softmax(scores, starts >= 0)

    def _length_loss(
        self,
        hidden: torch.Tensor,
        encoder_outputs: torch.Tensor,
        gold_position: torch.Tensor,
        gold_length: torch.Tensor,
        na_position: int,
    ) -> torch.Tensor:
        """NLL of the gold length at the gold position; 0 for NA entities. Lengths beyond
        ``max_entity_length`` are trained as the maximum."""
        is_entity = gold_position < na_position
        log_probs = self._length_log_probs(hidden, encoder_outputs, gold_position.clamp(max=na_position - 1))
        length_class = (gold_length.clamp(min=1, max=self.max_entity_length) - 1).unsqueeze(1)
        return -log_probs.gather(1, length_class).squeeze(1) * is_entity


@dataclass
class _Decoding:
    """The per-batch tensors of one :meth:`TripletDecoder.forward`, and the sentences that are
    still decoded: with ``early_exit`` a sentence whose prediction and loss are complete leaves
    (:meth:`leave`), and every later step runs over the rest only. ``rows`` below is the number of
    sentences still decoded (``batch_size`` until one leaves)."""

    # sentences of the batch, and the class of an NA copy (seq_len: it follows the source positions)
    batch_size: int
    na_position: int
    # shape: (rows, seq_len), bool
    source_mask: torch.Tensor
    # shape: (rows, seq_len, hidden_dim); kept up to date only where ``needs_encoder_outputs``
    encoder_outputs: torch.Tensor
    # (h, c), each (rows, hidden_dim); c is None for a GRU
    encoder_state: RnnState
    # shape: (rows, seq_len, embedding_dim): what a copy step feeds the next step
    embedded_source: torch.Tensor
    # shape: (rows, seq_len, copy_width): Eq. 8, the encoder half of the copy scorer
    projected_encoder: torch.Tensor
    # shape: (rows, seq_len + 1), bool: the sentence's positions and NA
    copy_mask: torch.Tensor
    # shape: (rows, seq_len, hidden_dim): the attention's step-independent half (additive attention only)
    attention_keys: Optional[torch.Tensor]
    # shape: (rows, seq_len, embedding_dim): Eq. 8, the context's half of the input layer (inference only)
    projected_context: Optional[torch.Tensor]
    # whether a step reads encoder_outputs itself (so leave() must keep it in step)
    needs_encoder_outputs: bool
    # per decoder cell, W_hh laid out once for the CPU kernels (LSTM on a CPU), else None
    cell_products: List[Optional[cpu_lstm.RecurrentProducts]]
    # the attention's query weight laid out once (CPU inference), else None
    query_products: Optional[cpu_lstm.RecurrentProducts]
    # whether the batch has targets; their classes, NA as the decoder's NA classes:
    # relations (rows, max_triplets), head_ends / tail_ends (rows, max_triplets), and with CopyRE'5
    # head_lengths / tail_lengths (rows, max_triplets)
    has_targets: bool
    gold: Dict[str, torch.Tensor]
    # the choices to make instead of the argmax (forward's ``forced``), in the decoder's classes:
    # relations, head_ends, tail_ends (rows, num_triplets); None: the argmax
    forced: Optional[Dict[str, torch.Tensor]]
    # na_loss "first": a sentence's loss ends at its first gold NA relation
    truncated_loss: bool
    # whether sentences leave the batch once complete (early exit)
    compact: bool
    # the decoder's (h, c), each (rows, hidden_dim)
    state: RnnState
    # shape: (rows, embedding_dim): the input of the next step
    previous_embedding: torch.Tensor
    # shape: (rows,): the sentence's decoding has met an NA relation
    finished: torch.Tensor
    # shape: (rows,): the sentence's loss is complete (na_loss "first")
    loss_done: torch.Tensor
    # "relations", "head_ends", "tail_ends" (and CopyRE'5's "head_lengths", "tail_lengths"), each
    # (batch_size, num_triplets), every sentence of the batch
    predicted: Dict[str, torch.Tensor]
    # shape: (batch_size,) each: the loss of every step so far
    step_losses: List[torch.Tensor] = field(default_factory=list)
    # shape: (rows,): the head's copied position, which the tail step follows on
    head_position: Optional[torch.Tensor] = None
    # shape: (rows,): the batch row of each decoded sentence; None while every sentence is decoded
    rows: Optional[torch.Tensor] = None
    # every sentence has left
    all_left: bool = False

    def record(self, key: str, triplet: int, values: torch.Tensor) -> None:
        if self.rows is None:
            self.predicted[key][:, triplet] = values
        else:
            self.predicted[key][self.rows, triplet] = values

    def recorded(self, key: str) -> torch.Tensor:
        """The predictions so far of the sentences still decoded."""
        return self.predicted[key] if self.rows is None else self.predicted[key][self.rows]

    def add_loss(self, values: torch.Tensor) -> None:
        # shape: (batch_size,), zero for the sentences that have left the batch
        self.step_losses.append(values if self.rows is None else values.new_zeros(self.batch_size).index_add(0, self.rows, values))

    def leave(self, done: torch.Tensor) -> None:
        """The sentences where ``done`` is true leave: every later step skips them."""
        keep = (~done).nonzero().squeeze(1)
        if keep.numel() == 0:
            self.all_left = True
            return
        self.rows = keep if self.rows is None else self.rows[keep]
        self.finished, self.loss_done = self.finished[keep], self.loss_done[keep]
        self.gold = {key: values[keep] for key, values in self.gold.items()}
        if self.forced is not None:
            self.forced = {key: values[keep] for key, values in self.forced.items()}
        self.state = tuple(None if s is None else s[keep] for s in self.state)  # type: ignore[assignment]
        self.encoder_state = tuple(None if s is None else s[keep] for s in self.encoder_state)  # type: ignore[assignment]
        self.previous_embedding = self.previous_embedding[keep]
        self.source_mask, self.embedded_source = self.source_mask[keep], self.embedded_source[keep]
        if self.needs_encoder_outputs:
            self.encoder_outputs = self.encoder_outputs[keep]
        self.projected_encoder, self.copy_mask = self.projected_encoder[keep], self.copy_mask[keep]
        if self.attention_keys is not None:
            self.attention_keys = self.attention_keys[keep]
        if self.projected_context is not None:
            self.projected_context = self.projected_context[keep]
