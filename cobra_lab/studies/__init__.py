"""The paper's studies, one module per notebook: what it runs (a grid builder registered under the notebook's
name), tabulates and draws. Shared beside them: ``grids`` (the registry and the common grid entries),
``tables`` (paper-style result tables) and ``figures`` (sweep lines, result bars).

quickstart (00), main_table (01), skew_gap (02), semantic_gap (03), label_noise (04), partial_labels (05),
tsne (06), image_grids (07), residuals (08), discrepancy (09), cross_arch (10), low_ipc (11),
interventions (12), overhead (13; no grid: it reads the step benchmark), mtt (14)."""
from __future__ import annotations

import inspect
from pathlib import Path

import yaml

from ..config import params_dir
from ..errors import UserError
from . import (  # noqa: F401  (each registers its grid builder)
    cross_arch,
    discrepancy,
    image_grids,
    interventions,
    label_noise,
    low_ipc,
    main_table,
    mtt,
    partial_labels,
    quickstart,
    residuals,
    semantic_gap,
    skew_gap,
    tsne,
)
from .grids import STUDIES


def notebook_params(name: str) -> dict:
    """The parameters of notebook ``name`` as stored in params/<name>.yaml (also usable with ``papermill -f``)."""
    path = params_dir() / f"{name}.yaml"
    if not path.exists():
        raise UserError(f"no parameter file {path}")
    return yaml.safe_load(path.read_text()) or {}


def study_grids(name: str, params: dict) -> list[dict]:
    """The grids study ``name`` runs for ``params`` (keys it does not take, such as out_dir, are ignored)."""
    build = STUDIES.get(name)
    taken = inspect.signature(build).parameters
    missing = [key for key, parameter in taken.items() if parameter.default is parameter.empty and key not in params]
    if missing:
        raise UserError(f"the parameters of {name} lack {', '.join(missing)}")
    return build(**{key: value for key, value in params.items() if key in taken})


def grids_from_file(path: str | Path, overrides: dict | None = None) -> list[dict]:
    """The grids of a sweep file: a study's parameter file (params/<notebook>.yaml), or a file with ``grid:``;
    ``overrides`` replace top-level entries of the file (an unknown one is a UserError)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"no such sweep file: {path}")
    if not path.is_file():
        raise UserError(f"{path} is a folder, not a sweep file")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise UserError(f"{path} is not valid YAML: {str(error).splitlines()[0]}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read the sweep file {path}: {error}") from None
    if not isinstance(content, dict):
        raise UserError(f"{path} must hold a mapping")
    for key, value in (overrides or {}).items():
        if key not in content:
            raise UserError(f"{path.name} has no entry {key!r}; it has: {', '.join(content)}")
        content[key] = value
    if "grid" in content:
        return content["grid"] if isinstance(content["grid"], list) else [content["grid"]]
    if path.stem in STUDIES:
        return study_grids(path.stem, content)
    raise UserError(f"{path}: expected a 'grid:' entry or a study's parameter file ({', '.join(STUDIES.names())})")


__all__ = ["STUDIES", "grids_from_file", "notebook_params", "study_grids"]
