"""The robustness runner (.ci/robustness.py): configurations, the rule, checked cells, records."""

import importlib.util
import json
import statistics
from pathlib import Path

import nbformat
import pytest

_path = Path(__file__).resolve().parent.parent / ".ci" / "robustness.py"
_spec = importlib.util.spec_from_file_location("robustness", _path)
robustness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(robustness)


def _record(config, values, notebook="04_training"):
    claims = [
        {"name": n, "value": v, "op": ">=", "threshold": 0.9, "margin": v - 0.9} for n, v in values
    ]
    return {"config": config, "notebook": notebook, "claims": claims, "error": None}


def test_worst_margin_and_spread_over_runs():
    records = [_record("seed0", [("acc", 0.97)]), _record("seed1", [("acc", 0.95)])]
    row = robustness.tabulate(records, ["seed0", "seed1"])[("04_training", "acc")]
    assert row["worst"] == pytest.approx(0.05)
    assert row["spread"] == pytest.approx(0.02)
    assert row["ok"]  # 0.05 >= max(0.02 / 2, 3 x 1.48 x MAD 0.01)


def test_a_margin_below_half_the_spread_breaks_the_rule():
    records = [_record("seed0", [("acc", 0.99)]), _record("seed1", [("acc", 0.91)])]
    row = robustness.tabulate(records, ["seed0", "seed1"])[("04_training", "acc")]
    assert row["worst"] == pytest.approx(0.01) and row["spread"] == pytest.approx(0.08)
    assert not row["ok"]


def test_the_rule_asks_for_three_robust_standard_deviations():
    # 20 runs: 19 agree closely, one outlier sets the spread. Half the spread (0.025) would pass
    # a worst margin of 0.03; three robust standard deviations of the bulk ask for more.
    values = [0.95 + 0.004 * (i % 5 - 2) for i in range(19)] + [0.93]
    records = [_record(f"seed{i}", [("acc", v)]) for i, v in enumerate(values)]
    row = robustness.tabulate(records, [f"seed{i}" for i in range(20)])[("04_training", "acc")]
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    assert row["mad"] == pytest.approx(mad)
    assert row["required"] == pytest.approx(max(row["spread"] / 2, 3 * 1.48 * mad))
    assert row["worst"] == pytest.approx(0.03) and row["ok"]  # 0.03 >= 3 x 1.48 x 0.004 = 0.018
    # a wider bulk with the same worst run: half the spread is small, the robust sd is not
    wide = [0.95 + 0.01 * (i % 5 - 2) for i in range(19)] + [0.93]
    records = [_record(f"seed{i}", [("acc", v)]) for i, v in enumerate(wide)]
    row = robustness.tabulate(records, [f"seed{i}" for i in range(20)])[("04_training", "acc")]
    assert row["worst"] == pytest.approx(0.03) and row["spread"] / 2 < 0.03
    assert row["required"] == pytest.approx(3 * 1.48 * 0.01) and not row["ok"]


def test_min_median_max_and_failures_are_counted():
    records = [_record(f"seed{i}", [("acc", v)]) for i, v in enumerate([0.95, 0.97, 0.85])]
    row = robustness.tabulate(records, ["seed0", "seed1", "seed2"])[("04_training", "acc")]
    assert (row["min"], row["median"], row["max"]) == (0.85, 0.95, 0.97)
    assert row["failed"] == 1 and not row["ok"]
    assert robustness.verdict(row) == "**fails in 1 of 3**"


def test_a_claim_missing_from_a_run_is_flagged():
    records = [_record("seed0", [("acc", 0.97)]), _record("seed1", [])]
    row = robustness.tabulate(records, ["seed0", "seed1"])[("04_training", "acc")]
    assert row["missing"] == ["seed1"] and not row["ok"]


def test_a_configuration_that_did_not_run_is_not_missing():
    records = [_record("seed0", [("acc", 0.97)])]  # a survey stopped before seed1
    row = robustness.tabulate(records, ["seed0", "seed1"])[("04_training", "acc")]
    assert row["missing"] == [] and row["ok"]


def test_repeated_names_are_kept_apart():
    records = [_record("seed0", [("gain", 0.95), ("gain", 0.99)])]
    rows = robustness.tabulate(records, ["seed0"])
    assert set(rows) == {("04_training", "gain"), ("04_training", "gain (2)")}


def test_every_configuration_sets_what_it_says():
    assert robustness.CONFIGS["seed3"] == {"SPIKELEARN_SEED": "3"}
    assert robustness.CONFIGS["sse41-1thread"]["ONEDNN_MAX_CPU_ISA"] == "SSE41"
    assert robustness.CONFIGS["sse41-1thread"]["OMP_NUM_THREADS"] == "1"
    assert robustness.CONFIGS["avx2"]["MKL_CBWR"] == "AVX2"
    env = robustness.config_env("avx2-1thread-seed123456")
    assert env["SPIKELEARN_SEED"] == "123456" and env["MKL_NUM_THREADS"] == "1"
    assert env["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    # a variable set outside must not leak into a run that does not set it
    assert set(robustness.CLEARED) >= {k for env in robustness.CONFIGS.values() for k in env}
    with pytest.raises(ValueError, match="unknown part 'sse42'"):
        robustness.config_env("sse42-seed1")


def test_the_survey_is_20_seeds_and_5_per_emulated_cpu_on_one_thread():
    survey = robustness.expand("survey")
    assert survey[:20] == [f"seed{s}" for s in range(20)]
    assert [c for c in survey if "sse41" in c] == [f"sse41-1thread-seed{s}" for s in range(5)]
    assert [c for c in survey if "avx2" in c] == [f"avx2-1thread-seed{s}" for s in range(5)]
    assert len(survey) == 30
    assert robustness.expand("seed1,seed1,seed2..3") == ["seed1", "seed2", "seed3"]
    assert robustness.expand("all") == list(robustness.CONFIGS)


def test_checked_text_ignores_how_the_kernel_split_a_stream_and_figures():
    one = [
        {"output_type": "stream", "name": "stdout", "text": "a = 1\nb = 2\n"},
        {"output_type": "display_data", "data": {"image/png": "AAA", "text/plain": "<Figure>"}},
    ]
    two = [
        {"output_type": "stream", "name": "stdout", "text": "a = 1\n"},
        {"output_type": "display_data", "data": {"image/png": "BBB", "text/plain": "<Figure>"}},
        {"output_type": "stream", "name": "stdout", "text": "b = 2\n"},
    ]
    assert robustness.checked_text(one) == robustness.checked_text(two)
    other = [{"output_type": "stream", "name": "stdout", "text": "a = 1\nb = 3\n"}]
    assert robustness.checked_text(one) != robustness.checked_text(other)
    # nbval's sanitiser applies: memory addresses do not count
    at = [{"output_type": "execute_result", "data": {"text/plain": "<object at 0x7f00ab>"}}]
    at2 = [{"output_type": "execute_result", "data": {"text/plain": "<object at 0x7f99cd>"}}]
    assert robustness.checked_text(at) == robustness.checked_text(at2)


def _notebook(path):
    """A committed two-cell notebook: one checked cell that is exact, one that prints a draw."""
    exact = "# NBVAL_CHECK_OUTPUT\nprint(sum(range(10)))"
    drawn = (
        "# NBVAL_CHECK_OUTPUT\nfrom spikelearn import claims\nimport torch\n"
        "SEED = claims.seed()\nx = torch.rand(1000)\n"
        "print(int((x < 0.5).sum()))\n"
        "_ = claims.claim('mean of uniform draws', x.mean(), '<', 0.6)"
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(exact), nbformat.v4.new_code_cell(drawn)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=120, kernel_name="python3").execute()  # committed at seed 0
    nbformat.write(nb, path)


def test_a_seed_dependent_number_in_a_checked_cell_fails_the_run(tmp_path, monkeypatch):
    monkeypatch.delenv("SPIKELEARN_SEED", raising=False)
    path = tmp_path / "00_tiny.ipynb"
    _notebook(path)
    out = tmp_path / "out"
    out.mkdir()
    same = robustness.run("seed0", path, out)
    other = robustness.run("seed1", path, out)
    assert same["error"] is None and other["error"] is None
    assert same["checked"] == 2 and same["checked_differs"] == {}
    assert list(other["checked_differs"]) == ["1"]  # the draw, not the exact sum
    assert not robustness._bad(same) and robustness._bad(other)
    assert [c["name"] for c in other["claims"]] == ["mean of uniform draws"]
    # every run was recorded as it finished, with the notebook's code hash: a resume skips them
    lines = (out / "runs.jsonl").read_text().splitlines()
    recorded = [json.loads(line) for line in lines]
    assert [r["config"] for r in recorded] == ["seed0", "seed1"]
    assert {r["source"] for r in recorded} == {robustness.source_hash(path)}


def test_records_of_a_pair_keep_the_latest(tmp_path):
    first, second = _record("seed0", [("acc", 0.91)]), _record("seed0", [("acc", 0.97)])
    (tmp_path / "runs.jsonl").write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    (records,) = robustness.read_records([tmp_path / "runs.jsonl"])
    assert records["claims"][0]["value"] == 0.97
