"""The typed config: run ids unchanged for stored configs, every profile valid, execution and later options."""
import copy

import pytest
import torch
import yaml

from cobra_lab.config import load_profile, profile_names, resolve
from cobra_lab.errors import UserError
from cobra_lab.evaluate import training_options
from cobra_lab.methods import METHODS
from cobra_lab.schema import FULL, distill_section, sections, typed, with_defaults
from cobra_lab.sections import EvalConfig
from cobra_lab.store import run_id, synset_id

# Run ids and distilled-set ids computed by the code before the schema existed (commit 6fc4fc4); a stored run
# must keep its id, or the store would silently recompute it.
STORED_IDS = [
    (("cdigits_bg", "dm", "cobra", 2, {"profile": "smoke"}),
     "cdigits_bg-dm-cobra-ipc2-smoke-s0-9b189795bd59", "cdigits_bg-dm-cobra-ipc2-smoke-s0-de24bb28915d"),
    (("cdigits_bg", "dc", "vanilla", 2, {"profile": "smoke"}),
     "cdigits_bg-dc-vanilla-ipc2-smoke-s0-7ebb6f952138", "cdigits_bg-dc-vanilla-ipc2-smoke-s0-62451dd24b04"),
    (("cdigits_bg", "full", None, 0, {"profile": "smoke"}),
     "cdigits_bg-full-smoke-s0-e40aadc6b2eb", "cdigits_bg-full-smoke-s0-f4f5eba36a7a"),
    (("cfmnist_bg", "dm", "fairdd", 10, {"profile": "quick", "seed": 1}),
     "cfmnist_bg-dm-fairdd-ipc10-quick-s1-51f949abea54", "cfmnist_bg-dm-fairdd-ipc10-quick-s1-45f04e68f6dc"),
    (("cfmnist_bg", "dc", "cobra", 10, {"profile": "quick"}),
     "cfmnist_bg-dc-cobra-ipc10-quick-s0-1fadd58c2f53", "cfmnist_bg-dc-cobra-ipc10-quick-s0-42107893572a"),
    (("cfmnist_bg", "full", None, 0, {"profile": "quick"}),
     "cfmnist_bg-full-quick-s0-666bca020a26", "cfmnist_bg-full-quick-s0-6e2ce643f240"),
    (("cfmnist_bg", "dm", "cobra", 50, {"profile": "paper"}),
     "cfmnist_bg-dm-cobra-ipc50-paper-s0-dcad60a95714", "cfmnist_bg-dm-cobra-ipc50-paper-s0-2081d2137a9e"),
    (("cdigits_bg", "dm", "cobra", 10, {"profile": "demo"}),
     "cdigits_bg-dm-cobra-ipc10-demo-s0-e952df339200", "cdigits_bg-dm-cobra-ipc10-demo-s0-c2bcadea5325"),
    (("cfmnist_bg", "dm", "cobra", 10, {"profile": "quick", "preset": "cobra_official"}),
     "cfmnist_bg-dm-cobra-ipc10-quick-s0-aa28e7ce7a19", "cfmnist_bg-dm-cobra-ipc10-quick-s0-87a4cc89e8d3"),
    (("cfmnist_bg", "dm", "cobra", 10, {"profile": "quick", "data": {"skew": 0.7, "gap": 2}}),
     "cfmnist_bg-dm-cobra-ipc10-quick-s0-b1bf0f82ea6d", "cfmnist_bg-dm-cobra-ipc10-quick-s0-9975945a94f4"),
    # stored when pooled K-means was the only imputation: asking for it by name finds the stored run
    (("cfmnist_bg", "dm", "cobra", 10,
      {"profile": "quick", "data": {"known_groups": 0.25, "imputation": "pooled_kmeans"}}),
     "cfmnist_bg-dm-cobra-ipc10-quick-s0-3092fc9aae54", "cfmnist_bg-dm-cobra-ipc10-quick-s0-2cc21276dcae"),
    (("cfmnist_bg", "dm", "cobra", 10, {"profile": "quick", "overrides": {"distill.discrepancy": "l1"}}),
     "cfmnist_bg-dm-cobra-ipc10-quick-s0-c22f1bcf2aaf", "cfmnist_bg-dm-cobra-ipc10-quick-s0-5e417ae7c127"),
    (("cfmnist_bg", "dm", "cobra", 10, {"profile": "quick", "overrides": {"eval.arch": "alexnet"}}),
     "cfmnist_bg-dm-cobra-ipc10-quick-s0-0a631b12b522", "cfmnist_bg-dm-cobra-ipc10-quick-s0-b5eadda28f08"),
    (("cfmnist_bg", "dm", "vanilla", 10, {"profile": "quick", "overrides": {"distill.extractor": "fair"}}),
     "cfmnist_bg-dm-vanilla-ipc10-quick-s0-a6bf776ad158", "cfmnist_bg-dm-vanilla-ipc10-quick-s0-292410447ec1"),
    (("cfmnist_bg", "dm", "vanilla", 10, {"profile": "quick", "overrides": {"eval.group_weighting": "balanced"}}),
     "cfmnist_bg-dm-vanilla-ipc10-quick-s0-242dca5940a7", "cfmnist_bg-dm-vanilla-ipc10-quick-s0-f96902cf2fce"),
    (("cfmnist_bg", "dm", "df", 10, {"profile": "quick"}),
     "cfmnist_bg-dm-df-ipc10-quick-s0-8b8e52479188", "cfmnist_bg-dm-df-ipc10-quick-s0-360d3f659fdb"),
    (("cfmnist_bg", "dm", "cobra", 10,
      {"profile": "quick", "runs": 1, "overrides": {"distill.iterations": 500, "eval.epochs": 200}}),
     "cfmnist_bg-dm-cobra-ipc10-quick-s0-3a531e748851", "cfmnist_bg-dm-cobra-ipc10-quick-s0-9ec9ac0b6d25"),
]


@pytest.mark.parametrize("args, stored_run, stored_synset", STORED_IDS, ids=[row[1] for row in STORED_IDS])
def test_run_ids_of_stored_configs_are_unchanged(args, stored_run, stored_synset) -> None:
    dataset, method, mode, ipc, options = args
    config = resolve(dataset, method, mode, ipc, **options)
    assert run_id(config) == stored_run and synset_id(config) == stored_synset


@pytest.mark.parametrize("profile", profile_names())
@pytest.mark.parametrize("method", [*METHODS.names(), FULL])
def test_every_profile_resolves_every_method_with_every_key(profile: str, method: str) -> None:
    config = resolve("cdigits_bg", method, "cobra", 2, profile=profile)
    for section in sections(method)[1:]:  # data is checked by the loader
        assert list(config[section.name]) == section.keys()
    assert ("distill" in config) == (method != FULL and METHODS.get(method).kind != "selection")


def test_every_distilling_method_has_a_distill_section() -> None:
    distilling = [method for method in METHODS.names() if METHODS.get(method).kind != "selection"]
    assert all(distill_section(method).name == "distill" for method in distilling)
    assert distill_section(FULL) is None
    assert [distill_section(method) for method in METHODS.names() if method not in distilling] == [None, None]


def test_execution_options_never_change_the_run_id() -> None:
    base = resolve("cdigits_bg", "dc", "cobra", 2, profile="quick")
    other = resolve("cdigits_bg", "dc", "cobra", 2, profile="quick",
                    overrides={"distill.real_chunk": 16, "distill.compile": False})
    assert other["distill"]["real_chunk"] == 16 and base["distill"]["compile"] is True
    assert run_id(other) == run_id(base) and synset_id(other) == synset_id(base)


def test_a_config_stored_before_the_later_options_keeps_its_id() -> None:
    config = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke")
    old = copy.deepcopy(config)
    for key in ("discrepancy", "extractor", "extractor_epochs", "compile"):
        del old["distill"][key]
    for key in ("arch", "group_weighting"):  # smoke's eval.max_test (1000) is not at its default
        del old["eval"][key]
    assert run_id(old) == run_id(config) and with_defaults(old) == config


def test_the_reference_render_is_another_run_and_synthetic_set() -> None:
    config = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke")
    other = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke", data={"render": "reference"})
    assert config["data"]["render"] == "clean" and other["data"]["render"] == "reference"
    assert run_id(other) != run_id(config) and synset_id(other) != synset_id(config)


def test_the_imputation_is_part_of_a_partial_label_run_only() -> None:
    def config(data: dict) -> dict:
        return resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke", data=data)

    clean, named = config({}), config({"imputation": "pooled_kmeans"})
    assert clean["data"]["imputation"] is None and named["data"]["imputation"] is None  # nothing imputed
    assert run_id(named) == run_id(clean)
    pixels, pooled = config({"known_groups": 0.5}), config({"known_groups": 0.5, "imputation": "pooled_kmeans"})
    assert pixels["data"]["imputation"] == "pixels_kmeans" and pooled["data"]["imputation"] == "pooled_kmeans"
    assert run_id(pixels) != run_id(pooled) and synset_id(pixels) != synset_id(pooled)
    assert run_id(config({"known_groups": 0.5, "imputation": "pixels_kmeans"})) == run_id(pixels)
    with pytest.raises(UserError, match="^unknown imputation 'pixel_kmeans'; choose one of: pixels_kmeans, "
                                        "pooled_kmeans$"):
        config({"known_groups": 0.5, "imputation": "pixel_kmeans"})


def test_profiles_are_completed_and_values_normalised() -> None:
    assert load_profile("quick")["methods"]["full"]["eval"]["group_weighting"] == "none"
    config = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke",
                     overrides={"distill.lr_img": 3, "distill.iterations": 2.0})
    assert config["distill"]["lr_img"] == 3.0 and isinstance(config["distill"]["lr_img"], float)
    assert config["distill"]["iterations"] == 2 and isinstance(config["distill"]["iterations"], int)
    assert EvalConfig.defaults() == {"max_test": None, "arch": None, "group_weighting": "none",
                                     "ensemble": True, "compile": False, "chunk": "auto",
                                     "dsa_strategy": "color_crop_cutout_flip_scale_rotate"}


def test_eval_has_its_own_dsa_strategy() -> None:
    config = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke")
    old = copy.deepcopy(config)
    del old["eval"]["dsa_strategy"]
    assert run_id(old) == run_id(config) and with_defaults(old) == config
    assert config["eval"]["dsa_strategy"] == config["distill"]["dsa_strategy"]
    other = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke", overrides={"eval.dsa_strategy": "flip"})
    assert run_id(other) != run_id(config) and synset_id(other) == synset_id(config)
    assert training_options(typed(other), torch.zeros(4), None, torch.device("cpu"))["augment"].ops == ["flip"]
    distill_only = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke", overrides={"distill.dsa_strategy": "crop"})
    assert training_options(typed(distill_only), torch.zeros(4), None, torch.device("cpu"))["augment"].ops == \
        training_options(typed(config), torch.zeros(4), None, torch.device("cpu"))["augment"].ops
    with pytest.raises(UserError, match="unknown DSA op 'spin'"):
        resolve("cdigits_bg", "full", None, 0, profile="smoke", overrides={"eval.dsa_strategy": "spin"})


@pytest.mark.parametrize("overrides, message", [
    ({"distill.lr_img": "1"}, "distill.lr_img must be a positive number, got '1'"),
    ({"distill.dsa": 1}, "distill.dsa must be true or false, got 1"),
    ({"eval.runs": True}, "eval.runs must be an integer >= 1, got True"),
    ({"eval.chunk": "small"}, "eval.chunk must be an integer >= 1, got 'small' (or 'auto')"),
    ({"mode": None}, "unknown mode None"),
])
def test_values_of_the_wrong_type_are_refused(overrides: dict, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke", overrides=overrides)


@pytest.fixture
def tiered_profile(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A params folder whose smoke profile changes DM's image learning rate from IPC 5 and again from IPC 20."""
    import cobra_lab.config as config_module
    params = config_module.params_dir()
    (tmp_path / "presets.yaml").write_text((params / "presets.yaml").read_text())
    (tmp_path / "profiles").mkdir()
    profile = yaml.safe_load((params / "profiles" / "smoke.yaml").read_text())

    def write(tiers: object) -> str:
        (tmp_path / "profiles" / "smoke.yaml").write_text(yaml.safe_dump({**profile, "from_ipc": tiers}))
        return "smoke"

    monkeypatch.setattr(config_module, "PARAMS_DIR", tmp_path)
    return write


def test_a_profile_changes_settings_from_an_ipc_on(tiered_profile) -> None:
    profile = tiered_profile({5: {"dm": {"distill": {"lr_img": 7.0}, "eval": {"epochs": 3}}},
                              20: {"dm": {"distill": {"lr_img": 9.0}}}})
    lr_img = {ipc: resolve("cdigits_bg", "dm", "cobra", ipc, profile=profile)["distill"]["lr_img"]
              for ipc in (2, 5, 10, 20, 50)}
    base = load_profile("smoke")["methods"]["dm"]["distill"]["lr_img"]
    assert lr_img == {2: base, 5: 7.0, 10: 7.0, 20: 9.0, 50: 9.0}
    assert resolve("cdigits_bg", "dm", "cobra", 50, profile=profile)["eval"]["epochs"] == 3  # a lower tier stays
    assert resolve("cdigits_bg", "dc", "cobra", 50, profile=profile)["distill"] == \
        resolve("cdigits_bg", "dc", "cobra", 50, profile="smoke")["distill"]
    overridden = resolve("cdigits_bg", "dm", "cobra", 50, profile=profile, overrides={"distill.lr_img": 1.0})
    assert overridden["distill"]["lr_img"] == 1.0  # --set still wins


@pytest.mark.parametrize("tiers, message", [
    ({"50": {"dm": {}}}, "from_ipc maps IPCs"),
    ({50: {"dmm": {}}}, "from_ipc maps IPCs"),
    ({50: {"dm": {"distill": {"lr_imgg": 1.0}}}}, "unknown"),
])
def test_a_bad_ipc_tier_is_one_line(tiered_profile, tiers: dict, message: str) -> None:
    profile = tiered_profile(tiers)
    with pytest.raises(UserError, match=message):
        resolve("cdigits_bg", "dm", "cobra", 50, profile=profile)


@pytest.mark.parametrize("profile", profile_names())
def test_every_ipc_tier_of_every_profile_resolves(profile: str) -> None:
    for tier, methods in (load_profile(profile).get("from_ipc") or {}).items():
        for method in methods:
            resolve("cdigits_bg", method, "cobra", tier, profile=profile)
