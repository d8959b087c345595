"""``cobra-lab data add``: a dataset of one's own from an image folder and a labels CSV, described, run, cached by
content, and every bad input refused in one line with nothing cached or stored."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from own_fixtures import CLASSES, GROUPS, counts, write_folder
from PIL import Image

from cobra_lab.cli import main
from cobra_lab.data import load
from cobra_lab.data.example import add_example
from cobra_lab.data.natural import cell_counts, class_skews, highest_skew, subsample
from cobra_lab.decoding import decode_images
from cobra_lab.errors import UserError


@pytest.fixture
def own(tmp_path: Path, isolated_data_root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A fresh labelled folder, an empty data folder and an empty dataset folder."""
    datasets = tmp_path / "datasets"
    monkeypatch.setenv("COBRA_LAB_DATASETS", str(datasets))
    labels = write_folder(tmp_path / "pets")
    return {"images": labels.parent / "images", "labels": labels, "data": isolated_data_root, "datasets": datasets}


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def add(capsys, own: dict[str, Path], *extra: str, name: str = "pets") -> tuple[int, str, str]:
    return run(capsys, "data", "add", name, "--images", str(own["images"]), "--labels", str(own["labels"]),
               "--quiet", "--workers", "1", *extra)


def rewrite(labels: Path, edit) -> None:
    """Rewrite the CSV's rows (header first) through ``edit(rows) -> rows``."""
    rows = list(csv.reader(labels.open(newline="")))
    with labels.open("w", newline="") as handle:
        csv.writer(handle).writerows(edit(rows))


def test_add_then_describe_reports_the_counts(capsys, own) -> None:
    code, out, err = add(capsys, own)
    assert code == 0, err
    assert "size 16 chosen" in out and "3 channel(s)" in out and (own["datasets"] / "pets.yaml").exists()
    code, out, err = run(capsys, "data", "describe", "pets", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["classes"] == list(CLASSES) and info["groups"] == list(GROUPS)
    assert info["train"]["counts"] == counts(train=True) and info["test"]["counts"] == counts(train=False)
    assert info["image_shape"] == [3, 16, 16] and len(info["params"]["content"]) == 64
    assert "pets" in run(capsys, "data", "list")[1].split()


def test_pixels_are_the_files_and_the_cache_is_keyed_by_content(capsys, own) -> None:
    assert add(capsys, own)[0] == 0
    data = load("pets")
    first = own["images"] / "cat" / "indoor-train-0.png"
    pixels = torch.from_numpy(np.array(Image.open(first))).permute(2, 0, 1)  # [3, 16, 16]
    restored = (data.denormalize(data.train.x[:1]) * 255).round().to(torch.uint8)[0]  # first CSV train row
    assert torch.equal(restored, pixels)
    before = {path.name for path in (own["data"] / "cache").iterdir()}
    Image.fromarray(255 - pixels.permute(1, 2, 0).numpy()).save(first)  # same name, new content
    changed = load("pets")
    after = {path.name for path in (own["data"] / "cache").iterdir()}
    assert changed.params["content"] != data.params["content"] and len(after - before) >= 2
    assert not torch.equal(changed.train.x[0], data.train.x[0])


def test_run_distills_the_own_dataset(capsys, own, isolated_outputs) -> None:
    assert add(capsys, own)[0] == 0
    code, out, err = run(capsys, "run", "--dataset", "pets", "--method", "dm", "--mode", "cobra", "--ipc", "5",
                         "--profile", "smoke", "--json", "--quiet")
    assert code == 0, err
    metrics = json.loads(out)
    config = yaml.safe_load((Path(metrics["run_dir"]) / "config.yaml").read_text())
    assert config["dataset"] == "pets" and config["data"]["content"] == load("pets").params["content"]
    assert 0 <= metrics["acc"] <= 100


def test_drawn_test_split_is_class_and_group_balanced(capsys, own) -> None:
    write_folder(own["labels"].parent, split=False)
    code, out, err = add(capsys, own, "--test-per-cell", "2")
    assert code == 0, err
    assert "test drawn" in out
    info = json.loads(run(capsys, "data", "describe", "pets", "--json")[1])
    assert info["test"]["counts"] == [[2, 2]] * 3
    assert info["train"]["counts"] == [[n + 3 - 2 for n in row] for row in counts(train=True)]


def test_mixed_modes_are_converted_and_said_once(capsys, own) -> None:
    for path in list((own["images"] / "dog").glob("*.png"))[:3]:
        Image.open(path).convert("L").save(path)
    code, out, err = add(capsys, own, "--channels", "3")
    assert code == 0, err
    assert err.count("modes") == 1 and "L" in err and "RGB" in err


def _missing_file(own):
    (own["images"] / "fox" / "outdoor-test-1.png").unlink()


def _truncated(own):
    path = own["images"] / "dog" / "indoor-train-2.png"
    path.write_bytes(path.read_bytes()[:40])


def _edit(fn):
    return lambda own: rewrite(own["labels"], fn)


def _link_out(own):
    outside = own["labels"].parent.parent / "outside.png"
    (own["images"] / "cat" / "indoor-train-0.png").rename(outside)
    os.symlink(outside, own["images"] / "cat" / "indoor-train-0.png")


BAD = {
    "missing file": (_missing_file, "fox/outdoor-test-1.png): file not found"),
    "unreadable image": (_truncated, "cannot read image"),
    "empty class": (_edit(lambda rows: [*rows[:2], [rows[2][0], "", *rows[2][2:]], *rows[3:]]), "empty class"),
    "empty group": (_edit(lambda rows: [*rows[:2], [*rows[2][:2], " ", *rows[2][3:]], *rows[3:]]), "empty group"),
    "single group": (_edit(lambda rows: [rows[0], *(r for r in rows[1:] if not r[0].startswith("fox/indoor"))]),
                     "class 'fox' has images of a single group ('outdoor')"),
    "duplicated path": (_edit(lambda rows: [*rows, rows[5]]), "repeats line 6"),
    "missing columns": (_edit(lambda rows: [["file", "label", "group", "split", "note"], *rows[1:]]),
                        "it has: file, label, group, split, note"),
    "escaping path": (_edit(lambda rows: [*rows[:3], ["../pets/labels.csv", *rows[3][1:]], *rows[4:]]),
                      "escapes the image folder"),
    "bad split": (_edit(lambda rows: [*rows[:3], [*rows[3][:3], "val", *rows[3][4:]], *rows[4:]]),
                  "split must be train or test"),
    "link out of the folder": (_link_out, "outside the image folder"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_is_one_line_and_stores_nothing(capsys, own, case) -> None:
    spoil, message = BAD[case]
    spoil(own)
    code, out, err = add(capsys, own)
    assert code == 2 and err.startswith("cobra-lab: error: ") and err.count("\n") == 1, err
    assert message in err, err
    assert not [path for path in own["data"].rglob("*") if path.is_file()]
    assert not own["datasets"].exists() or not any(own["datasets"].iterdir())


@pytest.mark.parametrize("name, message", [("cdigits_bg", "built-in"), ("../evil", "not a safe file name"),
                                           ("a b", "not a safe file name")])
def test_bad_names_are_refused(capsys, own, name, message) -> None:
    code, _, err = add(capsys, own, name=name)
    assert code == 2 and message in err and err.count("\n") == 1
    assert not own["datasets"].exists() or not any(own["datasets"].iterdir())


def test_skew_out_of_reach_says_the_highest(capsys, own) -> None:
    code, _, err = add(capsys, own, "--skew", "0.95")
    assert code == 2 and "reaches skew 0.9000 at most" in err and err.count("\n") == 1
    assert add(capsys, own, "--skew", "0.8")[0] == 0
    train = json.loads(run(capsys, "data", "describe", "pets", "--json")[1])["train"]
    assert all(abs(skew - 0.8) < 0.07 for skew in train["skew"])


def test_ipc_above_a_group_is_refused_before_storing(capsys, own) -> None:
    rewrite(own["labels"], lambda rows: [row for row in rows if "/outdoor-train-" not in row[0]
                                         or row[0].endswith("-0.png")])  # one outdoor train image per class
    assert add(capsys, own)[0] == 0
    store = own["data"].parent / "store"
    code, _, err = run(capsys, "run", "--dataset", "pets", "--method", "dm", "--mode", "cobra", "--ipc", "5",
                       "--profile", "smoke", "--quiet", "--out", str(store))
    assert code == 2 and err.count("\n") == 1
    assert "ipc 5 is more than the 3 train images of group 'outdoor' of pets; use ipc <= 3" in err
    assert not store.exists() or not [path for path in store.rglob("*") if path.is_file()]


def test_subsample_reaches_the_skew_and_refuses_beyond_the_highest() -> None:
    y = torch.tensor([0] * 30 + [1] * 30)  # [60]
    a = torch.tensor([0] * 20 + [1] * 10 + [1] * 25 + [0] * 5)  # [60]
    majority = torch.tensor([0, 1])
    counts_ = cell_counts(y, a, 2, 2)
    assert counts_.tolist() == [[20, 10], [5, 25]] and highest_skew(counts_, majority) == pytest.approx(20 / 21)
    keep = subsample(y, a, 2, 2, 0.8, majority, torch.Generator().manual_seed(0), "toy")
    kept = cell_counts(y[keep], a[keep], 2, 2)
    assert kept.tolist() == [[20, 5], [5, 20]] and class_skews(kept).tolist() == pytest.approx([0.8, 0.8])
    with pytest.raises(UserError, match="reaches skew 0.9524 at most"):
        subsample(y, a, 2, 2, 0.99, majority, torch.Generator().manual_seed(0), "toy")


def test_parallel_decoding_equals_serial(own) -> None:
    paths = sorted(str(path) for path in own["images"].rglob("*.png"))
    serial = decode_images(paths, 8, 3, workers=1, progress=False)
    parallel = decode_images(paths, 8, 3, workers=2, progress=False, chunk=16)
    assert parallel.pixels.shape == (len(paths), 3, 8, 8)
    assert (parallel.pixels == serial.pixels).all() and parallel.modes == serial.modes == {"RGB"}


def test_example_adds_with_its_skew(own) -> None:
    added = add_example(own["data"].parent / "example", "example", per_class=10, progress=False)
    assert added.labels.read_text().splitlines()[0] == "path,class,group,split"
    data = load("example")
    assert list(data.class_names[:2]) == ["eight", "five"] and list(data.group_names) == ["blue", "green", "red"]
    train = data.train.counts(10, 3)  # [C, G]
    assert train.sum(1).tolist() == [10] * 10 and data.test.counts(10, 3).sum().item() == 100
    assert (train.max(1).values == 8).all()  # skew 0.8 of 10 images per digit on its own colour
