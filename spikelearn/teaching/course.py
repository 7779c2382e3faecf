"""Running a course on the tutorials: the student edition, and a grader that needs no server.

**Two editions from one source.** The committed tutorials are the *instructor edition*. Each
exercise is a function the learner fills in, which starts as ``raise NotImplementedError``, and a
check that calls it (``check_x(x)``, the last statement of a cell tagged ``raises-exception``, so
Jupyter, nbval and nbclient run on past it). The instructor's solution follows in cells tagged
``solution`` (collapsed in JupyterLab, myst-nb and Colab: ``docs/developers.md``).
:func:`student_edition` removes every cell tagged ``solution`` with nbconvert's
``TagRemovePreprocessor``: the solutions are *absent* from the student edition, not hidden. The
cells after an exercise use the library's version of what the exercise asks for, so the student
edition runs top to bottom before any exercise is solved (its check cells raise, as expected).
``make student`` writes it to ``student/``.

**Grading.** :func:`grade` takes a folder with one sub-folder per student, holding that student's
notebooks (``submissions/<student>/12_recurrent_snns.ipynb``), runs every notebook top to bottom in
a fresh kernel (nbclient, on this machine: no Docker, no server) and reads each exercise's check
cell: it passed if it raised nothing, and otherwise failed, with the error it raised as feedback
(``NotImplementedError: ...`` for an exercise left blank, the failing assert's message for a wrong
answer). Cells other than the checks that raise are reported too: the student broke something
the rest of the notebook needs. The result is one row per student (:func:`write_csv`).
Which exercises a notebook has is read from the instructor edition when one is given
(``reference``), so a deleted exercise counts as failed, not as absent.

The grader runs the students' code with your permissions, like any notebook you open: run it in
a container or a throw-away account if you do not trust the submissions.
"""

import argparse
import ast
import copy
import csv
import re
import shutil
import sys
from pathlib import Path

from .._checks import check_int

SOLUTION_TAG = "solution"  # the instructor's cells: removed in the student edition
EXERCISE_TAG = "raises-exception"  # a check cell: raises until the exercise is solved
PASS = "pass"


def _nbformat():
    try:
        import nbformat
    except ImportError:  # pragma: no cover - jupyter is a dev dependency
        raise ImportError(
            "the course tools need Jupyter's nbformat, nbconvert and nbclient: "
            "pip install 'spikelearn-course[course]' (or pip install nbconvert nbclient ipykernel)"
        ) from None
    return nbformat


def _read(notebook):
    """A notebook node from a path (read as nbformat 4) or a copy of a node."""
    if isinstance(notebook, str | Path):
        path = Path(notebook)
        if not path.is_file():
            raise ValueError(f"notebook must be an existing .ipynb file, got {str(path)!r}")
        return _nbformat().read(path, as_version=4)
    if not hasattr(notebook, "cells"):
        raise TypeError(
            f"notebook must be a path or a notebook node, got {type(notebook).__name__}"
        )
    return copy.deepcopy(notebook)


def student_edition(notebook):
    """The notebook without its ``solution`` cells (nbconvert's ``TagRemovePreprocessor``)."""
    from nbconvert.preprocessors import TagRemovePreprocessor

    nb = _read(notebook)
    remover = TagRemovePreprocessor(remove_cell_tags={SOLUTION_TAG}, enabled=True)
    nb, _ = remover.preprocess(nb, {})
    return nb


def write_student_edition(notebooks, out_dir):
    """Write the student edition of ``notebooks`` (paths) into ``out_dir``, with the figures
    folder beside them (their Markdown links ``figures/NAME.png``). Returns the written paths."""
    paths = [Path(p) for p in notebooks]
    if not paths:
        raise ValueError("notebooks must name at least one .ipynb file, got none")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        target = out / path.name
        _nbformat().write(student_edition(path), target)
        written.append(target)
    for figures in sorted({p.parent / "figures" for p in paths if (p.parent / "figures").is_dir()}):
        shutil.copytree(figures, out / "figures", dirs_exist_ok=True)
    return written


def _check_call(source):
    """The exercise a check cell checks: the arguments of its last statement ``check_x(a, b)``,
    as ``"a, b"``; None if the cell does not end in such a call."""
    lines = source.strip().splitlines()
    try:
        tree = ast.parse(
            "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))
        )
    except SyntaxError:
        return None
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return None
    call = tree.body[-1].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
        return None
    if not call.func.id.startswith("check"):
        return None
    return ", ".join(ast.unparse(arg) for arg in call.args) or call.func.id


def exercises(notebook):
    """``[(cell index, exercise name)]``: the check cells (tagged ``raises-exception``, ending in
    a ``check_...(...)`` call) in order; the name is what the check is called with."""
    nb = _read(notebook)
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and EXERCISE_TAG in cell.metadata.get("tags", []):
            name = _check_call(cell.source)
            if name is not None:
                found.append((i, name))
    return found


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _feedback(output, limit=300):
    """One line from an error output: ``Name: message`` (the failing line if the message is empty)."""
    text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
    if not output.get("evalue"):
        arrows = [
            _ANSI.sub("", line).strip()
            for line in output.get("traceback", [])
            for line in line.splitlines()
        ]
        arrows = [line for line in arrows if line.startswith("---->") or line.startswith("->")]
        if arrows:
            text += f" at {arrows[-1].lstrip('->').strip()}"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _errors(cell):
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def grade_notebook(notebook, reference=None, timeout=600):
    """Execute a submitted notebook in a fresh kernel and grade its exercises.

    Args:
        notebook: path of the submission (it runs in its own folder; the file is not modified).
        reference: optional instructor (or student) edition: which exercises there are. Without
            it, the submission's own check cells are the exercises.
        timeout: seconds any one cell may run.

    Returns:
        ``{"exercises": {name: "pass" or "fail: <error>"}, "errors": ["cell N: <error>", ...]}``,
        ``errors`` listing cells other than the checks that raised.
    """
    from nbclient import NotebookClient

    check_int("timeout", timeout, low=1)
    path = Path(notebook)
    nb = _read(path)
    expected = [name for _, name in exercises(reference if reference is not None else nb)]
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,  # run every cell: a failed check must not stop the others
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    checks = {}
    errors = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        name = _check_call(cell.source) if EXERCISE_TAG in cell.metadata.get("tags", []) else None
        failed = _errors(cell)
        if name is not None and name in expected and name not in checks:
            checks[name] = PASS if not failed else f"fail: {_feedback(failed[0])}"
        elif failed:
            errors.append(f"cell {i}: {_feedback(failed[0])}")
    graded = {name: checks.get(name, "fail: check cell not found") for name in expected}
    return {"exercises": graded, "errors": errors}


def grade(submissions, reference=None, timeout=600):
    """Grade every student's notebooks: ``submissions/<student>/<notebook>.ipynb``.

    Args:
        submissions: the folder of student folders.
        reference: optional folder of the instructor (or student) edition; each submitted
            notebook is graded against the exercises of the notebook of the same name there, and
            a notebook of the reference that a student did not hand in counts as failed.
        timeout: seconds any one cell may run.

    Returns:
        One dict per student, in name order: ``student``, ``score`` (exercises passed),
        ``total``, one column ``"<notebook>: <exercise>"`` per exercise (``"pass"`` or
        ``"fail: ..."``) and ``errors`` (other cells that raised, ``"; "``-joined).
    """
    root = Path(submissions)
    if not root.is_dir():
        raise ValueError(f"submissions must be a folder of student folders, got {str(root)!r}")
    students = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise ValueError(
            f"submissions must hold one folder per student (submissions/<student>/NN_name.ipynb), "
            f"found none in {str(root)!r}"
        )
    ref = None if reference is None else Path(reference)
    if ref is not None and not ref.is_dir():
        raise ValueError(f"reference must be a folder of notebooks, got {str(ref)!r}")
    rows = []
    for student in students:
        handed_in = {p.name: p for p in sorted(student.glob("*.ipynb"))}
        names = sorted(handed_in) if ref is None else sorted(p.name for p in ref.glob("*.ipynb"))
        row, errors = {"student": student.name}, []
        for name in names:
            stem = Path(name).stem
            reference_nb = None if ref is None else ref / name
            if name not in handed_in:
                for _, exercise in exercises(reference_nb):
                    row[f"{stem}: {exercise}"] = "fail: notebook not handed in"
                continue
            result = grade_notebook(handed_in[name], reference_nb, timeout)
            for exercise, outcome in result["exercises"].items():
                row[f"{stem}: {exercise}"] = outcome
            errors += [f"{stem} {e}" for e in result["errors"]]
        outcomes = [v for k, v in row.items() if k != "student"]
        row = {
            "student": student.name,
            "score": sum(v == PASS for v in outcomes),
            "total": len(outcomes),
            **{k: v for k, v in row.items() if k != "student"},
            "errors": "; ".join(errors),
        }
        rows.append(row)
    return rows


def write_csv(rows, path):
    """The grades as CSV, one row per student; the columns are the union over the rows."""
    if not rows:
        raise ValueError("rows must hold at least one student, got none")
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="fail: not graded")
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def table(rows):
    """The grades as a Markdown table: student × exercise, ✓ or ✗ (feedback in the CSV)."""
    exercises_ = [k for k in rows[0] if k not in ("student", "score", "total", "errors")]
    lines = [
        "| student | score | " + " | ".join(exercises_) + " | other errors |",
        "| --- | ---: |" + " :-: |" * len(exercises_) + " --- |",
    ]
    for row in rows:
        marks = ["✓" if row.get(e) == PASS else "✗" for e in exercises_]
        lines.append(
            f"| {row['student']} | {row['score']}/{row['total']} | "
            + " | ".join(marks)
            + f" | {row['errors'] or '-'} |"
        )
    return "\n".join(lines)


def main(argv=None):
    """``python -m spikelearn.teaching.course student NOTEBOOK... --out student`` or
    ``python -m spikelearn.teaching.course grade SUBMISSIONS [--reference tutorials] [--csv F]``."""
    parser = argparse.ArgumentParser(prog="python -m spikelearn.teaching.course")
    sub = parser.add_subparsers(dest="command", required=True)
    st = sub.add_parser("student", help="write the student edition (solution cells removed)")
    st.add_argument("notebooks", nargs="+")
    st.add_argument("--out", default="student")
    gr = sub.add_parser(
        "grade", help="grade submissions/<student>/*.ipynb; one CSV row per student"
    )
    gr.add_argument("submissions")
    gr.add_argument("--reference", default=None, help="the instructor edition's folder")
    gr.add_argument("--csv", default="grades.csv")
    gr.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    if args.command == "student":
        written = write_student_edition(args.notebooks, args.out)
        print(f"student edition: {len(written)} notebooks in {args.out}/ (solution cells removed)")
        return 0
    rows = grade(args.submissions, args.reference, args.timeout)
    write_csv(rows, args.csv)
    print(table(rows))
    print(f"\n{len(rows)} students graded; feedback per exercise in {args.csv}")
    return 0


__all__ = [
    "SOLUTION_TAG",
    "EXERCISE_TAG",
    "student_edition",
    "write_student_edition",
    "exercises",
    "grade_notebook",
    "grade",
    "write_csv",
    "table",
    "main",
]


if __name__ == "__main__":
    sys.exit(main())
