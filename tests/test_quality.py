import sys

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import quality  # noqa: E402


def test_the_wall_time_of_a_recovered_run_sums_the_logged_epochs(tmp_path):
    log = tmp_path / "out.log"
    log.write_text(
        "2026-12-06 09:00:28,178 - INFO - allennlp.training.gradient_descent_trainer - Epoch duration: 0:03:55.5\n"
        "2026-12-06 09:05:24,141 - INFO - root - Training interrupted by the user.\n"
        "2026-12-06 10:05:02,061 - INFO - allennlp.training.gradient_descent_trainer - Epoch duration: 1:00:04.25\n"
    )
    # 3 min 55.5 s + 1 h 0 min 4.25 s; the interrupted epoch logs no duration
    assert quality.logged_epoch_seconds(str(log)) == 235.5 + 3604.25
