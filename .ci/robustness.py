"""Run every tutorial under other seeds, thread counts and CPU arithmetic; tabulate each claim.

A tutorial's measured claims go through ``spikelearn.claims.claim``, which appends a JSON line
per claim to ``$SPIKELEARN_CLAIMS``. This runner executes each notebook in a fresh kernel (nothing
is written back) once per configuration, collects those lines, and writes a table: claim,
threshold, the value in every run, the worst margin and the spread. A claim passes the project's
rule when it holds in every run with a worst margin of at least half the spread.

Configurations (``--configs``, comma-separated):

* ``seed0`` ... ``seed4`` - ``SPIKELEARN_SEED``; the default arithmetic and thread count;
* ``1thread`` - seed 0 on one thread (another reduction order);
* ``sse41`` - seed 0 with ``MKL_CBWR=COMPATIBLE ONEDNN_MAX_CPU_ISA=SSE41
  ATEN_CPU_CAPABILITY=default``: another CPU's kernels, emulated (about 3x slower);
* ``avx2`` - seed 0 with ``MKL_CBWR=AVX2 ONEDNN_MAX_CPU_ISA=AVX2``;
* ``sse41-1thread``, ``avx2-1thread`` - the same on one thread.

Usage::

    python .ci/robustness.py --configs seed1,seed2,sse41            # what CI runs
    python .ci/robustness.py --configs all --table docs/robustness.md   # the committed table
    python .ci/robustness.py --configs all --notebooks tutorials/05_*.ipynb --out .robustness/05
    python .ci/robustness.py --configs all --from-records .robustness/records.json \
        .robustness/05/records.json --table docs/robustness.md   # after re-running one notebook

Exit status 1 if any notebook fails (an assert or an error) in any run; with ``--strict`` also
if a claim's worst margin is below half its spread.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
SSE41 = {"MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41", "ATEN_CPU_CAPABILITY": "default"}
AVX2 = {"MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
CONFIGS = {
    **{f"seed{s}": {"SPIKELEARN_SEED": str(s)} for s in range(5)},
    "1thread": ONE_THREAD,
    "sse41": SSE41,
    "sse41-1thread": {**SSE41, **ONE_THREAD},
    "avx2": AVX2,
    "avx2-1thread": {**AVX2, **ONE_THREAD},
}
CLEARED = (
    "SPIKELEARN_SEED",
    "SPIKELEARN_CLAIMS",
    "SPIKELEARN_CLAIMS_SURVEY",
    *ONE_THREAD,
    *SSE41,
    *AVX2,
)


def execute_one(notebook, claims_path):
    """Worker: execute ``notebook`` in a fresh kernel (this process's environment), write nothing back."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    os.environ["SPIKELEARN_CLAIMS"] = str(claims_path)
    nb = nbformat.read(notebook, as_version=4)
    start = time.perf_counter()
    error = None
    try:
        NotebookClient(
            nb,
            timeout=900,
            kernel_name="python3",
            resources={"metadata": {"path": str(Path(notebook).parent)}},
        ).execute()
    except CellExecutionError as e:
        error = "\n".join(str(e).strip().splitlines()[-12:])
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the kernel's peak
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "error": error}))


def run(config, notebook, out_dir, survey=False):
    """Execute one notebook under one configuration in a subprocess; return its record."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(CONFIGS[config])
    if survey:  # failing claims are recorded, not raised: measure a distribution
        env["SPIKELEARN_CLAIMS_SURVEY"] = "1"
    claims_path = out_dir / config / (Path(notebook).stem + ".jsonl")
    claims_path.parent.mkdir(parents=True, exist_ok=True)
    claims_path.unlink(missing_ok=True)
    proc = subprocess.run(
        [sys.executable, __file__, "--one", notebook, str(claims_path)],
        env=env,
        capture_output=True,
        text=True,
    )
    try:
        record = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        record = {"seconds": float("nan"), "peak_mb": float("nan"), "error": proc.stderr[-2000:]}
    claims = []
    if claims_path.exists():
        claims = [json.loads(line) for line in claims_path.read_text().splitlines() if line]
    record.update(config=config, notebook=Path(notebook).stem, claims=claims)
    status = "FAILED" if record["error"] else "ok"
    print(
        f"{config:>14} {record['notebook']:<40} {record['seconds']:6.1f} s"
        f" {record['peak_mb']:6.0f} MB  {len(claims):2d} claims  {status}",
        flush=True,
    )
    return record


def tabulate(records, configs):
    """Rows per claim (notebook, name, occurrence) with its values over the configurations."""
    rows = {}
    for rec in records:
        seen = {}
        for c in rec["claims"]:
            k = seen[c["name"]] = seen.get(c["name"], 0) + 1
            key = (rec["notebook"], c["name"] if k == 1 else f"{c['name']} ({k})")
            row = rows.setdefault(key, {"op": c["op"], "threshold": c["threshold"], "runs": {}})
            row["runs"][rec["config"]] = c
    for row in rows.values():
        values = [c["value"] for c in row["runs"].values()]
        row["worst"] = min(c["margin"] for c in row["runs"].values())
        row["spread"] = max(values) - min(values)
        row["missing"] = [cfg for cfg in configs if cfg not in row["runs"]]
        row["ok"] = row["worst"] >= 0 and row["worst"] >= row["spread"] / 2 and not row["missing"]
    return rows


def markdown(records, rows, configs, command):
    """The table as a Markdown page: the date, the machine, one row per claim, then timings."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines = [
        "# Robustness of the tutorials' claims",
        "",
        f"Generated by `{command}` on {datetime.date.today().isoformat()}: {cpu}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}, Python {platform.python_version()}.",
        "",
        "Each tutorial ran in a fresh kernel under every configuration "
        f"({', '.join(f'`{c}`' for c in configs)}; see `.ci/robustness.py`). "
        "A claim passes when it holds in every run with a worst margin of at least half its "
        "spread (max - min of the values over the runs). Margins are in the claim's own units.",
        "",
        "| notebook | claim | threshold | values | worst margin | spread | rule |",
        "| --- | --- | --- | --- | ---: | ---: | --- |",
    ]
    for (nb, name), row in sorted(rows.items()):
        values = " / ".join(
            f"{row['runs'][c]['value']:.4g}" if c in row["runs"] else "-" for c in configs
        )
        rule = "ok" if row["ok"] else ("missing runs" if row["missing"] else "**thin**")
        lines.append(
            f"| {nb[:2]} | {name} | {row['op']} {row['threshold']:.4g} | {values} "
            f"| {row['worst']:.3g} | {row['spread']:.3g} | {rule} |"
        )
    lines += ["", "Wall time (s) and kernel peak memory (MB) per notebook and configuration:", ""]
    lines += ["| notebook | " + " | ".join(configs) + " |", "| --- |" + " ---: |" * len(configs)]
    by_key = {(r["notebook"], r["config"]): r for r in records}
    for nb in sorted({r["notebook"] for r in records}):
        cells = []
        for c in configs:
            r = by_key.get((nb, c))
            cells.append("-" if r is None else f"{r['seconds']:.0f} s, {r['peak_mb']:.0f} MB")
        lines.append(f"| {nb} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="seed1,seed2,sse41")
    parser.add_argument("--notebooks", nargs="*", default=None)
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="one-thread runs executed at once (the others always run one at a time)",
    )
    parser.add_argument("--out", default=str(ROOT / ".robustness"), help="per-run claim files")
    parser.add_argument("--table", default=None, help="write the Markdown table here")
    parser.add_argument(
        "--strict", action="store_true", help="fail on margins below half the spread"
    )
    parser.add_argument(
        "--survey", action="store_true", help="record failing claims instead of stopping at them"
    )
    parser.add_argument(
        "--from-records",
        nargs="+",
        metavar="RECORDS_JSON",
        help="build the table from earlier runs' records.json files (later files win per run)",
    )
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return execute_one(*args.one)

    configs = list(CONFIGS) if args.configs == "all" else args.configs.split(",")
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; expected some of {list(CONFIGS)}")
    notebooks = args.notebooks or sorted(glob.glob(str(ROOT / "tutorials" / "[0-9][0-9]_*.ipynb")))
    out_dir = Path(args.out).resolve()  # the kernels run in tutorials/: no relative paths
    if args.from_records:  # re-tabulate: e.g. a full run, then one notebook re-run after a fix
        latest = {}
        for path in args.from_records:
            for r in json.loads(Path(path).read_text()):
                latest[(r["config"], r["notebook"])] = r
        records = [r for r in latest.values() if r["config"] in configs]
        notebooks = sorted({r["notebook"] for r in records})
    else:
        # one-thread runs share the cores (one each); the others run one at a time
        single = [(c, nb) for c in configs if "1thread" in c for nb in notebooks]
        multi = [(c, nb) for c in configs if "1thread" not in c for nb in notebooks]
        records = [run(c, nb, out_dir, args.survey) for c, nb in multi]
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            records += list(pool.map(lambda job: run(*job, out_dir, args.survey), single))
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "records.json").write_text(json.dumps(records, indent=1))

    rows = tabulate(records, configs)
    failed = [r for r in records if r["error"]]
    thin = [key for key, row in rows.items() if not row["ok"]]
    print(f"\n{len(rows)} claims over {len(configs)} configurations x {len(notebooks)} notebooks")
    for key, row in sorted(rows.items(), key=lambda kv: kv[1]["worst"] - kv[1]["spread"] / 2)[:5]:
        print(
            f"  thinnest: {key[0][:2]} {key[1]}: worst margin {row['worst']:.3g}, spread {row['spread']:.3g}"
        )
    for key in thin:
        print(f"  below the rule: {key[0]} / {key[1]}")
    for r in failed:
        print(f"\nFAILED {r['config']} {r['notebook']}:\n{r['error']}")
    if args.table:
        command = "python .ci/robustness.py " + " ".join(sys.argv[1:])
        Path(args.table).write_text(markdown(records, rows, configs, command))
        print(f"table written to {args.table}")
    failed_claims = [key for key, row in rows.items() if row["worst"] < 0]
    bad_runs = {(r["config"], r["notebook"]) for r in failed}
    for (nb, _name), row in rows.items():
        bad_runs |= {(cfg, nb) for cfg, c in row["runs"].items() if c["margin"] < 0}
    print(f"robustness: {len(records) - len(bad_runs)} passed, {len(bad_runs)} failed")
    return 1 if failed or failed_claims or (args.strict and thin) else 0


if __name__ == "__main__":
    sys.exit(main())
