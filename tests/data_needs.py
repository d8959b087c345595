"""What data a test needs: the ``requires_fashion_mnist`` marker's check, shared by conftest and the tests that
decide per notebook or per command."""
from __future__ import annotations

from cobra_lab.data.datasets import DATASETS
from cobra_lab.data.sources import IDX_FILES

FASHION_MNIST_MARK = "requires_fashion_mnist"


def fashion_mnist_missing() -> str | None:
    """Why the tests that need the real Fashion-MNIST cannot run here, or None when Debian's files are present."""
    from cobra_lab.data import sources  # read at call time: a test may point it elsewhere

    if all((sources.DEBIAN_FASHION_MNIST / f"{name}.gz").is_file() for name in IDX_FILES):
        return None
    return (f"Debian's Fashion-MNIST files are absent from {sources.DEBIAN_FASHION_MNIST} "
            f"(apt-get install dataset-fashion-mnist; make test installs it when run as root)")


def uses_fashion_mnist(params: dict) -> bool:
    """Whether notebook or sweep parameters name a benchmark built on Fashion-MNIST (dataset / datasets)."""
    names = [params.get("dataset"), *(params.get("datasets") or [])]
    return any(name in DATASETS.names() and DATASETS.build(name).source == "fashion_mnist" for name in names)
