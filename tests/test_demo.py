"""Smoke test of ``make demo``'s script: its quick mode runs end to end and ends with the summary line."""

import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_quick_demo_scores_every_model_and_prints_the_summary(capsys):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import demo_tox21

        ours, others = demo_tox21.main(["--quick"])
    finally:
        sys.path.remove(str(EXAMPLES))
    assert set(others) == {"same network, missing = 0", "same network, complete rows", "per-task logistic regression"}
    assert 0.0 <= ours <= 1.0 and all(0.0 <= score <= 1.0 for score in others.values())
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f"summary: sklearn_mtl {ours:.4f}, best other {max(others.values()):.4f}")
