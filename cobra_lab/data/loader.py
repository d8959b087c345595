"""``load``: validate the parameters, build or read the cached uint8 splits, normalise, attach groups."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from ..errors import UserError, check_choice, check_int, check_range
from ..io import config_hash
from . import bias
from .cache import cached
from .datasets import DATASETS, PIXEL_KEYS, RENDERS, Dataset, reference_rendered, shared_rendered
from .groups import DEFAULT_IMPUTATION, IMPUTATIONS, observe_groups
from .sources import data_root
from .types import GroupedData, Split

CACHE_VERSION = "1"  # bump when a change alters the pixels or groups a given set of parameters yields


def resolve_params(name: str, recipe: Dataset, *, skew: float | None, gap: float, semantic_gap: float,
                   group_noise: float, known_groups: float, seed: int, render: str = "clean",
                   content: str | None = None, imputation: str | None = None) -> dict:
    """Validated parameters with defaults filled in; a one-line UserError for any bad value.

    ``imputation`` names how unknown groups are imputed (``groups.IMPUTATIONS``; None: the default, the paper's);
    it is checked when given and resolved to None where every label is known (nothing is imputed there).

    ``content`` is the digest of a user's dataset's files (None: a built-in set): filled in when not given, and
    when given (a stored config), it must still be the digest of the files, else they changed since."""
    render = check_choice("render", render, RENDERS)
    if render == "reference" and recipe.reference_render is None:
        raise UserError(f"{name} is painted as the reference code paints it already; render=reference applies to "
                        f"{', '.join(reference_rendered())}")
    if render == "shared" and recipe.shared_group is None:
        raise UserError(f"{name} has natural groups, painted by its data; render=shared applies to "
                        f"{', '.join(shared_rendered())}")
    gap = check_int("gap", gap, 0, len(bias.GAP_STEPS))
    semantic_gap = check_range("semantic-gap", semantic_gap, 0, float("inf"))
    if recipe.majority is None:
        if skew is not None:
            raise UserError(f"{name} has a natural skew fixed by its data; do not pass skew")
        if gap or semantic_gap:
            raise UserError(f"{name} has natural groups with no designated majority group; gap and semantic-gap "
                            f"must be 0")
    else:
        skew = recipe.default_skew if skew is None else skew
        skew = None if skew is None else check_range("skew", skew, 1 / recipe.num_groups, 1)
    known_groups = check_range("known-groups", known_groups, 0, 1)
    if known_groups == 0:
        raise UserError("known-groups must be > 0: imputing groups needs some known labels, got 0")
    if imputation is not None:
        check_choice("imputation", imputation, IMPUTATIONS)
    imputation = None if known_groups == 1 else imputation or DEFAULT_IMPUTATION
    digest = recipe.content()
    if content is not None and content != digest:
        raise UserError(f"content {content!r} is not the digest of {name}'s files now ({digest}): they changed "
                        f"since this config was made; make it again" if digest else
                        f"content applies to datasets of your own (cobra-lab data add); {name} is built in")
    return {"name": name, "skew": skew, "gap": gap, "semantic_gap": semantic_gap,
            "group_noise": check_range("group-noise", group_noise, 0, 1), "known_groups": known_groups,
            "seed": check_int("seed", seed, 0), "render": render, "content": digest, "imputation": imputation}


def _cache_path(root: str | os.PathLike | None, key: dict, suffix: str) -> Path:
    """``<data root>/cache/<name>-<hash of key and CACHE_VERSION><suffix>.pt``."""
    digest = config_hash({**key, "version": CACHE_VERSION})
    return data_root(root) / "cache" / f"{key['name']}-{digest}{suffix}.pt"


def _without_clean(key: dict) -> dict:
    """A cache key without ``render`` where it is clean, ``content`` where it is None (a built-in set) and
    ``imputation`` where it is None (nothing imputed), so the caches built before they existed are found."""
    defaults = (("render", "clean"), ("content", None), ("imputation", None))
    return {name: value for name, value in key.items() if (name, value) not in defaults}


def _normalised(pixels: torch.Tensor, recipe: Dataset) -> torch.Tensor:
    """uint8 pixels mapped to float32 (x / 255 - mean) / std."""
    mean = torch.tensor(recipe.mean).view(1, -1, 1, 1)
    std = torch.tensor(recipe.std).view(1, -1, 1, 1)
    return pixels.float().div_(255).sub_(mean).div_(std)  # [N, C, H, W] float32


def _split(pixels: dict[str, torch.Tensor], split: str, observed: torch.Tensor, recipe: Dataset,
           semantic_gap: float) -> Split:
    """One normalised split, with the semantic GAP added to its minority images."""
    y, a = pixels[f"{split}_y"], pixels[f"{split}_a"]
    x = _normalised(pixels[f"{split}_x"], recipe)
    if semantic_gap:
        minority = bias.minority_mask(y, a, torch.tensor(recipe.majority))
        bias.add_semantic_gap(x, a, minority, semantic_gap, recipe.num_groups)
    return Split(x=x, y=y, a=a, a_observed=observed)


def load(name: str, *, skew: float | None = None, gap: int = 0, semantic_gap: float = 0.0,
         group_noise: float = 0.0, known_groups: float = 1.0, seed: int = 0, render: str = "clean",
         content: str | None = None, imputation: str | None = None, root: str | os.PathLike | None = None,
         cache: bool = True) -> GroupedData:
    """The dataset ``name`` with the given bias parameters, built once and then read from the data cache.

    Two cache files: the uint8 pixels keyed by (name, skew, gap, seed, and render where not clean, and the
    content digest of a user's set), and, only with group noise or partial labels, the observed train groups keyed
    by every parameter but the semantic GAP (applied at load). ``imputation``: how unknown group labels are
    imputed (``pixels_kmeans``, the default, or ``pooled_kmeans``; see ``groups``)."""
    recipe = DATASETS.build(name)
    params = resolve_params(name, recipe, skew=skew, gap=gap, semantic_gap=semantic_gap, group_noise=group_noise,
                            known_groups=known_groups, seed=seed, render=render, content=content,
                            imputation=imputation)

    def build_pixels() -> dict[str, torch.Tensor]:
        source = recipe.load_source(root, params["seed"])
        return recipe.build(source, params["skew"], params["gap"], params["seed"], render=params["render"])

    pixel_key = _without_clean({key: params[key] for key in ("name", "skew", "gap", "seed", "render", "content")})
    pixels = cached(_cache_path(root, pixel_key, ""), PIXEL_KEYS, build_pixels, enabled=cache)
    observed = pixels["train_a"].clone()  # [N]
    if params["group_noise"] or params["known_groups"] < 1:

        def build_groups() -> dict[str, torch.Tensor]:
            return {"a_observed": observe_groups(pixels["train_x"], pixels["train_a"], recipe.num_groups,
                                                 params["group_noise"], params["known_groups"], params["seed"],
                                                 params["imputation"])}

        group_key = _without_clean({key: value for key, value in params.items() if key != "semantic_gap"})
        observed = cached(_cache_path(root, group_key, "-groups"), ("a_observed",), build_groups,
                          enabled=cache)["a_observed"]
    return GroupedData(name=name,
                       train=_split(pixels, "train", observed, recipe, params["semantic_gap"]),
                       test=_split(pixels, "test", pixels["test_a"].clone(), recipe, params["semantic_gap"]),
                       class_names=list(recipe.class_names), group_names=list(recipe.group_names),
                       mean=recipe.mean, std=recipe.std, params=params)


def load_train(name: str, *, skew: float | None = None, gap: int = 0, seed: int = 0, render: str = "clean",
               root: str | os.PathLike | None = None, source=None) -> Split:
    """Only the train split of ``name`` at (skew, gap), uncached: the same images as ``load`` gives, built
    faster, for live views that visit many settings. Pass ``source`` (a loaded base set) to skip reading it."""
    recipe = DATASETS.build(name)
    params = resolve_params(name, recipe, skew=skew, gap=gap, semantic_gap=0.0, group_noise=0.0, known_groups=1.0,
                            seed=seed, render=render)
    source = source or recipe.load_source(root, params["seed"])
    pixels = recipe.build(source, params["skew"], params["gap"], params["seed"], with_test=False,
                         render=params["render"])
    return _split(pixels, "train", pixels["train_a"].clone(), recipe, 0.0)
