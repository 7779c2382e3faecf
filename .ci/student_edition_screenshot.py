"""A screenshot of one exercise in the student edition, as nbviewer-style HTML shows it.

The student edition (``spikelearn.teaching.course.student_edition``) is rendered by nbconvert's
``HTMLExporter`` with its ``classic`` template, the converter nbviewer renders notebooks with (not
nbviewer's own page around it, and not GitHub's renderer), then opened in headless Chromium
(Debian's, through playwright) with every http(s) request blocked, so MathJax does not typeset
and formulas show as TeX source. Before the shot it checks that the instructor edition's HTML has
the solution's marks and the student edition's has none. The picture runs from the first
exercise's text to the heading that follows it: in the instructor edition the solution's two
cells sit in between.

Usage: .venv/bin/python .ci/student_edition_screenshot.py tutorials/08_deep_spiking_resnets.ipynb \
           docs/_static/student_edition_08.png
"""

import sys
import tempfile
from pathlib import Path

import nbconvert
import nbformat
from nbconvert import HTMLExporter
from PIL import Image
from playwright.sync_api import sync_playwright

from spikelearn.teaching import course

MARKS = ("_solution", "@title Solution", "<strong>Solution</strong>")


def main(source, target, chromium="/usr/bin/chromium", width=1000):
    source, target = Path(source), Path(target)
    exporter = HTMLExporter(template_name="classic")
    student, _ = exporter.from_notebook_node(course.student_edition(source))
    teacher, _ = exporter.from_notebook_node(nbformat.read(source, as_version=4))
    for mark in MARKS:
        assert mark in teacher, f"the instructor edition has no {mark!r}: check MARKS"
        assert mark not in student, f"the student edition's HTML shows {mark!r}"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        page_file = Path(tmp) / "student.html"
        page_file.write_text(student, encoding="utf-8")
        browser = p.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.route(
            "**/*", lambda r: r.abort() if r.request.url.startswith("http") else r.continue_()
        )
        page.goto(page_file.as_uri(), wait_until="load")
        cells = page.locator("div.cell")
        texts = [cells.nth(i).inner_text().lstrip() for i in range(cells.count())]
        first = next(i for i, t in enumerate(texts) if t.startswith("Exercise"))
        last = next(i for i, t in enumerate(texts) if i > first and t[:1].isdigit())  # "2. ..."
        height = cells.nth(last).bounding_box()
        page.set_viewport_size({"width": width, "height": int(height["y"] + height["height"]) + 40})
        top, bottom = cells.nth(first).bounding_box(), cells.nth(last).bounding_box()
        shot = Path(tmp) / "shot.png"
        page.screenshot(
            path=str(shot),
            clip={
                "x": 0,
                "y": top["y"] - 10,
                "width": width,
                "height": bottom["y"] + bottom["height"] - top["y"] + 20,
            },
        )
        browser.close()
        Image.open(shot).quantize(colors=64).save(target, optimize=True)  # text on flat colours
    print(
        f"{target}: {source.name}'s student edition, cells {first}-{last}, nbconvert "
        f"{nbconvert.__version__} (classic template), Chromium headless, offline"
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
