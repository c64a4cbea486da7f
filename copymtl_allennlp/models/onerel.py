from typing import Any, Dict, List, Optional

import torch
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models import Model
from allennlp.modules import Seq2SeqEncoder, TextFieldEmbedder
from allennlp.nn import InitializerApplicator

from copymtl_allennlp.models.table_filling import TableFillingModel
from copymtl_allennlp.modules.horns_tagging import HornsTagScorer, decode_horns, horns_tags
from copymtl_allennlp.modules.precision import at_least_float32, flush_subnormal_gradient


@Model.register("onerel")
class OneRel(TableFillingModel):
    """OneRel (Shang et al., AAAI 2022): joint extraction in one module and one step, by
    relation-specific horns tagging of every ordered token pair (the tag scheme, both ways, and
    the score-based classifier in :mod:`~copymtl_allennlp.modules.horns_tagging`), on the
    package's embedders and encoders.

    The encoder outputs (dropout ``dropout``, on the embeddings too) pass the score-based classifier: each pair
    ``(i, j)`` projected to ``pair_size`` (default 3 x the encoder's output width, the paper's),
    dropout ``pair_dropout``, ReLU, then a score for every relation and tag. Loss: the cross-entropy
    of every (pair, relation) cell, averaged over the cells of the batch's sentences (padding pairs
    masked; a cell whose tag is not ``-`` weighs ``positive_weight``, 1 in the paper). Decoding: the
    argmax tag of every cell, then :func:`~copymtl_allennlp.modules.horns_tagging.decode_horns`.

    Tables, ``positive_weight``, ``max_table_length``, ``max_decoded_triplets`` and
    ``decoding_o_weight``: :class:`~copymtl_allennlp.models.table_filling.TableFillingModel`.
    """

    def __init__(
        self,
        vocab: Vocabulary,
        source_embedder: TextFieldEmbedder,
        encoder: Seq2SeqEncoder,
        pair_size: Optional[int] = None,
        dropout: float = 0.0,
        pair_dropout: float = 0.0,
        word_dropout: float = 0.0,
        positive_weight: float = 1.0,
        max_table_length: int = 200,
        max_decoded_triplets: int = 100,
        decoding_o_weight: float = 1.0,
        initializer: InitializerApplicator = InitializerApplicator(),
        **kwargs,
    ) -> None:
        super().__init__(vocab, positive_weight, max_table_length, max_decoded_triplets, decoding_o_weight, **kwargs)
        self.set_encoder(source_embedder, encoder, dropout, word_dropout)
        pair_size = pair_size or 3 * encoder.get_output_dim()
        self.scorer = HornsTagScorer(encoder.get_output_dim(), pair_size, self.num_relations, dropout=pair_dropout)
        initializer(self)

    def forward(
        self,
        source_tokens: TextFieldTensors,
        metadata: List[Dict[str, Any]],
        target_relations: Optional[torch.Tensor] = None,
        target_spans: Optional[torch.Tensor] = None,
    ) -> Dict[str, Any]:
        # shape: (batch_size, seq_len, encoder_dim), (batch_size, seq_len)
        encoded, mask = self.table_inputs(*self.encode(source_tokens))
        # shape: (batch_size, seq_len, seq_len, num_tags, num_relations)
        scores = flush_subnormal_gradient(at_least_float32(self.scorer(encoded)))
        # shape: (batch_size, seq_len, seq_len, 1): both tokens of the pair in the sentence
        pair_mask = (mask.unsqueeze(2) & mask.unsqueeze(1)).unsqueeze(3)

        output: Dict[str, Any] = {}
        if target_relations is not None and target_spans is not None:
            # shape: (batch_size, seq_len, seq_len, num_relations)
            tags = horns_tags(target_relations, target_spans, encoded.size(1), self.num_relations)
            output["loss"] = self.cell_loss(scores, tags, pair_mask.expand_as(tags).float(), class_dim=3)
            if self.training:
                return output
        tags = self.decoded_tags(scores, class_dim=3) * pair_mask
        predicted = decode_horns(tags, mask.sum(dim=1).tolist(), self.max_decoded_triplets)
        self.output_triplets(output, predicted, metadata)
        return output
