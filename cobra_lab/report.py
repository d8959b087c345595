"""``cobra-lab report``: the audit notebook (notebooks/15_audit.ipynb) executed on stored runs and exported to
one self-contained HTML file without code cells (figures embedded, nothing fetched from the network)."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from .audit import load_audits, run_baselines
from .errors import UserError
from .io import atomic_write_text
from .notebook_run import execute_notebook
from .paths import check_writable, repo_root

NOTEBOOK = repo_root() / "notebooks" / "15_audit.ipynb"
# the exporter's page loads require.js and MathJax from a CDN; the report needs neither and must open offline
REMOTE_SCRIPT = re.compile(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>\s*')


def to_html(notebook: nbformat.NotebookNode, title: str) -> str:
    """An executed notebook as one HTML page: outputs and prose only, images inline, no remote scripts."""
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, exclude_anchor_links=True)
    html, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    return REMOTE_SCRIPT.sub("", html)


def write_report(run_ids: list[str], out: str | Path, results: str | Path | None = None, baselines: bool = False,
                 progress: bool = True) -> Path:
    """Execute the audit notebook on the stored runs ``run_ids`` of the store ``results`` (None: the default
    store) and write it to ``out`` as HTML, atomically; with ``baselines`` the selection baselines missing from
    the store are computed first. A bad run id or ``out`` is a one-line UserError, before anything runs."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"--out must end in .html, got {str(out)!r}")
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; name an HTML file")
    check_writable(out.parent, "report folder (--out)")
    audits = load_audits(run_ids, results)
    if baselines:
        run_baselines(audits, progress)
    root = str(audits[0].run.root)
    with tempfile.TemporaryDirectory(prefix="cobra-report-") as folder:
        executed = Path(folder) / NOTEBOOK.name
        execute_notebook(NOTEBOOK, executed, {"run_ids": list(run_ids), "results": root,
                                              "out_dir": str(Path(folder) / "figures")}, progress)
        notebook = nbformat.read(executed, as_version=4)
    title = "Fairness audit: " + ", ".join(audit.label for audit in audits)
    return atomic_write_text(out, to_html(notebook, title))
