"""Run every tutorial under other seeds, thread counts and CPU arithmetic; tabulate each claim.

A tutorial's measured claims go through ``spikelearn.claims.claim``, which appends a JSON line
per claim to ``$SPIKELEARN_CLAIMS``. This runner executes each notebook in a fresh kernel (nothing
is written back) once per configuration, collects those lines, and writes a table: per claim its
threshold, the minimum, median and maximum over the runs, the worst margin and the margin the
rule requires. The rule: a claim is kept only if it held in every run with a worst margin of at
least the larger of half its spread (max - min) and three robust standard deviations
(1.48 x the median absolute deviation). A spread seen over a few runs says little about the
tails; the robust standard deviation does not shrink when the runs happen to agree.

Every run also compares the text of the cells marked ``# NBVAL_CHECK_OUTPUT`` with the output
committed in the notebook (what nbval compares, sanitised the same way): a checked cell must
print the same text under every seed and CPU, so a seed-dependent number there fails the run.

A configuration is a name of ``-``-joined parts (any order):

* ``seedN`` - ``SPIKELEARN_SEED=N`` (default 0);
* ``1thread`` - one thread (another reduction order);
* ``sse41`` - ``MKL_CBWR=COMPATIBLE ONEDNN_MAX_CPU_ISA=SSE41 ATEN_CPU_CAPABILITY=default``:
  another CPU's kernels, emulated (about 3x slower);
* ``avx2`` - ``MKL_CBWR=AVX2 ONEDNN_MAX_CPU_ISA=AVX2``.

``seed0..19`` expands to ``seed0``, ..., ``seed19`` (also inside a name:
``sse41-1thread-seed0..4``); ``all`` is the fixed matrix (seeds 0-4, ``1thread``, ``sse41``,
``sse41-1thread``, ``avx2``, ``avx2-1thread``) and ``survey`` the survey that sizes thresholds
(seeds 0-19, and seeds 0-4 on each emulated CPU at one thread).

Every finished run is appended at once to ``--runs`` (default ``<out>/runs.jsonl``; the survey's
are committed in ``docs/robustness-runs.jsonl``); ``--resume`` skips a run already
recorded there for the notebook's current code (a hash of its code cells), so a long survey can be
stopped and continued, across sessions. ``--lock PATH`` runs each notebook under
``nice flock PATH`` (a machine shared with others: one heavy job at a time).

Usage::

    python .ci/robustness.py --configs seed1,seed2,sse41            # what CI runs (plus a seed)
    python .ci/robustness.py --configs all --table docs/robustness.md   # the fixed matrix
    python .ci/robustness.py --configs survey --resume --lock /tmp/spikelearn-heavy.lock \
        --out .robustness/survey --notebooks tutorials/03_*.ipynb    # the survey, resumable
    python .ci/robustness.py --configs survey --from-records docs/robustness-runs.jsonl \
        --table docs/robustness.md                                    # re-tabulate recorded runs

Exit status 1 if any notebook fails (an assert or an error) in any run, or prints other text
than its committed output in a checked cell; with ``--strict`` also if a claim breaks the rule.
"""

import argparse
import datetime
import glob
import hashlib
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
SSE41 = {"MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41", "ATEN_CPU_CAPABILITY": "default"}
AVX2 = {"MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
PARTS = {"1thread": ONE_THREAD, "sse41": SSE41, "avx2": AVX2}
CLEARED = (
    "SPIKELEARN_SEED",
    "SPIKELEARN_CLAIMS",
    "SPIKELEARN_CLAIMS_SURVEY",
    *ONE_THREAD,
    *SSE41,
    *AVX2,
)
MATRIX = "seed0..4,1thread,sse41,sse41-1thread,avx2,avx2-1thread"
SURVEY = "seed0..19,sse41-1thread-seed0..4,avx2-1thread-seed0..4"
ROBUST_SD = 1.48  # MAD x 1.48 estimates a normal distribution's standard deviation
CHECKED = "# NBVAL_CHECK_OUTPUT"


def config_env(name):
    """The environment variables a configuration name sets (``ValueError`` if it is not one)."""
    env = {}
    for part in name.split("-"):
        if re.fullmatch(r"seed\d+", part):
            env["SPIKELEARN_SEED"] = str(int(part[4:]))
        elif part in PARTS:
            env.update(PARTS[part])
        else:
            raise ValueError(
                f"configuration {name!r}: unknown part {part!r}; expected seedN, "
                f"{', '.join(PARTS)}, joined by '-'"
            )
    return env


def expand(spec):
    """Configuration names from a comma-separated spec with ``a..b`` seed ranges and aliases."""
    names = []
    for item in spec.replace("all", MATRIX).replace("survey", SURVEY).split(","):
        m = re.fullmatch(r"(.*seed)(\d+)\.\.(\d+)(.*)", item)
        found = [item] if not m else [f"{m[1]}{s}{m[4]}" for s in range(int(m[2]), int(m[3]) + 1)]
        for name in found:
            config_env(name)  # raises on a bad name
            if name not in names:
                names.append(name)
    return names


CONFIGS = {name: config_env(name) for name in expand("all")}


def source_hash(notebook):
    """A short hash of a notebook's code cells: a recorded run counts only for this code."""
    import nbformat

    nb = notebook if isinstance(notebook, dict) else nbformat.read(notebook, as_version=4)
    code = "\n# cell\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return hashlib.sha1(code.encode()).hexdigest()[:12]


def _sanitizers():
    """nbval's sanitising patterns (.ci/nbval_sanitize.cfg): regex/replace pairs."""
    text = (ROOT / ".ci" / "nbval_sanitize.cfg").read_text()
    pairs = re.findall(r"regex:\s*(.+)\nreplace:\s*(.*)", text)
    return [(re.compile(a.strip()), b.strip()) for a, b in pairs]


def checked_text(outputs):
    """What nbval compares in a cell's outputs: the text of streams and of non-image data.

    Each stream is joined into one text (the kernel splits it into messages as timing allows),
    then each kind of data in order of appearance, so the text does not depend on the chunking.
    """
    streams, data = {}, {}
    for out in outputs:
        if out.get("output_type") == "stream":
            streams[out.get("name")] = streams.get(out.get("name"), "") + out.get("text", "")
        for key, value in out.get("data", {}).items():
            if not key.startswith("image/") and "widget" not in key:
                value = value if isinstance(value, str) else "".join(value)
                data[key] = data.get(key, "") + value + "\n"
    text = "".join(f"[{k}]\n{v}" for k, v in sorted(streams.items()) + sorted(data.items()))
    for regex, replace in _sanitizers():
        text = regex.sub(replace, text)
    return text


def checked_cells(nb):
    """{cell index: text} of the cells whose first line is ``# NBVAL_CHECK_OUTPUT``."""
    return {
        i: checked_text(c.get("outputs", []))
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and c.source.lstrip().startswith(CHECKED)
    }


def execute_one(notebook, claims_path, cell_timeout=900):
    """Worker: execute ``notebook`` in a fresh kernel (this process's environment), write nothing back.

    Prints one JSON line: wall time, the kernel's peak memory, the error (if a cell raised) and
    the checked cells whose text differs from the committed notebook's.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    os.environ["SPIKELEARN_CLAIMS"] = str(claims_path)
    nb = nbformat.read(notebook, as_version=4)
    source = source_hash(nb)  # the code this run executes (the file may change while we wait)
    committed = checked_cells(nb)
    for cell in nb.cells:  # a cell that never runs (after an error) must not keep the old text
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    start = time.perf_counter()
    error, timed_out = None, False
    try:
        NotebookClient(
            nb,
            timeout=int(cell_timeout),
            kernel_name="python3",
            resources={"metadata": {"path": str(Path(notebook).parent)}},
        ).execute()
    except CellExecutionError as e:
        error = "\n".join(str(e).strip().splitlines()[-12:])
    except CellTimeoutError as e:  # a busy machine, not the notebook: a resumed survey retries it
        error, timed_out = (
            f"a cell ran longer than {cell_timeout} s: {str(e).splitlines()[0]}",
            True,
        )
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the kernel's peak
    ran = checked_cells(nb)
    differs = {
        str(i): ran[i]
        for i in committed
        if nb.cells[i].execution_count is not None and ran[i] != committed[i]
    }
    record = {"seconds": seconds, "peak_mb": peak_mb, "error": error, "timed_out": timed_out}
    record.update(checked=len(committed), source=source)
    print(json.dumps({**record, "checked_differs": differs}))


def run(
    config, notebook, out_dir, survey=False, lock=None, source=None, cell_timeout=900, runs=None
):
    """Execute one notebook under one configuration in a subprocess; return (and log) its record."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(config_env(config))
    if survey:  # failing claims are recorded, not raised: measure a distribution
        env["SPIKELEARN_CLAIMS_SURVEY"] = "1"
    claims_path = out_dir / config / (Path(notebook).stem + ".jsonl")
    claims_path.parent.mkdir(parents=True, exist_ok=True)
    claims_path.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--one", str(notebook), str(claims_path)]
    command += ["--cell-timeout", str(cell_timeout)]
    if lock:  # wait for the machine's heavy-job lock, then run at low priority
        command = ["nice", "flock", str(lock), *command]
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    try:
        record = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        record = {"seconds": float("nan"), "peak_mb": float("nan"), "error": proc.stderr[-2000:]}
    claims = []
    if claims_path.exists():
        claims = [json.loads(line) for line in claims_path.read_text().splitlines() if line]
    record.setdefault("source", source or source_hash(notebook))
    record.update(
        config=config,
        notebook=Path(notebook).stem,
        date=datetime.datetime.now().isoformat(timespec="seconds"),
        claims=claims,
    )
    differs = record.get("checked_differs") or {}
    status = "FAILED" if record["error"] else "ok"
    if differs:
        status += f", checked cell(s) {', '.join(differs)} print other text"
    print(
        f"{config:>22} {record['notebook']:<38} {record['seconds']:6.1f} s"
        f" {record['peak_mb']:6.0f} MB  {len(claims):2d} claims  {status}",
        flush=True,
    )
    with open(runs or out_dir / "runs.jsonl", "a", encoding="utf-8") as f:  # recorded as it goes
        f.write(json.dumps(record) + "\n")
    return record


def read_records(paths):
    """Records from ``records.json`` lists or ``runs.jsonl`` files; a later run of a pair wins."""
    latest = {}
    for path in paths:
        text = Path(path).read_text()
        if str(path).endswith(".jsonl"):
            found = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            found = json.loads(text)
        for r in found:
            latest[(r["config"], r["notebook"], r.get("source"))] = r
    return list(latest.values())


def rule(values, worst):
    """The margin a claim needs: max(half the spread, 3 x 1.48 x MAD); and whether it has it."""
    spread = max(values) - min(values)
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    required = max(spread / 2, 3 * ROBUST_SD * mad)
    return spread, mad, required, worst >= 0 and worst >= required


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
    ran = {}
    for rec in records:
        ran.setdefault(rec["notebook"], set()).add(rec["config"])
    for (nb, _name), row in rows.items():
        values = [c["value"] for c in row["runs"].values()]
        row["worst"] = min(c["margin"] for c in row["runs"].values())
        row["failed"] = sum(c["margin"] < 0 for c in row["runs"].values())
        row["min"], row["median"], row["max"] = min(values), statistics.median(values), max(values)
        row["spread"], row["mad"], row["required"], ok = rule(values, row["worst"])
        row["missing"] = [cfg for cfg in configs if cfg in ran[nb] and cfg not in row["runs"]]
        row["ok"] = ok and not row["missing"]
    return rows


def verdict(row):
    if row["failed"]:
        return f"**fails in {row['failed']} of {len(row['runs'])}**"
    if row["missing"]:
        return f"**missing in {len(row['missing'])} run(s)**"
    return "kept" if row["ok"] else "**thin**"


def _seeds(configs):
    """'0-19' style summary of the seeds among configuration names."""
    seeds = sorted(int(config_env(c).get("SPIKELEARN_SEED", 0)) for c in configs)
    if not seeds:
        return "none"
    spans, start = [], seeds[0]
    for a, b in zip(seeds, seeds[1:] + [None], strict=True):
        if b != a + 1:
            spans.append(f"{start}" if start == a else f"{start}-{a}")
            start = b
    return ", ".join(spans)


def markdown(records, rows, configs, command, notebooks=()):
    """The table as a Markdown page: the rule, what ran, one row per claim, failures, timings."""
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
        "Each tutorial ran in a fresh kernel once per configuration (see `.ci/robustness.py`): "
        "`seedN` sets `SPIKELEARN_SEED`; `sse41` emulates another CPU's arithmetic "
        "(`MKL_CBWR=COMPATIBLE ONEDNN_MAX_CPU_ISA=SSE41 ATEN_CPU_CAPABILITY=default`), `avx2` "
        "another (`MKL_CBWR=AVX2 ONEDNN_MAX_CPU_ISA=AVX2`), `1thread` runs on one thread.",
        "",
        "**The rule.** A claim is kept only if it held in every run, with a worst margin of at "
        "least the larger of half its spread (max - min over the runs) and three robust standard "
        "deviations (3 x 1.48 x the median absolute deviation). Margins are in the claim's own "
        "units. A claim that failed in any run is redesigned (measured over many trials in one "
        "run, or made decisive), never re-thresholded. One that held in every run but with less "
        "margin than the rule asks gets its threshold from the survey (the notebook says so). No "
        "seed is ever picked.",
        "",
        "## What ran",
        "",
        "| notebook | code | seeds, default threads | seeds, emulated CPUs at 1 thread "
        "| other | runs | failed runs |",
        "| --- | --- | --- | --- | --- | ---: | ---: |",
    ]
    by_nb = {}
    for r in records:
        by_nb.setdefault(r["notebook"], []).append(r)
    for nb in sorted(set(by_nb) | set(notebooks)):
        if nb not in by_nb:
            lines.append(f"| {nb} | - | not yet run | not yet run | - | 0 | - |")
            continue
        cfgs = [r["config"] for r in by_nb[nb]]
        plain = [c for c in cfgs if set(config_env(c)) <= {"SPIKELEARN_SEED"}]
        emulated = {
            part: [c for c in cfgs if {part, "1thread"} <= set(c.split("-"))]
            for part in ("sse41", "avx2")
        }
        other = [c for c in cfgs if c not in plain and c not in sum(emulated.values(), [])]
        failed = [r for r in by_nb[nb] if _bad(r)]
        sources = sorted({r.get("source") or "?" for r in by_nb[nb]})
        lines.append(
            f"| {nb} | {', '.join(f'`{s}`' for s in sources)} | {_seeds(plain)} | "
            + "; ".join(f"{p}: {_seeds(v)}" for p, v in emulated.items() if v)
            + f" | {', '.join(other) or '-'} | {len(by_nb[nb])} | {len(failed)} |"
        )
    lines += [
        "",
        "## Every measured claim",
        "",
        "| notebook | claim | threshold | runs | min | median | max | worst margin "
        "| required margin | verdict |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for (nb, name), row in sorted(rows.items()):
        lines.append(
            f"| {nb[:2]} | {name} | {row['op']} {row['threshold']:.4g} | {len(row['runs'])} "
            f"| {row['min']:.4g} | {row['median']:.4g} | {row['max']:.4g} "
            f"| {row['worst']:.3g} | {row['required']:.3g} | {verdict(row)} |"
        )
    bad = [r for r in records if _bad(r)]
    if bad:
        lines += ["", "## Failed runs", "", "| notebook | configuration | what failed |"]
        lines += ["| --- | --- | --- |"]
        for r in sorted(bad, key=lambda r: (r["notebook"], r["config"])):
            lines.append(f"| {r['notebook']} | `{r['config']}` | {_why(r)} |")
    lines += [
        "",
        "## Time and memory",
        "",
        "Wall time per run (s; the machine was shared, so these are upper bounds) and the kernel's "
        "peak memory.",
        "",
        "| notebook | runs | median s | max s | max MB |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for nb in sorted(by_nb):
        secs = [r["seconds"] for r in by_nb[nb] if r["seconds"] == r["seconds"]]
        mbs = [r["peak_mb"] for r in by_nb[nb] if r["peak_mb"] == r["peak_mb"]]
        lines.append(
            f"| {nb} | {len(by_nb[nb])} | {statistics.median(secs):.0f} | {max(secs):.0f} "
            f"| {max(mbs):.0f} |"
            if secs
            else f"| {nb} | {len(by_nb[nb])} | - | - | - |"
        )
    return "\n".join(lines) + "\n"


def _bad(record):
    """A run fails if a cell raised, a claim failed, or a checked cell printed other text."""
    return bool(
        record["error"]
        or record.get("checked_differs")
        or any(c["margin"] < 0 for c in record["claims"])
    )


def _why(record):
    why = [f"claim '{c['name']}' = {c['value']:.4g}" for c in record["claims"] if c["margin"] < 0]
    if record.get("checked_differs"):
        why.append(f"checked cell(s) {', '.join(record['checked_differs'])} printed other text")
    if record["error"]:
        last = [ln for ln in record["error"].splitlines() if ln.strip()][-1:]
        why.append("error: " + " ".join(last).replace("|", "/")[:200])
    return "; ".join(why)


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
    parser.add_argument("--strict", action="store_true", help="fail on a claim below the rule")
    parser.add_argument(
        "--survey", action="store_true", help="record failing claims instead of stopping at them"
    )
    parser.add_argument(
        "--resume", action="store_true", help="skip runs already recorded (see --runs)"
    )
    parser.add_argument("--lock", default=None, help="run each notebook under `nice flock LOCK`")
    parser.add_argument(
        "--runs", default=None, help="append each run's record here (default <out>/runs.jsonl)"
    )
    parser.add_argument(
        "--from-records",
        nargs="+",
        metavar="RECORDS",
        help="build the table from earlier runs (records.json or runs.jsonl; later files win)",
    )
    parser.add_argument(
        "--cell-timeout", type=int, default=900, help="seconds one cell may run (default 900)"
    )
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return execute_one(*args.one, cell_timeout=args.cell_timeout)

    try:
        configs = expand(args.configs)
    except ValueError as e:
        parser.error(str(e))
    notebooks = args.notebooks or sorted(glob.glob(str(ROOT / "tutorials" / "[0-9][0-9]_*.ipynb")))
    out_dir = Path(args.out).resolve()  # the kernels run in tutorials/: no relative paths
    if args.from_records:  # re-tabulate: e.g. a survey, then one notebook re-run after a fix
        records = [r for r in read_records(args.from_records) if r["config"] in configs]
        if args.notebooks:
            wanted = {Path(nb).stem for nb in notebooks}
            records = [r for r in records if r["notebook"] in wanted]
        current = {}  # only runs of the notebooks' current code count (or of the files named)
        named = {Path(nb).stem: Path(nb) for nb in args.notebooks or ()}
        for r in records:
            path = named.get(r["notebook"], ROOT / "tutorials" / f"{r['notebook']}.ipynb")
            if path.exists() and r["notebook"] not in current:
                current[r["notebook"]] = source_hash(path)
        stale = [r for r in records if r.get("source") != current.get(r["notebook"])]
        if stale:
            print(f"{len(stale)} recorded runs of older notebook code left out")
        records = [r for r in records if r not in stale]
        notebooks = sorted({r["notebook"] for r in records})
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        runs_path = Path(args.runs).resolve() if args.runs else out_dir / "runs.jsonl"
        sources = {nb: source_hash(nb) for nb in notebooks}
        done = set()
        if args.resume and runs_path.exists():
            done = {
                (r["config"], r["notebook"], r.get("source"))
                for r in read_records([runs_path])
                if not r.get("timed_out")  # retried
            }
        # configuration by configuration, so a survey stopped early has covered every notebook
        # alike; one-thread runs may share the cores (one each), the others run one at a time
        jobs = [
            (c, nb)
            for c in configs
            for nb in notebooks
            if (c, Path(nb).stem, sources[nb]) not in done
        ]
        if done:
            print(f"resuming: {len(done)} runs recorded, {len(jobs)} to go", flush=True)

        def one(job):
            return run(
                *job, out_dir, args.survey, args.lock, sources[job[1]], args.cell_timeout, runs_path
            )

        single = [j for j in jobs if "1thread" in j[0]]
        multi = [j for j in jobs if "1thread" not in j[0]]
        records = [one(j) for j in multi]
        with ThreadPoolExecutor(max_workers=1 if args.lock else args.jobs) as pool:
            records += list(pool.map(one, single))
        if args.resume:  # the table covers everything recorded for the current code
            current = {Path(nb).stem: source for nb, source in sources.items()}
            records = [
                r
                for r in read_records([runs_path])
                if r["config"] in configs and r.get("source") == current.get(r["notebook"])
            ]
        (out_dir / "records.json").write_text(json.dumps(records, indent=1))

    timed_out = [r for r in records if r.get("timed_out")]
    if timed_out and (args.survey or args.from_records):  # the machine was busy: run them again
        print(f"{len(timed_out)} runs timed out (left out of the table; --resume retries them)")
        records = [r for r in records if not r.get("timed_out")]
    rows = tabulate(records, configs)
    bad = [r for r in records if _bad(r)]
    thin = [key for key, row in rows.items() if not row["ok"]]
    print(f"\n{len(rows)} claims over {len(configs)} configurations x {len(notebooks)} notebooks")
    for key, row in sorted(rows.items(), key=lambda kv: kv[1]["worst"] - kv[1]["required"])[:5]:
        print(
            f"  thinnest: {key[0][:2]} {key[1]}: worst margin {row['worst']:.3g},"
            f" required {row['required']:.3g}"
        )
    for key in thin:
        print(f"  below the rule: {key[0]} / {key[1]} ({verdict(rows[key])})")
    for r in bad:
        print(f"\nFAILED {r['config']} {r['notebook']}: {_why(r)}")
        if r["error"]:
            print(r["error"])
        for cell, text in (r.get("checked_differs") or {}).items():
            print(f"  checked cell {cell} printed:\n{text}")
    if args.table:
        command = "python .ci/robustness.py " + " ".join(sys.argv[1:])
        every = sorted(Path(p).stem for p in glob.glob(str(ROOT / "tutorials" / "[0-9]*.ipynb")))
        Path(args.table).write_text(markdown(records, rows, configs, command, every))
        print(f"table written to {args.table}")
    print(f"robustness: {len(records) - len(bad)} runs passed, {len(bad)} failed")
    return 1 if bad or (args.strict and thin) else 0


if __name__ == "__main__":
    sys.exit(main())
