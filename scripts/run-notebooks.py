#!/usr/bin/env python3
"""run-notebooks.py: execute the Rust notebooks headless, with the evcxr kernel, and fail loudly.

    python run-notebooks.py                      every notebooks/*.ipynb, quick mode
    python run-notebooks.py notebooks/01-*.ipynb  only these
    python run-notebooks.py --full               without MINMAX_QUICK (the full-length cells)
    python run-notebooks.py --expect-fail DIR    self-test: every DIR/*.ipynb must be reported failed
    python run-notebooks.py --write-back         also write each passing notebook's outputs into it

Run it with the Python of the notebook virtual environment (scripts/install-notebooks.sh makes
it; scripts/run-notebooks.sh does both). It needs nbclient and nbformat, and the kernel `rust`
(`evcxr_jupyter --install`).

A cell fails when
  1. its output contains "panicked at" (a panic or a failed assert!; evcxr is configured with
     preserve_vars_on_panic = false, so the panic also ends the cell's process);
  2. the kernel answers with an error: a compile error (rustc's message is printed here, since
     nbclient does not show it), a failed `:dep`, a dead kernel, a timeout;
  3. it writes to stderr a line the notebook does not declare as expected, or any line starting
     with "Error:". A top-level `?` that returns an error is reported by evcxr as a *successful*
     cell that printed the error's message on stderr: this rule is what catches it. A notebook
     declares the stderr lines it expects (progress messages) in its metadata, as regular
     expressions: {"minmax": {"expected_stderr": ["^data: ", ...]}}.
evcxr forwards a cell's output from a separate thread, without waiting for it before it answers,
so after each cell the runner waits until the kernel has been quiet for a moment and adds what
arrived late to that cell. A notebook fails at its first failing cell (later cells depend on it)
and, in notebooks/, when it showed no picture at all (every notebook there shows at least one).

--expect-fail DIR is the runner's self-test: each DIR/*.ipynb must fail, at the cell and for the
reason its metadata names ({"minmax": {"expected_failure": {"cell": N, "reason": "a panic"}}}), so
a fixture that fails for another reason (say, the kernel could not start) does not count.

The kernel reads its settings from notebooks/evcxr.toml (EVCXR_CONFIG_DIR points there, so the
fixtures get the same settings). Builds go to a persistent folder outside the repository
($MINMAX_DATA/evcxr-build, default ~/.cache/minmax), so the crates compile once, not on every run;
notebooks run one after another, since they share it. Executed copies (with outputs) are written
to $MINMAX_DATA/notebooks-out/ (or --out). The last line is `notebooks: N passed, M failed` (or,
with --expect-fail, `fixtures: ...`); the exit status is non-zero on any failure.

Every run starts from empty outputs (a notebook committed with outputs is cleared before its cells
run, so an old picture never stands in for a new one). --write-back is how the committed notebooks
get their outputs, for readers who open them on a code-hosting site without running them: each
notebook that passes is also written over its own file, with what changes from run to run removed
(nbclient's execution timestamps in the cell metadata; this machine's home folder in printed paths,
written as ~), each cell's stream pieces joined (evcxr sends one per line), and the mode recorded in its metadata ({"minmax": {"outputs": "quick" or "full"}}).
A picture larger than --max-image-kb (150 KB), or a notebook file larger than --max-notebook-kb
(1,000 KB), is reported and the notebook is not written back: show smaller pictures. A notebook
whose pictures cannot be smaller without losing what they show declares its own limit, with the
reason, in its metadata: {"minmax": {"max_image_kb": 400, "max_image_kb_why": "..."}}. CI never passes
--write-back; it checks that the notebooks run, into the folder of executed copies.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("MINMAX_DATA", Path.home() / ".cache" / "minmax"))
KERNEL = "rust"
MAX_DETAIL_LINES = 40  # of a failing cell's output, printed here (all of it is in the executed copy)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(s: str) -> str:
    return ANSI.sub("", s)


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.rstrip("\n").splitlines())


class CellFailure(Exception):
    """The first failing cell of a notebook: where, why, and what it printed."""

    def __init__(self, index: int, source: str, reason: str, detail: str = ""):
        super().__init__(reason)
        self.index, self.source, self.reason, self.detail = index, source, reason, detail


def check_outputs(cell, index: int, expected_stderr: list[re.Pattern]) -> None:
    """Raise CellFailure if the executed cell's outputs show a failure (rules 1–3 above)."""
    outputs = cell.get("outputs", [])

    def text_of(out) -> str:
        if out.get("output_type") == "stream":
            return strip_ansi(out.get("text", ""))
        if out.get("output_type") == "error":
            # evcxr puts rustc's diagnostics in the traceback; ename/evalue are one line.
            lines = out.get("traceback") or [f"{out.get('ename', '')}: {out.get('evalue', '')}"]
            return strip_ansi("\n".join(lines))
        return strip_ansi(str(out.get("data", {}).get("text/plain", "")))

    everything = "".join(text_of(o) for o in outputs)
    if "panicked at" in everything:
        raise CellFailure(index, cell.source, "a panic", everything)
    for out in outputs:
        if out.get("output_type") == "error":
            raise CellFailure(index, cell.source, "the kernel reported an error", text_of(out))
    for out in outputs:
        if out.get("output_type") != "stream":
            continue
        text = text_of(out)
        for line in text.splitlines():
            if line.startswith("Error:"):
                raise CellFailure(index, cell.source, "an error message", text)
            if out.get("name") == "stderr" and line.strip() and not any(p.search(line) for p in expected_stderr):
                raise CellFailure(
                    index,
                    cell.source,
                    "unexpected stderr (a top-level `?` that returned an error prints its message "
                    'there; expected lines are declared in the notebook\'s metadata "minmax": '
                    '{"expected_stderr": [regex, ...]})',
                    text,
                )


def collect_late_output(client, cell, quiet: float, limit: float = 10.0) -> None:
    """Attach to `cell` the output the kernel sends after the cell finished.

    evcxr forwards the cell's stdout and stderr from a separate thread and does not wait for it
    before it answers: a line printed just before the cell ends (such as the error message of a
    top-level `?`) can arrive after nbclient has closed the cell. Wait until the kernel has been
    quiet for `quiet` seconds (at most `limit`). A line later still is attached by the kernel to
    the next cell and fails that one instead; after the last cell the runner waits longer."""
    import queue

    import nbformat
    from jupyter_core.utils import run_sync

    get = run_sync(client.kc.get_iopub_msg)
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            msg = get(timeout=quiet)
        except queue.Empty:
            return
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            cell.outputs.append(nbformat.v4.new_output("stream", name=content["name"], text=content["text"]))
        elif kind in ("display_data", "error"):
            cell.outputs.append(nbformat.v4.output_from_msg(msg))


def rust_std_libdir() -> str:
    """The folder holding the toolchain's libstd-*.so: <sysroot>/lib/rustlib/<host>/lib."""
    import subprocess

    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True, check=True).stdout.strip()
    version = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    host = next(line.split(":", 1)[1].strip() for line in version.splitlines() if line.startswith("host:"))
    return str(Path(sysroot) / "lib" / "rustlib" / host / "lib")


def count_images(nb) -> int:
    return sum(
        1
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    )


def clear_outputs(nb) -> None:
    """Empty every code cell's outputs and execution count, as in a notebook never run."""
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = []
            c.execution_count = None
            c.metadata.pop("execution", None)


def png_sizes(nb) -> list[tuple[int, int]]:
    """(cell index, decoded bytes) of every PNG the notebook shows."""
    import base64

    return [
        (i, len(base64.b64decode(o["data"]["image/png"])))
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]


def for_committing(nb, mode: str):
    """A copy of the executed `nb` without what differs between two runs of the same code: the
    execution timestamps nbclient records in each cell's metadata, and this machine's home
    folder in printed text (written as ~). Consecutive pieces of the same stream (evcxr sends
    one per line) become one output. Records the mode the outputs come from."""
    import copy

    nb = copy.deepcopy(nb)
    home = str(Path.home())

    def scrub(text: str) -> str:
        return text.replace(home + "/", "~/") if home not in ("", "/") else text

    for c in nb.cells:
        if c.cell_type != "code":
            continue
        c.metadata.pop("execution", None)
        merged = []
        for o in c.outputs:
            prev = merged[-1] if merged else None
            if o.get("output_type") == "stream" and prev is not None and prev.get("output_type") == "stream" and prev.get("name") == o.get("name"):
                prev["text"] += o["text"]
            else:
                merged.append(o)
        c.outputs = merged
        for o in c.outputs:
            if o.get("output_type") == "stream":
                o["text"] = scrub(o["text"])
            for mime, value in o.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    o["data"][mime] = scrub(value)
    nb.metadata.setdefault("minmax", {})["outputs"] = mode
    return nb


def write_back(nb, path: Path, mode: str, max_image_kb: int, max_notebook_kb: int) -> str | None:
    """Write the executed `nb` over `path`; returns why not, if a limit is exceeded."""
    import nbformat

    clean = for_committing(nb, mode)
    declared = clean.metadata.get("minmax", {}).get("max_image_kb")
    if declared is not None:
        if not clean.metadata["minmax"].get("max_image_kb_why"):
            return 'the notebook sets "max_image_kb" without saying why ("max_image_kb_why")'
        max_image_kb = declared
    big = [(i, n) for i, n in png_sizes(clean) if n > max_image_kb * 1000]
    if big:
        where = ", ".join(f"cell {i}: {n / 1000:.0f} KB" for i, n in big)
        return f"pictures over {max_image_kb} KB ({where}): show smaller ones"
    text = nbformat.writes(clean) + "\n"
    if len(text.encode()) > max_notebook_kb * 1000:
        return f"the notebook would be {len(text.encode()) / 1000:.0f} KB, over {max_notebook_kb} KB"
    path.write_text(text, encoding="utf-8")
    return None


def run_notebook(path: Path, out_dir: Path, timeout: int, need_image: bool):
    """Execute one notebook; returns (failure or None, images shown, seconds, expected failure,
    the executed notebook)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    clear_outputs(nb)  # outputs committed with the notebook are not this run's
    meta = nb.metadata.get("minmax", {})
    expected = [re.compile(p) for p in meta.get("expected_stderr", [])]
    client = NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=timeout,
        startup_timeout=300,
        allow_errors=True,  # we judge each cell ourselves, below
        resources={"metadata": {"path": str(path.parent)}},  # the kernel starts in the notebook's folder
    )
    t0 = time.monotonic()
    failure = None
    try:
        with client.setup_kernel():
            for i, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                tc = time.monotonic()
                try:
                    client.execute_cell(cell, i)
                except CellTimeoutError as e:
                    raise CellFailure(i, cell.source, f"timed out after {timeout} s", str(e))
                except DeadKernelError as e:
                    raise CellFailure(i, cell.source, "the kernel died", str(e))
                last = i == max(k for k, c in enumerate(nb.cells) if c.cell_type == "code")
                collect_late_output(client, cell, quiet=2.0 if last else 0.5)
                check_outputs(cell, i, expected)
                print(f"    cell {i:>2}: ok ({time.monotonic() - tc:.1f} s)", flush=True)
    except CellFailure as f:
        failure = f
    except Exception as e:  # kernel start-up failures and the like
        failure = CellFailure(-1, "", f"could not run the notebook: {type(e).__name__}", str(e))
    seconds = time.monotonic() - t0
    images = count_images(nb)
    if failure is None and need_image and images == 0:
        failure = CellFailure(-1, "", "no picture: every notebook shows at least one image")
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    return failure, images, seconds, meta.get("expected_failure"), nb


def failed_as_expected(f: CellFailure, expected: dict | None) -> bool:
    """A self-test fixture must fail at the cell its metadata names ("minmax": {"expected_failure":
    {"cell": N, "reason": "..."}}), not, say, because the kernel could not start."""
    if not expected:
        return f.index >= 0
    return f.index == expected.get("cell") and expected.get("reason", "") in f.reason


def report_failure(f: CellFailure) -> None:
    where = f"cell {f.index}" if f.index >= 0 else "notebook"
    print(f"  FAILED at {where}: {f.reason}")
    if f.source:
        print("  --- cell source ---")
        print(indent(f.source))
    if f.detail:
        print("  --- output ---")
        lines = f.detail.rstrip("\n").splitlines()
        print(indent("\n".join(lines[:MAX_DETAIL_LINES])))
        if len(lines) > MAX_DETAIL_LINES:
            print(f"    … {len(lines) - MAX_DETAIL_LINES} more lines in the executed copy")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: notebooks/*.ipynb)")
    ap.add_argument("--expect-fail", type=Path, metavar="DIR", help="self-test: every DIR/*.ipynb must fail")
    ap.add_argument("--full", action="store_true", help="do not set MINMAX_QUICK=1")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per cell (default 3600; the first cell compiles the crates)")
    ap.add_argument("--out", type=Path, default=CACHE / "notebooks-out", help="where executed copies go")
    ap.add_argument("--write-back", action="store_true",
                    help="also write each passing notebook, with its outputs, over its own file (to commit)")
    ap.add_argument("--max-image-kb", type=int, default=150, help="--write-back: largest picture (default 150; a notebook may declare its own)")
    ap.add_argument("--max-notebook-kb", type=int, default=1000, help="--write-back: largest notebook file (default 1000)")
    args = ap.parse_args()
    if args.write_back and args.expect_fail:
        ap.error("--write-back writes notebooks that passed; the fixtures of --expect-fail must fail")

    # The kernel (and the code it runs) inherits this environment.
    os.environ["EVCXR_CONFIG_DIR"] = str(REPO / "notebooks")
    os.environ.setdefault("EVCXR_TMPDIR", str(CACHE / "evcxr-build"))
    build = Path(os.environ["EVCXR_TMPDIR"])
    build.mkdir(parents=True, exist_ok=True)
    # One run at a time per build folder: two kernels writing the same crate would clash.
    import fcntl

    lock = open(build.parent / (build.name + ".lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"waiting for another run-notebooks.py that uses {build} ...", flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
    # evcxr links each cell against the toolchain's libstd-*.so and finds it through a relative
    # rpath that is one folder off when the build folder and the toolchain share a parent
    # (~/.cache and ~/.rustup): "dlopen failed" at kernel start. Put the library on the path.
    libdir = rust_std_libdir()
    os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in [libdir, os.environ.get("LD_LIBRARY_PATH", "")] if p)
    if args.full:
        os.environ.pop("MINMAX_QUICK", None)
    else:
        os.environ["MINMAX_QUICK"] = "1"

    if args.expect_fail:
        paths = sorted(args.expect_fail.glob("*.ipynb"))
        out_dir = args.out / "expect-fail"
    else:
        paths = args.notebooks or sorted((REPO / "notebooks").glob("*.ipynb"))
        out_dir = args.out
    if not paths:
        print(f"no notebooks found in {args.expect_fail or REPO / 'notebooks'}")
        return 1

    passed, failed, wrong, unwritten = [], [], [], []
    for p in paths:
        print(f"{p.name}:", flush=True)
        failure, images, seconds, expected, nb = run_notebook(p.resolve(), out_dir, args.timeout, need_image=not args.expect_fail)
        if failure is None:
            print(f"  passed in {seconds:.0f} s, {images} image(s)")
            passed.append(p.name)
            if args.write_back:
                why = write_back(nb, p, "full" if args.full else "quick", args.max_image_kb, args.max_notebook_kb)
                if why:
                    print(f"  NOT written back: {why}")
                    unwritten.append(p.name)
                else:
                    largest = max((n for _, n in png_sizes(nb)), default=0)
                    print(f"  written back to {p} ({p.stat().st_size / 1000:.0f} KB; largest picture {largest / 1000:.0f} KB)")
        elif args.expect_fail and not failed_as_expected(failure, expected):
            report_failure(failure)
            print(f"  error: expected a failure at cell {expected and expected.get('cell')} "
                  f"({expected and expected.get('reason')}): it failed for another reason")
            wrong.append(p.name)
        else:
            report_failure(failure)
            print(f"  (after {seconds:.0f} s)")
            failed.append(p.name)
        sys.stdout.flush()
    print(f"executed copies in {out_dir}")

    if args.expect_fail:
        # Every fixture must have been caught, at the cell and for the reason it declares.
        for name in passed:
            print(f"error: {name} should have failed but passed: the runner misses a failure")
        print(f"fixtures: {len(failed)} failed as expected, {len(passed)} passed unexpectedly, "
              f"{len(wrong)} failed for another reason")
        return 1 if passed or wrong else 0
    print(f"notebooks: {len(passed)} passed, {len(failed)} failed")
    if args.write_back:
        print(f"written back: {len(passed) - len(unwritten)}, refused: {len(unwritten)} {unwritten or ''}".rstrip())
    return 1 if failed or unwritten else 0


if __name__ == "__main__":
    sys.exit(main())
