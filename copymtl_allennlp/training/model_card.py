"""A model card beside every archive: what the model is, what it was trained on, its dev figures
with the command that made them, what it is for, and the licences of what went into it.

The card is AllenNLP's :class:`~allennlp.common.model_card.ModelCard`, written in the JSON layout
of allennlp-models' ``modelcards/*.json`` (it loads back with ``ModelCard.from_params``, as
``allennlp_models.pretrained`` loads those). The ``model_card`` callback of every config writes
``model_card.json`` into the serialization directory at the end of training, and the config's
``include_in_archive`` puts it into ``model.tar.gz``; ``copymtl-model-card ARCHIVE`` prints it.
"""
import datetime
import json
import os
import re
import sys
from typing import Any, Dict, Optional

from allennlp.common.model_card import (
    Dataset,
    EvaluationData,
    IntendedUse,
    Metrics,
    ModelCaveatsAndRecommendations,
    ModelCard,
    ModelCardInfo,
    ModelDetails,
    ModelUsage,
    Paper,
    QuantitativeAnalyses,
    TrainingData,
)
from allennlp.training.callbacks import TrainerCallback

from copymtl_allennlp.version import VERSION

CARD_NAME = "model_card.json"

# (copy_scorer, mask_head_at_tail, tagging_head, several decoders, length head) -> the paper's name
SYSTEMS = {
    ("linear", True, False, False, False): "CopyRE-One",
    ("linear", True, False, True, False): "CopyRE-Mul",
    ("selu", False, False, False, False): "CopyRE'",
    ("selu", False, False, False, True): "CopyRE'5",
    ("selu", False, True, False, False): "CopyMTL-One",
    ("selu", False, True, True, False): "CopyMTL-Mul",
}
PAPERS = {
    "copymtl": Paper(
        title="CopyMTL: Copy Mechanism for Joint Extraction of Entities and Relations with Multi-Task Learning (Zeng, Zhang and Liu, AAAI 2020)",
        url="https://arxiv.org/abs/1911.10438",
    ),
    "novel_tagging": Paper(
        title="Joint Extraction of Entities and Relations Based on a Novel Tagging Scheme (Zheng et al., ACL 2017)",
        url="https://aclanthology.org/P17-1113/",
    ),
    # CopyMTL-Set: the copy family's encoder with a set decoder (Sui et al.'s set prediction networks)
    "copymtl_set": Paper(
        title="Joint Entity and Relation Extraction with Set Prediction Networks (Sui et al., arXiv 2020), on CopyMTL's encoder and Eq. 10 scorer",
        url="https://arxiv.org/abs/2011.01675",
    ),
    "tplinker": Paper(
        title="TPLinker: Single-stage Joint Extraction of Entities and Relations Through Token Pair Linking (Wang et al., COLING 2020)",
        url="https://aclanthology.org/2020.coling-main.138/",
    ),
    "onerel": Paper(
        title="OneRel: Joint Entity and Relation Extraction with One Module in One Step (Shang, Huang and Mao, AAAI 2022)",
        url="https://arxiv.org/abs/2203.05412",
    ),
    "graphrel": Paper(
        title="GraphRel: Modeling Text as Relational Graphs for Joint Entity and Relation Extraction (Fu, Li and Ma, ACL 2019)",
        url="https://aclanthology.org/P19-1136/",
    ),
}
DATA_LICENCES = {
    "webnlg": "WebNLG: CC BY-NC-SA 4.0 (the WebNLG challenge release; non-commercial, share alike)",
    "nyt": "NYT (Riedel et al. 2010): derived from the New York Times Annotated Corpus, LDC2008T19, under the LDC licence",
}
VECTOR_LICENCE = "GloVe 6B (Pennington et al. 2014): Public Domain Dedication and License (PDDL 1.0)"
TRANSFORMER_LICENCES = {"sentence-transformers/all-MiniLM-L6-v2": "all-MiniLM-L6-v2: Apache License 2.0"}
CODE_LICENCE = "copymtl-allennlp: Apache License 2.0"


def system_name(model: Dict[str, Any]) -> str:
    """The paper's name of the system a model config builds."""
    kind = model.get("type")
    if kind == "novel_tagging":
        return "NovelTagging (LSTM-LSTM-Bias)"
    if kind == "graphrel":
        return f"GraphRel-{model.get('phases', 2)}p"
    if kind == "copymtl_set":
        return "CopyMTL-Set"
    if kind == "tplinker":
        return "TPLinker"
    if kind == "onerel":
        return "OneRel"
    key = (
        model.get("copy_scorer", "selu"), bool(model.get("mask_head_at_tail", False)), bool(model.get("tagging_head", True)),
        int(model.get("num_decoders", 1)) > 1, int(model.get("max_entity_length", 0)) > 0,
    )
    return SYSTEMS.get(key, "a CopyRE/CopyMTL variant")


def _encoder(model: Dict[str, Any]) -> Dict[str, Any]:
    """What the source embedder and encoder are, and the licences of pretrained parts."""
    embedders = model.get("source_embedder", {}).get("token_embedders", {})
    parts, licences = [], []
    for name, embedder in embedders.items():
        if embedder.get("type") == "pretrained_transformer_mismatched":
            parts.append(f"{embedder['model_name']} (fine-tuned)" if embedder.get("train_parameters", True) else embedder["model_name"])
            licences.append(TRANSFORMER_LICENCES.get(embedder["model_name"], f"{embedder['model_name']}: see its model card"))
        elif embedder.get("type") == "embedding":
            if embedder.get("pretrained_file"):
                parts.append(f"pretrained word vectors {os.path.basename(embedder['pretrained_file'])} ({embedder.get('embedding_dim')}d)")
                licences.append(VECTOR_LICENCE if "glove" in embedder["pretrained_file"].lower() else f"{embedder['pretrained_file']}: its own licence")
            elif name != "pos_tags":
                parts.append(f"a trained {embedder.get('embedding_dim')}d word embedding")
        elif embedder.get("type") == "character_encoding":
            parts.append("character CNN")
    encoder = model.get("encoder", {})
    if encoder.get("type") in ("averaged_bidirectional", "lstm"):
        parts.append(f"BiLSTM ({encoder.get('hidden_size')} a direction)")
    return {"description": " + ".join(parts) or "embeddings", "licences": licences}


def _data_licence(path: Optional[str]) -> str:
    lowered = (path or "").lower()
    for key, licence in DATA_LICENCES.items():
        if key in lowered:
            return licence
    return f"{path}: the licence of your data"


def _training_command() -> str:
    if os.path.basename(sys.argv[0]) == "allennlp":
        return " ".join(["allennlp"] + sys.argv[1:])
    return "(trained from Python: " + " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]) + ")"


def build_model_card(config: Dict[str, Any], metrics: Dict[str, Any], command: str) -> ModelCard:
    """The card of a model trained with ``config`` (the serialization directory's config.json),
    whose final training ``metrics`` (``best_validation_*``, ``best_epoch``) and ``command`` are
    recorded."""
    model = config["model"]
    system = system_name(model)
    encoder = _encoder(model)
    train, dev = config.get("train_data_path"), config.get("validation_data_path")
    epochs = config.get("trainer", {}).get("num_epochs")
    # AllenNLP counts the best epoch from 0; the card counts from 1, as "of {epochs}" reads
    best_epoch = metrics["best_epoch"] + 1 if isinstance(metrics.get("best_epoch"), int) else "-"

    def metric(name: str) -> str:
        value = metrics.get(f"best_validation_{name}")
        return "-" if value is None else f"{value:.3f}"

    decoding = ""
    if model.get("type", "copymtl") == "copymtl":
        decoding = (
            f" Decoding: beam {model.get('beam_size', 1)}, up to {model.get('max_decoding_triplets') or model.get('max_triplets', 5)}"
            f" triplets a sentence (training targets keep {model.get('max_triplets', 5)})."
        )
    elif model.get("type") == "copymtl_set":
        decoding = f" Decoding: every non-NA slot of {model.get('num_slots', 10)} gives a triplet (entities: the best valid spans)."
    licences = [_data_licence(train)] + encoder["licences"] + [CODE_LICENCE]
    return ModelCard(
        id="copymtl-allennlp-" + re.sub(r"[^a-z0-9]+", "-", f"{model.get('type', 'copymtl')} {system.lower().replace(chr(39), ' prime')}").strip("-"),
        registered_model_name=model.get("type"),
        registered_predictor_name="copymtl",
        display_name=f"{system}, {encoder['description']}",
        task_id="joint-entity-relation-extraction",
        model_details=ModelDetails(
            description=(
                f"{system} extracts (relation, head, tail) triplets with full multi-token entities from a sentence;"
                f" encoder: {encoder['description']}." + decoding
            ),
            short_description=f"{system} triplet extractor ({encoder['description']})",
            developed_by="copymtl-allennlp",
            date=datetime.date.today().isoformat(),
            version=VERSION,
            model_type=system,
            paper=PAPERS.get(model.get("type", "copymtl")),
            license="; ".join(licences),
        ),
        intended_use=IntendedUse(
            primary_uses=(
                "Extracting (relation, head, tail) triplets from English sentences like the training data, for the relations"
                " seen in training; research comparisons with the published systems."
            ),
            primary_users="NLP researchers and engineers.",
            out_of_scope_use_cases=(
                "Relations that training never saw (never predicted); other languages and domains without retraining;"
                " decisions about people without human review. The data licence may forbid commercial use."
            ),
        ),
        metrics=Metrics(
            model_performance_measures=(
                "Strict F1 (the paper's): a triplet is right when its relation and every token position of both entities are;"
                " text F1 (the field's exact match on words); lenient F1 (CopyRE's, last tokens only)."
            ),
        ),
        evaluation_data=EvaluationData(
            dataset=Dataset(name=os.path.basename(os.path.dirname(dev or "")) or dev, notes=f"dev split: {dev}"),
            motivation="Model selection on dev (the best epoch by strict F1); test splits are held back.",
        ),
        training_data=TrainingData(
            dataset=Dataset(name=os.path.basename(os.path.dirname(train or "")) or train, notes=f"{train}; {_data_licence(train)}"),
            preprocessing="Vocabulary (words, characters, relations) from the training data alone.",
        ),
        quantitative_analyses=QuantitativeAnalyses(
            unitary_results=(
                f"dev strict P / R / F1 {metric('precision')} / {metric('recall')} / {metric('f1')}, text F1 {metric('text_f1')},"
                f" best epoch {best_epoch} of {epochs} (seed {config.get('random_seed')}), as validated"
                f" during training with the config's decoding. Command: {command}"
            ),
        ),
        model_caveats_and_recommendations=ModelCaveatsAndRecommendations(
            caveats_and_recommendations=(
                "Dev figures, one seed; published systems report test. Words that training never saw read as the unknown word"
                " unless the vocabulary is extended with pretrained vectors (allennlp evaluate --extend-vocab; predictor"
                " argument vectors)."
            ),
        ),
        model_usage=ModelUsage(
            install_instructions=(
                "make install (and make vectors or make transformer for pretrained embeddings); then"
                " allennlp predict model.tar.gz input.jsonl --include-package copymtl_allennlp,"
                " or copymtl_allennlp.load_extractor('model.tar.gz')"
            ),
        ),
    )


def card_to_json(card: ModelCard) -> Dict[str, Any]:
    """The nested JSON layout of allennlp-models' ``modelcards/*.json``."""

    def value(item: Any) -> Any:
        if isinstance(item, ModelCardInfo):
            return {k: value(v) for k, v in vars(item).items()}
        return item

    return {key: value(item) for key, item in vars(card).items()}


def card_from_json(data: Dict[str, Any]) -> ModelCard:
    """Reads a card back as ``allennlp_models.pretrained`` reads its model cards."""
    from allennlp.common import Params

    return ModelCard.from_params(Params(json.loads(json.dumps(data))))


@TrainerCallback.register("model_card")
class ModelCardCallback(TrainerCallback):
    """Writes ``model_card.json`` (:func:`build_model_card`) into the serialization directory at
    the end of training, from the directory's config.json and the final metrics."""

    def on_end(self, trainer, metrics: Optional[Dict[str, Any]] = None, epoch: Optional[int] = None, is_primary: bool = True, **kwargs) -> None:
        if not is_primary or metrics is None:
            return
        config_path = os.path.join(self.serialization_dir, "config.json")
        if not os.path.isfile(config_path):
            return
        with open(config_path, encoding="utf-8") as handle:
            config = json.load(handle)
        card = card_to_json(build_model_card(config, metrics, _training_command()))
        with open(os.path.join(self.serialization_dir, CARD_NAME), "w", encoding="utf-8") as handle:
            json.dump(card, handle, indent=2)
