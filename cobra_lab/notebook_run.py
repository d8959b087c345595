"""Execute one of the project's notebooks with parameters (papermill), a failed cell as a one-line UserError."""
from __future__ import annotations

import json
from pathlib import Path

import papermill

from .errors import UserError
from .paths import repo_root

# ipykernel warns on every start that its local TCP sockets are unencrypted; the kernel's errors still show
KERNEL_QUIET = ["--IPKernelApp.log_level=ERROR"]


def execute_notebook(notebook: Path, executed: Path, parameters: dict, progress: bool = True) -> Path:
    """Run ``notebook`` with ``parameters`` from the repository root and write the executed copy to
    ``executed``; a cell that raises is a UserError naming the cell and the error."""
    try:
        papermill.execute_notebook(str(notebook), str(executed), kernel_name="python3", cwd=str(repo_root()),
                                   progress_bar=progress, parameters=parameters, extra_arguments=KERNEL_QUIET)
    except papermill.PapermillExecutionError as error:
        raise UserError(f"{notebook.stem} failed in cell {error.exec_count}: {error.ename}: {error.evalue}") from None
    return executed


def notebook_title(notebook: Path) -> str:
    """The notebook's title: the first line of its first cell, without the Markdown heading mark."""
    first = json.loads(notebook.read_text(encoding="utf-8"))["cells"][0]["source"]
    return "".join(first).splitlines()[0].lstrip("# ").strip()
