import json
import math
import os
from typing import Any, Dict

import torch
import torch.distributed as dist
from allennlp.common.util import is_distributed
from allennlp.nn import util as nn_util
from allennlp.nn.util import dist_reduce_sum
from allennlp.training.callbacks import TrainerCallback


@TrainerCallback.register("training_set_f1")
class TrainingSetF1(TrainerCallback):
    """After each epoch, decodes up to ``max_sentences`` training sentences (as in evaluation:
    greedy, no autograd) and writes the model's metrics to ``training_set_f1_epoch_<n>.json`` in
    the serialization directory: the training curve of the paper's Fig. 4, which training loss
    alone does not give. In distributed training each process decodes its share of
    ``max_sentences`` from its own shard of the training data. It reads one extra pass of
    (shuffled) training batches, so a run with it is deterministic but not identical to one without.
    """

    def __init__(self, serialization_dir: str, max_sentences: int = 1000) -> None:
        super().__init__(serialization_dir)
        self.max_sentences = max_sentences

    def on_epoch(self, trainer, metrics: Dict[str, Any], epoch: int, is_primary: bool = True, **kwargs) -> None:
        if epoch < 0:
            return
        model = trainer.model
        model.get_metrics(reset=True)
        model.eval()
        # in distributed training every process decodes its share (the metrics sum over processes)
        share = math.ceil(self.max_sentences / (dist.get_world_size() if is_distributed() else 1))
        seen = 0
        with torch.no_grad():
            for batch in trainer.data_loader:
                model(**nn_util.move_to_device(batch, trainer.cuda_device))
                seen += len(batch["metadata"])
                if seen >= share:
                    break
        scores = dict(model.get_metrics(reset=True), sentences=int(dist_reduce_sum(seen)), epoch=epoch)
        model.train()
        if not is_primary:
            return
        with open(os.path.join(self.serialization_dir, f"training_set_f1_epoch_{epoch}.json"), "w") as handle:
            json.dump(scores, handle, indent=1)
