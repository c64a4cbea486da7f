from typing import Any, Dict, List, Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models import Model
from allennlp.modules import Seq2SeqEncoder, TextFieldEmbedder
from allennlp.nn import InitializerApplicator

from copymtl_allennlp.models.table_filling import TableFillingModel
from copymtl_allennlp.modules.handshaking import ENTITY_TAGS, HEAD_TAGS, TAIL_TAGS, HandshakingKernel, decode_handshaking, handshaking_tags
from copymtl_allennlp.modules.precision import at_least_float32


@Model.register("tplinker")
class TPLinker(TableFillingModel):
    """TPLinker (Wang et al., COLING 2020): one-stage joint extraction by handshaking tagging over
    the token pairs of a sentence (the tag scheme, both ways, in
    :mod:`~copymtl_allennlp.modules.handshaking`), on the package's embedders and encoders.

    The encoder outputs pass the handshaking kernel (``h_ij = tanh(W_h [h_i; h_j] + b_h)``, width
    ``shaking_size``, default the encoder's output width), then three taggers score every pair:
    the entity tag (2 classes), and for each relation the head tag and the tail tag (3 classes
    each; one linear layer per relation, as the paper's). Loss: the cross-entropy of each tag set,
    averaged over the pairs of the batch (every relation's cell for head and tail; a cell with a
    tag other than ``O`` weighs ``positive_weight``, 1 in the paper: the rare links against the
    sea of ``O`` cells), weighted as the released code does: ``L = w_ent L_ent + w_rel (L_head + L_tail)`` with
    ``w_ent = max(1/z + 1 - s/S, 1/z)``, ``w_rel = min((R/z) s/S, R/z)``, ``z = 2R + 1`` at
    training step ``s`` and ``S = loss_weight_recover_steps``: the entity tags, learnt first, then
    hand the weight to the rare relation links. The step count is a buffer of the model, so a
    recovered run continues the schedule.

    Tables, ``positive_weight``, ``max_table_length``, ``max_decoded_triplets`` and
    ``decoding_o_weight``: :class:`~copymtl_allennlp.models.table_filling.TableFillingModel`.
    """

    def __init__(
        self,
        vocab: Vocabulary,
        source_embedder: TextFieldEmbedder,
        encoder: Seq2SeqEncoder,
        shaking_size: Optional[int] = None,
        dropout: float = 0.0,
        word_dropout: float = 0.0,
        loss_weight_recover_steps: int = 6000,
        positive_weight: float = 1.0,
        max_table_length: int = 200,
        max_decoded_triplets: int = 100,
        decoding_o_weight: float = 1.0,
        initializer: InitializerApplicator = InitializerApplicator(),
        **kwargs,
    ) -> None:
        super().__init__(vocab, positive_weight, max_table_length, max_decoded_triplets, decoding_o_weight, **kwargs)
        if loss_weight_recover_steps < 1:
            raise ConfigurationError("loss_weight_recover_steps must be at least 1")
        self.set_encoder(source_embedder, encoder, dropout, word_dropout)
        shaking_size = shaking_size or encoder.get_output_dim()
        self.kernel = HandshakingKernel(encoder.get_output_dim(), shaking_size)
        self.entity_tagger = torch.nn.Linear(shaking_size, len(ENTITY_TAGS))
        # one linear layer a relation, stacked into one (the same function, one product)
        self.head_tagger = torch.nn.Linear(shaking_size, self.num_relations * len(HEAD_TAGS))
        self.tail_tagger = torch.nn.Linear(shaking_size, self.num_relations * len(TAIL_TAGS))
        self.loss_weight_recover_steps = loss_weight_recover_steps
        self.register_buffer("training_steps", torch.zeros((), dtype=torch.long))
        initializer(self)

    def loss_weights(self) -> Tuple[float, float]:
        """``(w_ent, w_rel)`` at the current training step (class docstring)."""
        z = 2 * self.num_relations + 1
        progress = int(self.training_steps) / self.loss_weight_recover_steps
        return max(1 / z + 1 - progress, 1 / z), min(self.num_relations / z * progress, self.num_relations / z)

    def forward(
        self,
        source_tokens: TextFieldTensors,
        metadata: List[Dict[str, Any]],
        target_relations: Optional[torch.Tensor] = None,
        target_spans: Optional[torch.Tensor] = None,
    ) -> Dict[str, Any]:
        # shape: (batch_size, seq_len, encoder_dim), (batch_size, seq_len)
        encoded, mask = self.table_inputs(*self.encode(source_tokens))
        seq_len = encoded.size(1)
        # shape: (batch_size, num_pairs, shaking_size), (batch_size, num_pairs)
        pairs, pair_mask = self.kernel(encoded, mask)
        pairs = self.dropout(pairs)
        batch_size, num_pairs, _ = pairs.shape
        entity_scores = at_least_float32(self.entity_tagger(pairs))
        # shape: (batch_size, num_pairs, num_relations, 3)
        head_scores = at_least_float32(self.head_tagger(pairs)).view(batch_size, num_pairs, self.num_relations, len(HEAD_TAGS))
        tail_scores = at_least_float32(self.tail_tagger(pairs)).view(batch_size, num_pairs, self.num_relations, len(TAIL_TAGS))

        output: Dict[str, Any] = {}
        if target_relations is not None and target_spans is not None:
            entity_tags, head_tags, tail_tags = handshaking_tags(target_relations, target_spans, seq_len, self.num_relations)
            weights = pair_mask.float()
            entity_loss = self.cell_loss(entity_scores, entity_tags, weights)
            relation_weights = weights.unsqueeze(2).expand(-1, -1, self.num_relations)
            head_loss = self.cell_loss(head_scores, head_tags, relation_weights)
            tail_loss = self.cell_loss(tail_scores, tail_tags, relation_weights)
            w_entity, w_relation = self.loss_weights()
            output["loss"] = w_entity * entity_loss + w_relation * (head_loss + tail_loss)
            if self.training:
                self.training_steps += 1
                return output
        lengths = mask.sum(dim=1).tolist()
        predicted = decode_handshaking(
            self.decoded_tags(entity_scores) * pair_mask,
            self.decoded_tags(head_scores) * pair_mask.unsqueeze(2),
            self.decoded_tags(tail_scores) * pair_mask.unsqueeze(2),
            lengths,
            self.max_decoded_triplets,
        )
        self.output_triplets(output, predicted, metadata)
        return output
