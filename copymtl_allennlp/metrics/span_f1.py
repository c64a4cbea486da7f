"""The tagging head's span F1 (AllenNLP's ``SpanBasedF1Measure``), aggregated over processes."""
from collections import defaultdict
from typing import Dict, List

import torch.distributed as dist
from allennlp.common.util import is_distributed
from allennlp.training.metrics import Metric, SpanBasedF1Measure


@Metric.register("distributed_span_f1")
class DistributedSpanF1(SpanBasedF1Measure):
    """``SpanBasedF1Measure``, whose ``get_metric`` refuses distributed training, with the counts
    of true positives, false positives and false negatives per span label summed over the
    processes first. In one process it is ``SpanBasedF1Measure`` itself."""

    supports_distributed = True

    def get_metric(self, reset: bool = False) -> Dict[str, float]:
        if not is_distributed():
            return super().get_metric(reset)
        local = [dict(self._true_positives), dict(self._false_positives), dict(self._false_negatives)]
        gathered: List[List[Dict[str, int]]] = [None] * dist.get_world_size()  # type: ignore[list-item]
        dist.all_gather_object(gathered, local)
        totals: List[Dict[str, int]] = [defaultdict(int) for _ in local]
        for process in gathered:
            for total, counts in zip(totals, process):
                for label, count in counts.items():
                    total[label] += count
        true_positives, false_positives, false_negatives = totals
        metrics: Dict[str, float] = {}
        for label in set(true_positives) | set(false_positives) | set(false_negatives):
            precision, recall, f1 = self._compute_metrics(
                true_positives[label], false_positives[label], false_negatives[label]
            )
            metrics[f"precision-{label}"], metrics[f"recall-{label}"], metrics[f"f1-measure-{label}"] = precision, recall, f1
        precision, recall, f1 = self._compute_metrics(
            sum(true_positives.values()), sum(false_positives.values()), sum(false_negatives.values())
        )
        metrics["precision-overall"], metrics["recall-overall"], metrics["f1-measure-overall"] = precision, recall, f1
        if reset:
            self.reset()
        return metrics
