"""Shared fixtures: isolated data folders, tiny on-disk datasets in their real layouts, real Fashion-MNIST builds."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from data_needs import FASHION_MNIST_MARK, fashion_mnist_missing
from PIL import Image

from cobra_lab.data import load


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an (uncompressed) IDX file, the format of the MNIST files."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def make_tiny_mnist(root: Path, folder: str = "MNIST", seed: int = 0) -> Path:
    """200 train / 100 test random 28x28 digits, in torchvision's ``<root>/<folder>/raw`` layout."""
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    for prefix, per_class in (("train", 20), ("t10k", 10)):
        labels = np.repeat(np.arange(10), per_class).astype(np.uint8)
        rng.shuffle(labels)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (len(labels), 28, 28), dtype=np.uint8))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return raw


def _temporary_folder_in(variable: str, name: str, factory: pytest.TempPathFactory):
    """A fresh temporary folder named in the environment variable ``variable`` for the session."""
    patch = pytest.MonkeyPatch()
    folder = factory.mktemp(name)
    patch.setenv(variable, str(folder))
    yield folder
    patch.undo()


@pytest.fixture(scope="session", autouse=True)
def isolated_outputs(tmp_path_factory: pytest.TempPathFactory):
    """Results a test stores without naming a folder go to a temporary one, never to the repo's outputs/."""
    yield from _temporary_folder_in("COBRA_LAB_OUTPUTS", "outputs", tmp_path_factory)


@pytest.fixture(scope="session", autouse=True)
def isolated_own_datasets(tmp_path_factory: pytest.TempPathFactory):
    """Datasets of one's own that a test adds go to a temporary folder, never to the repo's params/datasets/."""
    yield from _temporary_folder_in("COBRA_LAB_DATASETS", "own-datasets", tmp_path_factory)


@pytest.fixture
def mnist_writer():
    """``make_tiny_mnist`` for tests that lay out their own MNIST-style folders."""
    return make_tiny_mnist


@pytest.fixture
def face_writer():
    """``save_face`` for tests that add their own image files."""
    return save_face


@pytest.fixture
def isolated_data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data folder as $COBRA_LAB_DATA, so nothing is ever read from or written to the repo."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("COBRA_LAB_DATA", str(root))
    return root


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point torchvision's download addresses at a closed local port: a download attempt fails at once."""
    import torchvision.datasets as tvd

    monkeypatch.setattr(tvd.MNIST, "mirrors", ["http://127.0.0.1:9/"])
    monkeypatch.setattr(tvd.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])
    monkeypatch.setattr(tvd.CIFAR10, "url", "http://127.0.0.1:9/cifar-10-python.tar.gz")


@pytest.fixture
def tiny_mnist_root(isolated_data_root: Path) -> Path:
    """A data folder holding tiny MNIST files in torchvision's layout."""
    make_tiny_mnist(isolated_data_root)
    return isolated_data_root


@pytest.fixture
def tiny_cifar_root(isolated_data_root: Path) -> Path:
    """A data folder holding tiny CIFAR-10 pickles (10 train / 5 test images per class) in torchvision's layout."""
    rng = np.random.default_rng(1)
    folder = isolated_data_root / "cifar-10-batches-py"
    folder.mkdir()
    batches = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in batches:
        labels = np.repeat(np.arange(10), 2 if name != "test_batch" else 5)
        data = rng.integers(0, 256, (len(labels), 3 * 32 * 32), dtype=np.uint8)
        with open(folder / name, "wb") as handle:
            pickle.dump({"data": data, "labels": labels.tolist()}, handle)
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": [f"class{k}" for k in range(10)]}, handle)
    return isolated_data_root


def save_face(path: Path, colour: tuple[int, int, int], size: int = 80) -> None:
    """A small solid-colour RGB image with a darker square, as JPEG or PNG by suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (size, size), colour)
    image.paste((0, 0, 0), (size // 4, size // 4, size // 2, size // 2))
    image.save(path)


@pytest.fixture
def utkface_root(isolated_data_root: Path) -> Path:
    """A tiny UTKFace folder: 4 images per (age bin, race) cell except 2 in (bin 0, race 3), plus junk."""
    folder = isolated_data_root / "UTKFace"
    for age in (10, 25, 50):  # one age per bin
        for race in range(4):
            count = 2 if (age, race) == (10, 3) else 4
            for i in range(count):
                save_face(folder / f"{age}_{i % 2}_{race}_2017{i:04d}.jpg.chip.jpg", (40 * race, 60, 20 * i))
    save_face(folder / "30_1_2017.jpg", (9, 9, 9))  # fewer than 4 fields
    save_face(folder / "40_0_4_2017.jpg", (9, 9, 9))  # race 4 ("Others") is dropped
    save_face(folder / "x_0_1_2017.jpg", (9, 9, 9))  # age is not a number
    (folder / "notes.txt").write_text("not an image")
    return isolated_data_root


@pytest.fixture
def bffhq_root(isolated_data_root: Path) -> Path:
    """A tiny BFFHQ folder: align (age = gender), conflict (age != gender), test, plus malformed names."""
    folder = isolated_data_root / "bffhq"
    for i in range(6):
        save_face(folder / "0.5pct" / "align" / "0" / f"{i:05d}_0_0.png", (200, 150, 150))
        save_face(folder / "0.5pct" / "align" / "1" / f"{i + 10:05d}_1_1.png", (100, 100, 150))
    save_face(folder / "0.5pct" / "conflict" / "0" / "00020_0_1.png", (150, 200, 150))
    save_face(folder / "0.5pct" / "conflict" / "1" / "00021_1_0.png", (150, 150, 200))
    save_face(folder / "0.5pct" / "align" / "0" / "broken.png", (0, 0, 0))  # no label fields
    for i, (y, a) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)] * 2):
        save_face(folder / "test" / f"{i + 30:05d}_{y}_{a}.jpg", (50 * y, 50 * a, 90))
    save_face(folder / "test" / "00040_2_0.jpg", (0, 0, 0))  # label 2 does not exist
    return isolated_data_root


@pytest.fixture(scope="session")
def study_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for the notebook runs and the advertised commands: a smoke run both make is computed once."""
    return tmp_path_factory.mktemp("study_store")


@pytest.fixture(scope="module")
def study_env(study_store: Path, session_data_root: Path):
    """The shared data folder and store as the environment (notebook kernels inherit it): the notebook runs and
    the advertised commands compute each smoke run once."""
    patch = pytest.MonkeyPatch()
    patch.setenv("COBRA_LAB_DATA", str(session_data_root))
    patch.setenv("COBRA_LAB_OUTPUTS", str(study_store))
    yield study_store
    patch.undo()


@pytest.fixture(scope="session")
def ray_cluster():
    """The address of a Ray cluster of two nodes on 127.0.0.1 (a head and a worker node, one CPU each), started
    once for the tests that ask for it and stopped after them."""
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")
    from cobra_lab.ray_backend import local_cluster

    with local_cluster(nodes=2, cpus_per_node=1) as address:
        yield address


@pytest.fixture(scope="session")
def session_data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder (and cache) shared by the tests that build real Fashion-MNIST benchmarks."""
    return tmp_path_factory.mktemp("cobra_data")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{FASHION_MNIST_MARK}: skipped, with the reason, without Debian's "
                                       "Fashion-MNIST")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``requires_fashion_mnist`` skip with their reason where the data is missing."""
    if item.get_closest_marker(FASHION_MNIST_MARK) and (reason := fashion_mnist_missing()):
        pytest.skip(reason)


def _require_debian_fashion_mnist() -> None:
    if reason := fashion_mnist_missing():
        pytest.skip(reason)


@pytest.fixture(scope="session")
def cfmnist_bg(session_data_root: Path):
    """C-FMNIST (BG) at skew 0.9 built from Debian's real Fashion-MNIST files."""
    _require_debian_fashion_mnist()
    return load("cfmnist_bg", skew=0.9, root=session_data_root)


@pytest.fixture(scope="session")
def cfmnist_bg_partial(session_data_root: Path, cfmnist_bg):
    """C-FMNIST (BG) at skew 0.9 with 25% of the train group labels known, the rest imputed by K-means."""
    return load("cfmnist_bg", skew=0.9, known_groups=0.25, root=session_data_root)
