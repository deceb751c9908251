#!/usr/bin/env python3
"""test_run_notebooks.py: unit tests of run-notebooks.py's --write-back path, without a kernel.

    <notebook venv>/bin/python scripts/test_run_notebooks.py

They build small notebooks in memory (nbformat) with the outputs an executed one has, and check
what --write-back keeps and drops: nbclient's timestamps go, this machine's home folder becomes ~,
pieces of a stream are joined, the mode is recorded, outputs committed earlier are cleared before a run, and a picture or a file
over the limits is refused (nothing written). scripts/run-notebooks.sh runs them first.
"""

from __future__ import annotations

import base64
import importlib.util
import tempfile
import unittest
from pathlib import Path

import nbformat

spec = importlib.util.spec_from_file_location("run_notebooks", Path(__file__).with_name("run-notebooks.py"))
rn = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rn)


def executed_notebook(png_bytes: int = 100) -> nbformat.NotebookNode:
    """A notebook as nbclient leaves it: outputs, execution counts and timing metadata."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# a title"))
    c = nbformat.v4.new_code_cell("println!(\"hi\");")
    c.execution_count = 1
    c.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    c.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"output in {Path.home()}/.cache/minmax/run\n"),
        nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(b"\0" * png_bytes).decode()}),
    ]
    nb.cells.append(c)
    return nb


class WriteBack(unittest.TestCase):
    def test_volatile_metadata_and_home_are_removed(self):
        clean = rn.for_committing(executed_notebook(), "quick")
        cell = clean.cells[1]
        self.assertNotIn("execution", cell.metadata)
        self.assertEqual(cell.outputs[0]["text"], "output in ~/.cache/minmax/run\n")
        self.assertEqual(clean.metadata["minmax"]["outputs"], "quick")
        self.assertEqual(cell.execution_count, 1)  # kept: the order the cells ran in

    def test_consecutive_pieces_of_a_stream_become_one(self):
        nb = executed_notebook()
        out = nb.cells[1].outputs
        out.insert(1, nbformat.v4.new_output("stream", name="stdout", text="second line\n"))
        out.insert(2, nbformat.v4.new_output("stream", name="stderr", text="a warning\n"))
        out.insert(3, nbformat.v4.new_output("stream", name="stderr", text="another\n"))
        clean = rn.for_committing(nb, "quick").cells[1].outputs
        self.assertEqual([(o["output_type"], o.get("name")) for o in clean],
                         [("stream", "stdout"), ("stream", "stderr"), ("display_data", None)])
        self.assertEqual(clean[0]["text"], "output in ~/.cache/minmax/run\nsecond line\n")
        self.assertEqual(clean[1]["text"], "a warning\nanother\n")
        self.assertEqual(len(nb.cells[1].outputs), 5)  # the executed copy keeps its pieces

    def test_the_executed_notebook_itself_is_not_changed(self):
        nb = executed_notebook()
        rn.for_committing(nb, "full")
        self.assertIn("execution", nb.cells[1].metadata)
        self.assertNotIn("minmax", nb.metadata)

    def test_clear_outputs_empties_every_code_cell(self):
        nb = executed_notebook()
        rn.clear_outputs(nb)
        self.assertEqual(nb.cells[1].outputs, [])
        self.assertIsNone(nb.cells[1].execution_count)
        self.assertEqual(rn.count_images(nb), 0)

    def test_png_sizes_are_decoded_sizes(self):
        self.assertEqual(rn.png_sizes(executed_notebook(1234)), [(1, 1234)])

    def test_writes_a_notebook_that_reads_back(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "n.ipynb"
            self.assertIsNone(rn.write_back(executed_notebook(), p, "quick", 150, 1000))
            back = nbformat.read(p, as_version=4)
            nbformat.validate(back)
            self.assertEqual(rn.count_images(back), 1)
            self.assertEqual(back.metadata["minmax"]["outputs"], "quick")

    def test_refuses_a_large_picture(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "n.ipynb"
            why = rn.write_back(executed_notebook(200_000), p, "quick", 150, 10_000)
            self.assertIn("cell 1: 200 KB", why)
            self.assertFalse(p.exists())

    def test_a_notebook_may_declare_a_larger_limit_with_a_reason(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "n.ipynb"
            nb = executed_notebook(200_000)
            nb.metadata["minmax"] = {"max_image_kb": 250}
            self.assertIn("without saying why", rn.write_back(nb, p, "quick", 150, 10_000))
            self.assertFalse(p.exists())
            nb.metadata["minmax"]["max_image_kb_why"] = "a strip of six panels"
            self.assertIsNone(rn.write_back(nb, p, "quick", 150, 10_000))
            nb.metadata["minmax"]["max_image_kb"] = 190
            self.assertIn("cell 1: 200 KB", rn.write_back(nb, p, "quick", 150, 10_000))

    def test_refuses_a_large_notebook(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "n.ipynb"
            why = rn.write_back(executed_notebook(100_000), p, "quick", 150, 100)  # 133 KB of base64
            self.assertIn("over 100 KB", why)
            self.assertFalse(p.exists())


if __name__ == "__main__":
    unittest.main()
