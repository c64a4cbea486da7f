"""Every place the package relies on a private or undocumented part of torch or AllenNLP, in one
module. Each function names what it assumes; ``tests/test_compat.py`` pins each assumption with a
test of its own, so an upgrade of torch or AllenNLP fails in a test that names what changed
instead of deep inside training.

| assumption | used by |
|---|---|
| ``torch.ops.mkldnn._reorder_linear_weight`` / ``_linear_pointwise`` (oneDNN packed products) | ``modules/cpu_lstm.py`` |
| ``torch.lstm``'s positional signature (input, hx, weights, has_biases, layers, dropout, train, bidirectional, batch_first) | ``modules/cpu_lstm.py`` |
| ``ConditionalRandomField._constraint_mask`` (the allowed transitions, start and end rows last) | ``modules/tagging_head.py`` |
| ``BasicTextFieldEmbedder._token_embedders`` and its module names ``token_embedder_<key>`` | ``models/copymtl.py``, ``models/triplet_model.py`` |
| ``Embedding._vocab_namespace`` | ``models/triplet_model.py`` |
| ``Vocabulary._token_to_index`` / ``_index_to_token`` / ``_oov_token`` | ``models/triplet_model.py`` |
| ``LabelField._label_id`` / ``_label_namespace`` | ``data/namespaces.py`` |
| ``SequenceLabelField._indexed_labels`` / ``_label_namespace`` | ``dataset_readers/novel_tagging.py`` |
| ``MovingAverage._parameters`` / ``_shadows`` (the averaged parameters by name, their averages) | ``training/moving_average.py`` |
| ``GradientDescentTrainer._epochs_completed`` / ``_start_after_epochs_completed`` / ``data_loader`` | ``training/random_state.py`` |
| ``FromParams`` reads a constructor's ``__signature__`` | ``training/mixed_precision.py`` |
| ``allennlp predict``'s ``_PredictManager._input_file`` | ``predictors/copymtl.py`` |
"""
import inspect
from typing import Any, Callable, Dict, Optional, Tuple

import torch


# -- torch ------------------------------------------------------------------------------------

def onednn_packed_linear_available() -> bool:
    """Whether torch has oneDNN's packed-weight linear operators (private ``torch.ops.mkldnn``)."""
    return (
        torch.backends.mkldnn.is_available()
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
        and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    )


def onednn_packed_linear(weight: torch.Tensor, rows: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> x weight^T`` with ``weight`` (out, in) reordered once into oneDNN's blocked layout for
    inputs of ``rows`` rows."""
    packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach(), rows)
    return lambda x: torch.ops.mkldnn._linear_pointwise(x, packed, None, "none", [], "")


def fused_lstm(
    inputs: torch.Tensor, state: Tuple[torch.Tensor, torch.Tensor], weights: list, train: bool
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """torch's fused LSTM (``torch.lstm``, oneDNN on a CPU) for one layer, one direction, time-major,
    weights ``[W_ih, W_hh, b_ih, b_hh]``: (outputs, h_n, c_n)."""
    return torch.lstm(inputs, state, weights, True, 1, 0.0, train, False, False)


# -- AllenNLP ---------------------------------------------------------------------------------

def crf_constraint_mask(crf: torch.nn.Module) -> torch.Tensor:
    """The CRF's allowed transitions, (num_tags + 2, num_tags + 2), the start and end tags last."""
    return crf._constraint_mask  # type: ignore[return-value]


EMBEDDER_MODULE_PREFIX = "token_embedder_"  # how BasicTextFieldEmbedder names its token embedders


def token_embedders(embedder: torch.nn.Module) -> Dict[str, torch.nn.Module]:
    """The token embedders of a ``BasicTextFieldEmbedder`` by indexer key."""
    return dict(embedder._token_embedders)  # type: ignore[arg-type]


def embedding_namespace(embedding: torch.nn.Module) -> str:
    """The vocabulary namespace an AllenNLP ``Embedding`` reads."""
    return embedding._vocab_namespace  # type: ignore[return-value]


def oov_token(vocab: Any) -> str:
    return vocab._oov_token


def truncate_namespace(vocab: Any, namespace: str, size: int) -> None:
    """Removes the entries of ``namespace`` from index ``size`` on (Vocabulary has no public call
    for it)."""
    index_to_token = vocab._index_to_token[namespace]
    token_to_index = vocab._token_to_index[namespace]
    for index in range(size, len(index_to_token)):
        del token_to_index[index_to_token.pop(index)]


def label_field_state(field: Any) -> Tuple[Optional[int], str]:
    """A ``LabelField``'s index (None before indexing) and namespace."""
    return field._label_id, field._label_namespace


def set_label_id(field: Any, label_id: int) -> None:
    field._label_id = label_id


def sequence_label_field_state(field: Any) -> Tuple[Optional[list], str]:
    """A ``SequenceLabelField``'s indices (None before indexing) and namespace."""
    return field._indexed_labels, field._label_namespace


def set_sequence_labels(field: Any, labels: list) -> None:
    """Replaces the labels of a ``SequenceLabelField`` not yet indexed (``labels`` is a slot)."""
    field.labels = labels


def moving_average_shadows(average: Any) -> Tuple[list, Dict[str, torch.Tensor]]:
    """An AllenNLP ``MovingAverage``'s parameter names, and its shadows (the averages) by parameter
    name: the live dictionary."""
    return [name for name, _ in average._parameters], average._shadows


def trainer_epochs(trainer: Any) -> Tuple[int, int]:
    """A ``GradientDescentTrainer``'s (epochs completed, epochs completed when the run started: the
    recovered epoch count with ``--recover``)."""
    return trainer._epochs_completed, trainer._start_after_epochs_completed


def set_signature(function: Callable, signature: inspect.Signature) -> None:
    """Gives ``function`` the signature AllenNLP's ``FromParams`` reads (``inspect.signature``
    honours ``__signature__``)."""
    function.__signature__ = signature  # type: ignore[attr-defined]


def predict_input_file_of_caller(frames_up: int) -> Optional[str]:
    """The input file of the ``allennlp predict`` run (``_PredictManager``) whose method is the
    caller ``frames_up`` frames above this function's caller, or ``None`` (standard input, another
    caller): ``_PredictManager`` keeps its file as ``_input_file``."""
    import sys

    from allennlp.commands.predict import _PredictManager

    manager = sys._getframe(frames_up + 1).f_locals.get("self")
    if not isinstance(manager, _PredictManager):
        return None
    path = getattr(manager, "_input_file", None)
    return None if path in (None, "-") else path
