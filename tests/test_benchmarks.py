"""Smoke test of the real-data benchmark: its quick mode runs end to end from a clone."""

import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench_real_data():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_real_data

        yield bench_real_data
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_quick_real_data_benchmark_scores_every_model_on_every_kind(bench_real_data, capsys):
    results = bench_real_data.main(["--quick", "--data", "mixed5", "enb2012"])
    assert set(results) == {"mixed5 classification", "mixed5 regression", "enb2012 regression"}
    for table in results.values():
        assert set(table) == {"per-task linear", "per-task forest", "per-task boosting", "sklearn_mtl defaults"}
        for row in table.values():
            assert np.isfinite(row["mean"]) and row["fit_s"] > 0
    printed = capsys.readouterr().out
    assert printed.count("wins") == 3 and "mixed5, 3 classification tasks" in printed


def test_quick_benchmark_averages_splits_and_scores_the_rare_positive_set_by_prc_auc(bench_real_data, capsys):
    results = bench_real_data.main(
        ["--quick", "--data", "tox21_rare", "--seeds", "0", "1", "--skip-baselines", "--config", "previous"]
    )
    table = results["tox21_rare classification"]
    assert set(table) == {"sklearn_mtl defaults", "previous"}
    assert all(np.isfinite(row["mean"]) and row["std"] >= 0 and row["epochs"] == 3 for row in table.values())
    assert "mean PRC-AUC" in capsys.readouterr().out
    from real_data_panel import keep_few_positives

    Y = np.where(np.random.RandomState(0).rand(500, 3) < 0.3, 1.0, 0.0)
    kept = keep_few_positives(Y, n_positives=25)
    assert ((kept == 1).sum(axis=0) == 25).all() and ((kept == 0) == (Y == 0)).all()


def test_random_states_are_averaged_with_the_splits(bench_real_data, capsys):
    argv = ["--quick", "--data", "enb2012", "--skip-baselines", "--seeds", "0"]
    one = [bench_real_data.main([*argv, "--random-states", str(state)]) for state in (0, 1)]
    both = bench_real_data.main([*argv, "--random-states", "0", "1"])["enb2012 regression"]["sklearn_mtl defaults"]
    means = [run["enb2012 regression"]["sklearn_mtl defaults"]["mean"] for run in one]
    assert means[0] != means[1] and np.isclose(both["mean"], np.mean(means))
    assert "means over 2 fits (split seeds 0; random states 0 1; test)" in capsys.readouterr().out


def test_panel_split_is_the_documented_permutation(bench_real_data):
    from real_data_panel import train_test_indices

    train, test = train_test_indices(100)
    order = np.random.RandomState(0).permutation(100)
    assert np.array_equal(test, order[90:]) and np.array_equal(train, order[:90])


def test_quick_mixed_mode_scores_the_all_task_model_in_each_kinds_table(bench_real_data):
    results = bench_real_data.main(["--quick", "--mixed", "--skip-baselines", "--data", "mixed5"])
    for kind in ("classification", "regression"):
        table = results[f"mixed5 {kind}"]
        assert set(table) == {"sklearn_mtl defaults", "sklearn_mtl defaults (all tasks)"}
        assert np.isfinite(table["sklearn_mtl defaults (all tasks)"]["mean"])
    assert len(results["mixed5 classification"]["sklearn_mtl defaults (all tasks)"]["per_task"]) == 3


def test_quick_scale_benchmark_times_the_package_beside_the_reference_loops():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_scale

        results = bench_scale.main(["--quick"])
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert set(results["sparse_input"]) == {
        "EmbeddingBag + SparseAdam loop",
        "sklearn_mtl (sparse first layer)",
        "densified batches loop",
    }
    assert all(seconds > 0 for seconds in results["sparse_input"].values())
    first_layer = results["first_layer"]  # every path the rule can take, timed, and which it takes
    assert all(first_layer[width]["dense"] > 0 and first_layer[width]["sparse"] > 0 for width in (2000, 10_000))
    assert first_layer["dense-0.02"]["rule"] == "non-zeros" and first_layer["dense-0.4"]["rule"] == "nn.Linear"


def test_quick_sharing_regimes_benchmark_scores_every_model_and_keeps_the_panel():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_sharing_regimes

        results = bench_sharing_regimes.main(["--quick", "--splits", "1", "--check"])
    finally:
        sys.path.remove(str(BENCHMARKS))
    for regime in bench_sharing_regimes.REGIMES:
        means = results[regime]["means"]
        assert "defaults (task_sharing='auto')" in means and "pooled network" in means
        assert all(np.isfinite(value) for value in means.values())
        assert sum(results[regime]["choices"].values()) == 1
    # the fingerprint panel's training parts make no choice: the defaults' model is the earlier one
    assert results["tox21 check"] is False and results["physchem3 check"] is False


def test_quick_sharing_benchmark_times_towers_beside_separate_models():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_sharing

        results = bench_sharing.main(["--quick"])
    finally:
        sys.path.remove(str(BENCHMARKS))
    for row in results.values():
        assert row["towers_s"] > 0 and row["separate_s"] > 0 and all(0.5 <= auc <= 1 for auc in row["auc"])


def test_quick_fit_speed_benchmark_times_every_lever():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_fit_speed

        results = bench_fit_speed.main(["--quick"])
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert list(results) == [
        "previous step",
        "+ O(non-zeros) first layer",
        "+ cheap dropout masks",
        "+ L2 in Adam's weight decay",
    ]
    assert all(seconds > 0 for seconds in results.values())


def test_predict_benchmark_times_the_package_onnxruntime_mlp_and_the_bare_module(capsys):
    pytest.importorskip("onnxruntime")
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_predict

        results = bench_predict.main(["--rows", "1", "10", "--budget", "0.01"])
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert set(results) == {(shape, rows) for shape in ("fingerprints", "tabular") for rows in (1, 10)}
    for times in results.values():
        assert set(times) == {"sklearn_mtl", "onnxruntime", "MLP", "bare"}
        assert all(0 < best <= median for best, median in times.values())
    assert capsys.readouterr().out.count("x") >= 8


def test_uncertainty_benchmark_reports_calibration_and_coverage(capsys):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_uncertainty

        results = bench_uncertainty.main(["--rows", "500", "--seeds", "0", "--data", "tox21", "enb2012"])
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert {"network", "sigmoid", "temperature", "isotonic", "sets"} <= set(results["tox21"])
    intervals = {"sklearn_mtl", "ensemble_size=5, normalized", "per-task Ridge", "per-task forest"}
    assert set(results["enb2012"]) == intervals | {"one network", "ensemble_size=5"}
    for label in intervals:
        coverage, lowest, width = results["enb2012"][label][0]
        assert 0 <= lowest <= coverage <= 1 and width > 0
    seconds, r2, spearman = results["enb2012"]["ensemble_size=5"][0]
    assert seconds > 0 and r2 > 0.5 and -1 <= spearman <= 1
    assert "coverage" in capsys.readouterr().out


def test_distributed_benchmark_times_one_and_two_processes(capsys):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_distributed

        results = bench_distributed.main(["--nproc", "2", "--epochs", "1", "--rows", "1024", "--batch-size", "512"])
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert set(results) == {1, 2} and all(seconds > 0 for seconds in results.values())
    assert "speed-up" in capsys.readouterr().out


def test_against_commit_fits_both_packages_in_fresh_processes_and_removes_its_worktree(bench_real_data, capsys):
    import subprocess
    import tempfile

    import bench_against_commit

    def worktrees():
        # the paths of the worktrees in the temporary directory, where the benchmark makes its own:
        # others' worktrees and their commits (which the plain listing shows) may change meanwhile
        command = ["git", "worktree", "list", "--porcelain"]
        listed = subprocess.run(command, cwd=BENCHMARKS, capture_output=True, text=True, check=True).stdout
        paths = [line.removeprefix("worktree ") for line in listed.splitlines() if line.startswith("worktree ")]
        return {path for path in paths if Path(path).resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())}

    before = worktrees()
    summary = bench_against_commit.main(["HEAD", "--data", "enb2012", "--seeds", "0"])
    rows = summary["enb2012 regression"]
    assert set(rows) == {"HEAD", "this checkout"}
    for (result,) in rows.values():
        assert np.isfinite(result["score"]) and result["score"] > 0.9 and result["fit_s"] > 0 and result["epochs"] > 0
    assert "speed-up" in capsys.readouterr().out
    assert worktrees() == before


def test_quick_narrow_inputs_benchmark_scores_each_set_by_its_kinds_metric(bench_real_data, capsys):
    import bench_narrow_inputs

    results = bench_narrow_inputs.main(["--quick", "--seeds", "0", "--config", 'alpha0={"alpha": 0.0}'])
    assert set(results) == {"diabetes", "breast_cancer", "wine", "digits"}
    for scores in results.values():
        assert set(scores) == {"boosting", "defaults", "alpha0"} and all(np.isfinite(v) for v in scores.values())
    assert 0.5 < results["breast_cancer"]["boosting"] <= 1.0
    printed = capsys.readouterr().out
    assert "ROC-AUC" in printed and "accuracy" in printed


def test_quick_raw_inputs_benchmark_fits_every_set_as_a_user_has_it(bench_real_data, capsys):
    import bench_raw_inputs
    from real_data_panel import parkinsons_time, time_split_indices

    results = bench_raw_inputs.main(["--quick", "--data", "parkinsons", "sider_rdkit2d"])
    for table in results.values():
        assert set(table) == {
            "per-task boosting (raw X)",
            "per-task linear (scaled)",
            "defaults (raw X)",
            "input_transform='none' (raw X)",
            "StandardScaler + defaults",
        }
        assert np.isfinite(table["defaults (raw X)"]["mean"])
        assert np.isfinite(table["per-task boosting (raw X)"]["mean"])
    assert "parkinsons: 42 regression tasks, 18 raw columns" in capsys.readouterr().out
    # each patient's recordings: the earlier ones to train, the later ones to test
    train, test = time_split_indices("parkinsons", np.arange(5875))
    assert len(train) + len(test) == 5875 and not set(train) & set(test)
    patients, times = parkinsons_time()
    for patient in np.unique(patients):
        assert times[train][patients[train] == patient].max() <= times[test][patients[test] == patient].min()


def test_quick_benchmark_runs_the_sparse_rare_positive_set(bench_real_data, capsys):
    results = bench_real_data.main(["--quick", "--data", "muv", "--baselines", "linear"])
    table = results["muv classification"]
    assert set(table) == {"per-task linear", "sklearn_mtl defaults"}
    # 600 rows hold a positive of few tasks, if any: the smoke test asks for a run, not a figure
    assert all(np.isnan(row["mean"]) or 0 <= row["mean"] <= 1 for row in table.values())
    assert "mean PRC-AUC" in capsys.readouterr().out


def test_quick_chemprop_benchmark_runs_the_package_side_from_smiles(capsys):
    pytest.importorskip("skfp")
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_chemprop
    finally:
        sys.path.remove(str(BENCHMARKS))
    results = bench_chemprop.main(["--quick", "--data", "physchem3", "--seeds", "0", "1", "--features", "ecfp"])
    runs = results["physchem3"]["sklearn_mtl ecfp"]
    assert runs.shape == (2, 3) and np.isfinite(runs).all() and (runs[:, 1:] > 0).all()
    assert "means over 2 splits" in capsys.readouterr().out
