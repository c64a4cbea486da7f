from typing import Any, Dict, List, Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models import Model
from allennlp.modules import Attention, Seq2SeqEncoder, TextFieldEmbedder
from allennlp.nn import InitializerApplicator, util

from copymtl_allennlp import compat
from copymtl_allennlp.data.namespaces import NA_POSITION, RELATION_NAMESPACE, TAG_NAMESPACE, UNSEEN_RELATION
from copymtl_allennlp.metrics import TripletF1
from copymtl_allennlp.models.triplet_model import TripletModel
from copymtl_allennlp.modules.copy_scorer import CopyScorer
from copymtl_allennlp.modules.decoder_state_encoder import DecoderStateEncoder
from copymtl_allennlp.modules.step_attention import StepAdditiveAttention
from copymtl_allennlp.modules.triplet_decoder import FEEDING, TripletDecoder


# where an entity's first token comes from (CopyMTL's docstring)
ENTITY_STARTS = ("tags", "length", "last_token")


@Model.register("copymtl")
class CopyMTL(TripletModel):
    """CopyMTL (Zeng, Zhang and Liu, AAAI 2020) and, by switches, the rest of its model family.

    | system       | copy_scorer | mask_head_at_tail | tagging_head | num_decoders | max_entity_length |
    |--------------|-------------|-------------------|--------------|--------------|-------------------|
    | CopyRE-One   | linear      | true              | false        | 1            | 0                 |
    | CopyRE-Mul   | linear      | true              | false        | max_triplets | 0                 |
    | CopyRE'      | selu        | false             | false        | 1            | 0                 |
    | CopyRE'5     | selu        | false             | false        | 1            | > 0               |
    | CopyMTL-One  | selu        | false             | true         | 1            | 0                 |
    | CopyMTL-Mul  | selu        | false             | true         | max_triplets | 0                 |

    Encoder: a :class:`DecoderStateEncoder`, the paper's :class:`AveragedBidirectionalEncoder`
    (BiLSTM or BiGRU, directions averaged; its final state starts the decoder) or, over a contextual
    embedder, :class:`PooledStateEncoder` (the decoder starts from the masked mean). Decoder:
    :class:`TripletDecoder`. Tagging head: :class:`TaggingHead` (emission layer + CRF, BIO). Loss
    (Eq. 14): ``L = λ·L_E + L_D`` with ``λ = tagging_loss_weight``; both terms are means over the
    sentences of the batch.

    Entities at inference: the decoder copies the last token; the first token comes from the
    predicted tags (entity completion, :func:`entity_starts`), or from the predicted length
    (CopyRE'5), or is the last token itself (CopyRE, CopyRE'). ``entity_starts`` (``tags``,
    ``length``, ``last_token``) says which; it follows from the switches unless both the tagging
    head and a length head are on, where it must be given (``length`` with the tagging head: the CRF
    is then an auxiliary task that trains the encoder, Eq. 14 unchanged). ``length_scorer``:
    ``linear`` (CopyRE'5, from ``[h_t ; o_i]``) or ``start_pointer`` (scores each candidate first
    token, see :class:`TripletDecoder`). ``copy_feedback``: what a copy step feeds the next step,
    the copied ``word``'s embedding (the paper) or its ``encoder`` output, projected. The copied
    word's embedding is the source embedder's vector of it (contextual when the embedder is a
    pretrained transformer) or, with ``copied_word_embedder`` (a ``TextFieldEmbedder`` of the same
    output width over indexers of its own, which the source embedder then does not read), a
    separate word embedding.

    ``feeding`` chooses what the decoder is fed while training: ``gold`` (teacher forcing),
    ``own`` (its argmax, as in the released code) or ``scheduled`` (gold with probability
    ``gold_ratio``). Evaluation and prediction always decode greedily.

    ``na_loss`` chooses which NA steps ``L_D`` trains: ``all`` (the paper: the gold sequence
    padded with NA triplets to ``max_triplets``) or ``first`` (the gold triplets and the first NA
    relation, where greedy decoding stops; sentences then leave a training batch once their loss
    is complete). See :class:`TripletDecoder`.

    Decoding (evaluation and prediction): greedy by default; ``beam_size > 1`` searches the
    triplet sequence with AllenNLP's ``BeamSearch`` (:meth:`TripletDecoder.beam_search`).
    ``max_decoding_triplets`` (default ``max_triplets``) decodes up to that many triplets, more
    than the training targets hold (the first NA relation still ends a sentence; OneDecoder only).
    ``block_repeated_triplets``: a tail step may not complete a triplet (relation, head end, tail
    end) already decoded for the sentence, so a decoding step is not spent on a repeat (which the
    output drops). All three are read at inference only, so they can be changed on a trained archive
    (``allennlp evaluate ... -o '{"model.beam_size": 4}'``).

    Evaluation data may hold relations that training never saw (the public WebNLG test split has
    one such triplet). Such a gold triplet can never be predicted: it counts in the metric's
    recall, is left out of the decoder targets (the triplets after it move up), and the number met
    is reported as the metric ``unseen_relation_triplets`` and logged at the end of an evaluation.
    """

    default_predictor = "copymtl"

    tag_namespace = TAG_NAMESPACE

    def __init__(
        self,
        vocab: Vocabulary,
        source_embedder: TextFieldEmbedder,
        encoder: Seq2SeqEncoder,
        attention: Optional[Attention] = None,
        copy_scorer: str = "selu",
        copy_hidden_size: int = 100,
        max_triplets: int = 5,
        num_decoders: int = 1,
        mask_head_at_tail: bool = False,
        tagging_head: bool = True,
        tagging_loss_weight: float = 1.0,
        max_entity_length: int = 0,
        feeding: str = "gold",
        gold_ratio: float = 1.0,
        na_loss: str = "all",
        dropout: float = 0.0,
        decoder_dropout: float = 0.0,
        word_dropout: float = 0.0,
        beam_size: int = 1,
        max_decoding_triplets: Optional[int] = None,
        block_repeated_triplets: bool = False,
        length_scorer: str = "linear",
        entity_starts: Optional[str] = None,
        copy_feedback: str = "word",
        copied_word_embedder: Optional[TextFieldEmbedder] = None,
        initializer: InitializerApplicator = InitializerApplicator(),
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
        if not isinstance(encoder, DecoderStateEncoder):
            raise ConfigurationError(
                "the encoder must be 'averaged_bidirectional' or 'pooled_state': the decoder starts from its state (h, c)"
            )
        if feeding not in FEEDING:
            raise ConfigurationError(f"feeding must be one of {FEEDING}, got {feeding!r}")
        if not 0.0 <= gold_ratio <= 1.0:
            raise ConfigurationError(f"gold_ratio must be in [0, 1], got {gold_ratio}")
        if beam_size < 1:
            raise ConfigurationError(f"beam_size must be at least 1, got {beam_size}")
        if max_decoding_triplets is not None and max_decoding_triplets < 1:
            raise ConfigurationError(f"max_decoding_triplets must be at least 1, got {max_decoding_triplets}")
        if max_decoding_triplets not in (None, max_triplets) and num_decoders > 1:
            raise ConfigurationError("max_decoding_triplets other than max_triplets needs the OneDecoder (num_decoders 1)")
        if entity_starts is None:
            if tagging_head and max_entity_length:
                raise ConfigurationError(
                    "choose one way to complete entities: tagging_head or max_entity_length (or both, with entity_starts)"
                )
            entity_starts = "tags" if tagging_head else "length" if max_entity_length else "last_token"
        if entity_starts not in ENTITY_STARTS:
            raise ConfigurationError(f"entity_starts must be one of {ENTITY_STARTS}, got {entity_starts!r}")
        if (entity_starts == "tags" and not tagging_head) or (entity_starts == "length" and not max_entity_length):
            raise ConfigurationError(
                f"entity_starts {entity_starts!r} needs {'tagging_head' if entity_starts == 'tags' else 'max_entity_length > 0'}"
            )
        embedding_dim = source_embedder.get_output_dim()
        hidden_dim = encoder.get_output_dim()
        if copied_word_embedder is not None:
            if copy_feedback != "word":
                raise ConfigurationError("copied_word_embedder needs copy_feedback 'word' (it embeds the copied word)")
            if copied_word_embedder.get_output_dim() != embedding_dim:
                raise ConfigurationError(
                    f"copied_word_embedder output {copied_word_embedder.get_output_dim()} != source embedder output {embedding_dim}"
                )
        if encoder.get_input_dim() != embedding_dim:
            raise ConfigurationError(
                f"encoder input_size {encoder.get_input_dim()} != embedder output {embedding_dim}"
            )
        self.source_embedder = source_embedder
        self.copied_word_embedder = copied_word_embedder
        # the indexers the copied-word embedder reads
        self._copied_word_keys = frozenset(compat.token_embedders(copied_word_embedder)) if copied_word_embedder else frozenset()
        self.encoder = encoder
        self.dropout = torch.nn.Dropout(dropout)
        self.set_word_dropout(word_dropout)
        self.decoder = TripletDecoder(
            embedding_dim=embedding_dim,
            hidden_dim=hidden_dim,
            num_relations=vocab.get_vocab_size(RELATION_NAMESPACE),
            attention=attention or StepAdditiveAttention(hidden_dim, hidden_dim),
            copy_scorer=CopyScorer(hidden_dim, hidden_dim, copy_scorer, copy_hidden_size),
            max_triplets=max_triplets,
            cell=encoder.cell,
            num_decoders=num_decoders,
            mask_head_at_tail=mask_head_at_tail,
            max_entity_length=max_entity_length,
            na_loss=na_loss,
            length_scorer=length_scorer,
            copy_feedback=copy_feedback,
            output_dropout=decoder_dropout,
        )
        self.entity_starts = entity_starts
        self.set_tagging_head(hidden_dim, tagging_head, tagging_loss_weight)
        self.feeding = feeding
        self.gold_ratio = gold_ratio
        self.beam_size = beam_size
        self.max_decoding_triplets = max_decoding_triplets or max_triplets
        self.block_repeated_triplets = block_repeated_triplets
        self._triplet_f1 = TripletF1(known_relations=vocab.get_token_to_index_vocabulary(RELATION_NAMESPACE))
        initializer(self)

    def forward(
        self,
        source_tokens: TextFieldTensors,
        metadata: List[Dict[str, Any]],
        entity_tags: Optional[torch.Tensor] = None,
        target_relations: Optional[torch.Tensor] = None,
        target_head_ends: Optional[torch.Tensor] = None,
        target_tail_ends: Optional[torch.Tensor] = None,
        target_head_lengths: Optional[torch.Tensor] = None,
        target_tail_lengths: Optional[torch.Tensor] = None,
    ) -> Dict[str, Any]:
        # shape: (batch_size, seq_len)
        mask = util.get_text_field_mask(source_tokens)
        # shape: (batch_size, seq_len, embedding_dim)
        source_tokens = self._drop_words(source_tokens, mask)
        copied_words = None
        if self.copied_word_embedder is not None:
            # the copied-word embedder's indexers apart; the source embedder reads the others
            copied_words = {k: v for k, v in source_tokens.items() if k in self._copied_word_keys}
            source_tokens = {k: v for k, v in source_tokens.items() if k not in self._copied_word_keys}
        embedded = self.dropout(self.source_embedder(source_tokens))
        # shape: (batch_size, seq_len, hidden_dim); state: (batch_size, hidden_dim) each
        encoder_outputs, encoder_state = self.encoder.forward_with_state(embedded, mask)
        encoder_outputs = self.dropout(encoder_outputs)
        if copied_words is not None:
            # shape: (batch_size, seq_len, embedding_dim): what a copy step feeds the decoder
            embedded = self.dropout(self.copied_word_embedder(copied_words))  # type: ignore[misc]

        targets: Optional[Dict[str, torch.Tensor]] = None
        if target_relations is not None and target_head_ends is not None and target_tail_ends is not None:
            targets = {"relations": target_relations, "head_ends": target_head_ends, "tail_ends": target_tail_ends}
            if self.decoder.max_entity_length:
                if target_head_lengths is None or target_tail_lengths is None:
                    raise ConfigurationError("length prediction needs the reader's entity_lengths: true")
                targets["head_lengths"] = target_head_lengths
                targets["tail_lengths"] = target_tail_lengths
            targets = self._without_unseen_relations(targets)
        searched = not self.training and (
            self.beam_size > 1 or self.max_decoding_triplets != self.decoder.max_triplets or self.block_repeated_triplets
        )
        decoded: Dict[str, torch.Tensor] = {}
        if targets is not None or not searched:
            decoded = self.decoder(
                encoder_outputs,
                mask,
                embedded,
                encoder_state,
                targets=targets,
                feeding=self.feeding if self.training else "own",
                gold_ratio=self.gold_ratio,
                early_exit=True,
                # a training step reads the loss alone, and so does validation when another decoding follows
                predictions=not ((self.training or searched) and targets is not None),
            )
        if searched:
            decoded.update(self._search(encoder_outputs, mask, embedded, encoder_state))
        output: Dict[str, Any] = {}
        # shape: (batch_size, seq_len, num_tags)
        head = self.tagging_head
        emissions = head(encoder_outputs) if head is not None else None
        if targets is not None:
            output["loss"] = decoded["loss"]
            if head is not None and emissions is not None and entity_tags is not None:
                output["loss"] = output["loss"] + self.tagging_loss_weight * head.loss(emissions, entity_tags, mask)
            if self.training:
                return output
        output.update(
            predicted_relations=decoded["relations"],
            predicted_head_ends=decoded["head_ends"],
            predicted_tail_ends=decoded["tail_ends"],
        )

        if emissions is not None and not self.training:
            self._predict_tags(output, emissions, entity_tags, mask)
        if self.entity_starts == "tags":
            if head is not None and not self.training:
                starts = head.entity_starts(output["predicted_tags"])
                output["predicted_head_starts"] = self._starts_from(starts, decoded["head_ends"])
                output["predicted_tail_starts"] = self._starts_from(starts, decoded["tail_ends"])
        elif self.entity_starts == "length":
            for role in ("head", "tail"):
                ends = decoded[f"{role}_ends"]
                starts = (ends - decoded[f"{role}_lengths"] + 1).clamp(min=0)
                output[f"predicted_{role}_starts"] = torch.where(ends < 0, -1, starts)
        else:
            output["predicted_head_starts"] = decoded["head_ends"]
            output["predicted_tail_starts"] = decoded["tail_ends"]

        if not self.training:
            output["triplets"] = self._slot_triplets(output)
            self._score_triplets(output, metadata)
        return output

    @staticmethod
    def _without_unseen_relations(targets: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """The decoder targets without the triplets whose relation the vocabulary lacks: the later
        triplets of a sentence move up, in order, and NA slots fill the end."""
        # shape: (batch_size, max_triplets)
        unseen = targets["relations"] == UNSEEN_RELATION
        if not unseen.any():
            return targets
        # a stable sort puts the known triplets first, in their order
        order = torch.sort(unseen.long(), dim=1, stable=True).indices
        moved = unseen.gather(1, order)
        return {
            key: value.gather(1, order).masked_fill(moved, 0 if key.endswith("_lengths") else NA_POSITION)
            for key, value in targets.items()
        }

    def _search(
        self, encoder_outputs: torch.Tensor, mask: torch.BoolTensor, embedded: torch.Tensor, encoder_state: Any
    ) -> Dict[str, torch.Tensor]:
        """Inference other than the training-time greedy pass: beam search, or greedy decoding of
        ``max_decoding_triplets`` triplets or with repeats blocked."""
        if self.beam_size > 1:
            return self.decoder.beam_search(
                encoder_outputs, mask, embedded, encoder_state, self.beam_size, self.max_decoding_triplets,
                block_repeats=self.block_repeated_triplets,
            )
        return self.decoder(
            encoder_outputs, mask, embedded, encoder_state, early_exit=True, num_triplets=self.max_decoding_triplets,
            block_repeats=self.block_repeated_triplets,
        )

    @staticmethod
    def _starts_from(starts: torch.Tensor, ends: torch.Tensor) -> torch.Tensor:
        """The entity start for each copied end position (``-1`` stays NA)."""
        # shape: (batch_size, max_triplets)
        return torch.where(ends < 0, -1, starts.gather(1, ends.clamp(min=0)))
