"""The course tools: the student edition has no solution in it and still runs; the grader gives a
blank edition 0 and the instructor's solutions full marks; the solutions collapse in Colab too.

Grading executes notebooks, so by default only two tutorials are graded here, 02 (two exercises,
~6 s) and 13 (three, ~15 s), once blank and once solved; ``SPIKELEARN_GRADE_ALL=1`` grades all
of them (CI: ``.ci/run``, about 8 minutes on 2 cores).
"""

import ast
import csv
import os
import re
from pathlib import Path

import nbformat
import pytest

from spikelearn.teaching import course

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.ipynb"))
GRADED = (
    TUTORIALS
    if os.environ.get("SPIKELEARN_GRADE_ALL")
    else [p for p in TUTORIALS if p.name[:2] in ("02", "13")]
)


def _tags(cell):
    return cell.metadata.get("tags", [])


def _is_solution(cell):
    return course.SOLUTION_TAG in _tags(cell)


def _code_lines(source):
    """The lines of code (not blank, not comments), stripped."""
    return {
        ln.strip() for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")
    }


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name[:2])
def test_every_exercise_has_a_solution_that_collapses_in_jupyterlab_myst_nb_and_colab(path):
    nb = nbformat.read(path, as_version=4)
    checks = course.exercises(nb)
    assert checks, "every tutorial has at least one exercise"
    bounds = [i for i, _ in checks] + [len(nb.cells)]
    for (start, name), end in zip(checks, bounds[1:], strict=True):
        solution = [
            c for c in nb.cells[start + 1 : end] if _is_solution(c) and c.cell_type == "code"
        ]
        assert solution, f"exercise {name!r} (cell {start}) has no solution cell after it"
    for i, cell in enumerate(nb.cells):
        if not _is_solution(cell) or cell.cell_type != "code":
            continue
        assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, i  # JupyterLab
        assert "hide-input" in _tags(cell), i  # myst-nb
        assert cell.metadata.get("cellView") == "form", i  # Colab: the form view, title only
        first = cell.source.splitlines()[0]
        assert re.match(r'# @title Solution.*\{ display-mode: "form" \}$', first), (i, first)
    # every exercise check raises in the instructor edition: the learner's version is a stub
    for i, _ in checks:
        assert any(o.get("ename") == "NotImplementedError" for o in nb.cells[i].outputs), i


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name[:2])
def test_the_student_edition_holds_no_line_of_any_solution(path):
    teacher = nbformat.read(path, as_version=4)
    student = course.student_edition(path)
    kept = [c for c in teacher.cells if not _is_solution(c)]
    assert [c.source for c in student.cells] == [c.source for c in kept]  # nothing else changed
    given = set().union(*(_code_lines(c.source) for c in kept))  # code the text shows anyway
    solution = set().union(*(_code_lines(c.source) for c in teacher.cells if _is_solution(c)))
    secret = solution - given
    assert secret, "a solution that only repeats code shown elsewhere teaches nothing"
    for cell in student.cells:
        leaked = _code_lines(cell.source) & secret
        assert not leaked, f"solution lines in the student edition: {sorted(leaked)}"
        assert "_solution" not in cell.source, "a cell still uses a name the solutions define"
    assert course.exercises(student) == [(i, n) for i, n in enumerate_checks_after_removal(teacher)]


def enumerate_checks_after_removal(nb):
    """The teacher's exercises, re-indexed for the notebook without its solution cells."""
    index = {}
    for i, cell in enumerate(nb.cells):
        if not _is_solution(cell):
            index[i] = len(index)
    return [(index[i], name) for i, name in course.exercises(nb)]


def solved_edition(path):
    """The student edition with the instructor's solutions pasted in, as a student would: each
    stub ``def f(...): raise NotImplementedError`` replaced by the body of ``f_solution`` (or, for a
    stub named ``my_f``, of ``f_solution``)."""
    teacher = nbformat.read(path, as_version=4)
    answers = {}
    for cell in teacher.cells:
        if cell.cell_type != "code" or not _is_solution(cell):
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.FunctionDef) and node.name.endswith("_solution"):
                answers[node.name.removesuffix("_solution")] = node
    student = course.student_edition(path)
    pasted = set()
    for cell in student.cells:
        if cell.cell_type != "code" or "NotImplementedError" not in cell.source:
            continue
        lines = cell.source.splitlines()
        for node in reversed(ast.parse(cell.source).body):  # bottom up: line numbers stay valid
            name = getattr(node, "name", "")
            answer = answers.get(name) or answers.get(name.removeprefix("my_"))
            stub = "\n".join(lines[node.lineno - 1 : node.end_lineno]) if answer else ""
            if answer is None or "NotImplementedError" not in stub:
                continue
            answer.name = name  # the student keeps the name the check calls
            lines[node.lineno - 1 : node.end_lineno] = ast.unparse(answer).splitlines()
            pasted.add(name)
        cell.source = "\n".join(lines)
    assert len(pasted) >= len(answers), f"pasted {sorted(pasted)}, solutions {sorted(answers)}"
    return student


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Two students: one hands in the blank student edition, one the solved one."""
    root = tmp_path_factory.mktemp("submissions")
    for student, edition in (("blank", course.student_edition), ("solved", solved_edition)):
        (root / student).mkdir()
        for path in GRADED:
            nbformat.write(edition(path), root / student / path.name)
    reference = tmp_path_factory.mktemp("reference")
    course.write_student_edition(GRADED, reference)
    rows = course.grade(root, reference=reference)
    print("\n" + course.table(rows))  # the grading table (pytest -s shows it)
    return rows, root


def test_the_blank_edition_scores_zero_and_nothing_else_fails(graded):
    rows, _ = graded
    blank = next(r for r in rows if r["student"] == "blank")
    total = sum(len(course.exercises(p)) for p in GRADED)
    assert (blank["score"], blank["total"]) == (0, total)
    feedback = [v for k, v in blank.items() if ": " in k]
    assert all(v.startswith("fail: NotImplementedError") for v in feedback), feedback
    assert blank["errors"] == ""  # every cell after an exercise ran without its solution


def test_the_solved_edition_scores_full_marks(graded):
    rows, _ = graded
    solved = next(r for r in rows if r["student"] == "solved")
    assert solved["score"] == solved["total"] > 0, solved
    assert solved["errors"] == ""


def test_a_wrong_answer_fails_with_the_checks_message(tmp_path):
    path = next(
        p for p in TUTORIALS if p.name.startswith("02")
    )  # steps_needed, linear_latency_step
    nb = solved_edition(path)
    for cell in nb.cells:
        if "def steps_needed(" in cell.source:  # one step too many: the check's assert says so
            cell.source = cell.source.replace("return ", "return 1 + ", 1)
    (tmp_path / "wrong").mkdir()
    nbformat.write(nb, tmp_path / "wrong" / path.name)
    outcome = course.grade(tmp_path)[0]
    assert outcome[f"{path.stem}: steps_needed"].startswith("fail: AssertionError"), outcome
    assert outcome[f"{path.stem}: linear_latency_step"] == "pass"
    assert outcome["score"] == 1


def test_the_csv_has_one_row_per_student_and_a_column_per_exercise(graded, tmp_path):
    rows, _ = graded
    path = course.write_csv(rows, tmp_path / "grades.csv")
    with open(path, newline="", encoding="utf-8") as f:
        read = list(csv.DictReader(f))
    assert [r["student"] for r in read] == ["blank", "solved"]
    exercises = [f"{p.stem}: {name}" for p in GRADED for _, name in course.exercises(p)]
    assert [k for k in read[0] if ": " in k] == exercises
    assert read[1]["score"] == str(len(exercises))


def test_a_notebook_not_handed_in_fails_its_exercises(tmp_path):
    (tmp_path / "subs" / "late").mkdir(parents=True)
    course.write_student_edition(TUTORIALS[:1], tmp_path / "ref")
    row = course.grade(tmp_path / "subs", reference=tmp_path / "ref")[0]
    assert row["score"] == 0 and row["total"] == len(course.exercises(TUTORIALS[0]))
    assert all(v == "fail: notebook not handed in" for k, v in row.items() if ": " in k)
