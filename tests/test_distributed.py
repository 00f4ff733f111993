"""Data-parallel fits under ``torchrun`` (two processes, gloo): the model equals the one-process
model to float rounding, every rank holds the same model and history, and what is not supported
yet is a clear error. The runs are subprocesses: a process group cannot be set up and torn down
inside pytest's own process without leaking into other tests."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _torchrun(script, *args, timeout=300):
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    # a session of its own: on a timeout, the launcher and its workers are ended together (killing the
    # launcher alone left the workers of a hung run behind)
    run = subprocess.Popen(
        [*command, str(script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=True,
    )
    try:
        stdout, stderr = run.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        run.communicate()
        raise
    assert run.returncode == 0, stdout[-3000:] + stderr[-3000:]
    return stdout


def _import(path):
    sys.path.insert(0, str(path.parent))
    try:
        return __import__(path.stem)
    finally:
        sys.path.remove(str(path.parent))


@pytest.mark.parametrize("rows", ["all", "own"])
def test_the_example_fits_the_one_process_model(tmp_path, rows):
    out = tmp_path / "outputs.npy"
    printed = _torchrun(ROOT / "examples" / "distributed_fit.py", "--rows", rows, "--out", out)
    assert "every rank holds the same model: True" in printed
    example = _import(ROOT / "examples" / "distributed_fit.py")
    X, y, _ = example.data()
    one_process = example.model(rows).fit(X, y)  # distributed_rows is ignored in one process
    np.testing.assert_allclose(np.load(out), one_process._forward(X).numpy(), atol=1e-6, rtol=0)


def test_stopping_sparse_inputs_ensembles_towers_and_clear_errors(tmp_path):
    out = tmp_path / "checks.json"
    printed = _torchrun(ROOT / "tests" / "distributed" / "checks.py", out)
    # the verbose fit's lines come from rank 0 alone
    assert printed.count("MaskedMultiTaskClassifier: 240 rows") == 1 and printed.count("done: 6 epochs of 6") == 1
    results = json.loads(out.read_text())
    checks = _import(ROOT / "tests" / "distributed" / "checks.py")
    fits, _ = checks.cases()
    for name, (estimator, X, y) in fits.items():
        estimator.fit(X, y)
        assert results[name]["same"], name  # every rank: the same outputs and history
        assert results[name]["epochs"] == estimator.n_iter_, name  # the same stopping decision
        np.testing.assert_allclose(results[name]["outputs"], estimator._forward(X).numpy(), atol=1e-6, err_msg=name)
    assert 6 < results["early_stopping"]["epochs"] < 40  # it stopped early, on both ranks alike
    errors = results["errors"]
    assert "does not yet support task_weighting='uncertainty'" in errors["task_weighting"]
    assert "does not yet support sampling='task_balanced'" in errors["sampling"]
    assert "distributed_rows='own' does not yet hold a validation split out" in errors["own_validation"]
    assert "does not yet support partial_fit" in errors["partial_fit"]


def test_a_fault_on_one_rank_stops_every_rank_at_once(tmp_path):
    """Without the error flags, the first fault left the other rank waiting in a collective for gloo's
    30-minute timeout; here each fault must end both ranks within a minute, and the whole run, six
    faults and a fit, within five (it takes about 30 s on an idle machine; two minutes failed it on a
    machine loaded five times over)."""
    out = tmp_path / "faults.json"
    _torchrun(ROOT / "tests" / "distributed" / "faults.py", out, timeout=300)
    results = json.loads(out.read_text())
    nan_in_X = "Input X contains NaN"
    expected = {  # the failing rank, and the error it raised
        "bad_row": (1, f"ValueError: {nan_in_X}"),
        "epoch_callback": (1, "RuntimeError: on_epoch_end failed on rank 1"),  # mid-fit, at an epoch's end
        "batch_callback": (0, "RuntimeError: on_batch_end failed on rank 0"),  # mid-epoch
        "last_epoch_callback": (1, "RuntimeError: on_epoch_end failed on rank 1"),  # after the last step
        "step": (1, "RuntimeError: the step failed on rank 1"),  # a forward pass
    }
    for name, (failing, error) in expected.items():
        ranks = results[name]
        assert ranks[failing]["error"].startswith(error), name
        other = ranks[1 - failing]["error"]
        kind = "DistributedValueError" if error.startswith("ValueError") else "DistributedFitError"
        assert other.startswith(f"{kind}: Data-parallel fit stopped: rank {failing} failed with {error}"), name
        assert not ranks[0]["fitted"] and not ranks[1]["fitted"], name  # a failed fit leaves no model behind
        assert max(rank["seconds"] for rank in ranks) < 60, name
    # a bad label on one rank's rows: the tasks are described from every rank's labels, so both ranks say it
    for rank in results["bad_label"]:
        assert rank["error"].startswith("ValueError: Input y contains infinity") and "in task 1" in rank["error"]
    # the process group is still usable: the next fit trains, and both ranks hold the same model
    fitted = results["no_fault"]
    assert fitted[0]["error"] is None and fitted[0]["outputs"] == fitted[1]["outputs"]
