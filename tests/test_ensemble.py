"""Evaluation nets trained as one ensemble are the nets trained one by one, to float rounding."""
import pytest
import torch
from engine_fixtures import changed, random_grouped_data, smoke_config

from cobra_lab.accel.compiled import compilation_failed
from cobra_lab.config import identity, resolve
from cobra_lab.ensemble import NetEnsemble, can_stack, pass_rows, predict_ensemble
from cobra_lab.errors import UserError
from cobra_lab.evaluate import evaluate, train_eval_ensemble, train_eval_net
from cobra_lab.nets import build
from cobra_lab.sections import RunConfig
from cobra_lab.training import predict

DATA = random_grouped_data(classes=4, groups=3, train=40, test=120)


@pytest.fixture(autouse=True)
def one_thread():
    """One CPU thread: these nets are tiny, and idle threads spinning on a busy machine cost more than they give."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def eval_config(runs: int = 3, epochs: int = 4, **settings) -> RunConfig:
    """The smoke DM evaluation (DSA per image) with ``runs`` nets, batch 16 so an epoch has several steps."""
    return changed(smoke_config("dm", "cobra"), "eval", **{"runs": runs, "epochs": epochs, "batch": 16,
                                                            "max_test": None, **settings})


def assert_same_nets(ensemble: NetEnsemble, config: RunConfig, runs: list[int], groups: torch.Tensor | None = None):
    """Member r of ``ensemble`` has net r's weights (to float rounding) and predicts what net r predicts."""
    stacked, confidence = predict_ensemble(ensemble, DATA.test.x)  # [R, M] each
    for index, run in enumerate(runs):
        alone = train_eval_net(DATA.train.x, DATA.train.y, config, 4, run, groups)
        for (name, weight), member in zip(alone.state_dict().items(), ensemble.net(index).state_dict().values()):
            torch.testing.assert_close(member, weight, rtol=1e-4, atol=1e-5, msg=name)
        classes, alone_confidence = predict(alone, DATA.test.x)  # [M] each
        agree = (classes == stacked[index]).float().mean()
        assert agree >= 0.99, f"net {run}: {agree:.3f} of predictions agree"
        torch.testing.assert_close(alone_confidence, confidence[index], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("vectorize", [False, True], ids=["members-in-turn", "vmap"])
@pytest.mark.parametrize("chunk", ["auto", 6], ids=["whole-batch", "padded-passes-of-6"])
def test_each_member_is_the_net_trained_alone(vectorize, chunk):
    config = eval_config(chunk=chunk)  # batch 16 of 40 images: passes of 6 pad 16 to 18 and 8 to 12
    ensemble = train_eval_ensemble(DATA.train.x, DATA.train.y, config, 4, [0, 1, 2], vectorize=vectorize)
    assert ensemble.vectorize is vectorize
    assert_same_nets(ensemble, config, [0, 1, 2])


def test_passes_split_a_batch_evenly():
    assert [pass_rows(batch, 32) for batch in (100, 256, 32, 31, 33, 1)] == [25, 32, 32, 31, 17, 1]


def test_padded_prediction_batches_predict_the_same():
    ensemble = train_eval_ensemble(DATA.train.x, DATA.train.y, eval_config(runs=2, epochs=1), 4, [0, 1])
    whole = predict_ensemble(ensemble, DATA.test.x)  # [2, 120] classes and confidences
    padded = predict_ensemble(ensemble, DATA.test.x, batch=7)  # 120 = 17 x 7 + 1 (6 blanks)
    assert torch.equal(padded[0], whole[0])
    torch.testing.assert_close(padded[1], whole[1])


def test_members_differ_from_each_other():
    ensemble = train_eval_ensemble(DATA.train.x, DATA.train.y, eval_config(), 4, [0, 1])
    first, second = (ensemble.net(i).state_dict()["classifier.weight"] for i in (0, 1))
    assert not torch.allclose(first, second)


def test_group_weighted_members_match_weighted_nets():
    config = eval_config(runs=2, group_weighting="balanced")
    groups = DATA.train.a
    ensemble = train_eval_ensemble(DATA.train.x, DATA.train.y, config, 4, [0, 1], groups)
    assert_same_nets(ensemble, config, [0, 1], groups)


def test_evaluate_reports_the_same_metrics_either_way():
    stacked = evaluate(DATA.train.x, DATA.train.y, DATA.test, eval_config(), 4, 3, progress=False)
    alone = evaluate(DATA.train.x, DATA.train.y, DATA.test, eval_config(ensemble=False), 4, 3, progress=False)
    assert stacked["eval_nets_stacked"] and not alone["eval_nets_stacked"]
    for ours, theirs in zip(stacked["per_run"], alone["per_run"]):
        assert ours["acc"] == pytest.approx(theirs["acc"], abs=1.0)  # at most one test image in 100 flips
    assert len({run["acc"] for run in stacked["per_run"]}) > 1  # three different nets, not one thrice


def test_batchnorm_nets_train_one_by_one():
    config = changed(eval_config(runs=2), "net", norm="batchnorm")
    assert not can_stack(build("convnet", 3, 4, 16, torch.Generator(), width=8, norm="batchnorm"))
    assert train_eval_ensemble(DATA.train.x, DATA.train.y, config, 4, [0, 1]) is None
    result = evaluate(DATA.train.x, DATA.train.y, DATA.test, config, 4, 3, progress=False)
    assert not result["eval_nets_stacked"] and result["runs"] == 2


def test_cross_architecture_ensemble_matches():
    config = eval_config(runs=2, epochs=2, arch="alexnet")
    ensemble = train_eval_ensemble(DATA.train.x, DATA.train.y, config, 4, [0, 1])
    assert_same_nets(ensemble, config, [0, 1])


@pytest.mark.parametrize("batch, chunk", [(14, 14), (40, 16)], ids=["batch-in-one-pass", "padded-passes-of-14"])
def test_compiled_members_match_eager(batch, chunk):
    """Batches of 14 in one pass each (40 = 14 + 14 + 12), or one batch of 40 = 3 x 14 - 2 in passes of 14:
    either way a pass holds 14 images, so one compilation serves both cases."""
    config = eval_config(runs=2, epochs=1, batch=batch, compile=True, chunk=chunk)
    ensemble = train_eval_ensemble(DATA.train.x, DATA.train.y, config, 4, [0, 1])
    assert_same_nets(ensemble, config, [0, 1])
    assert not compilation_failed()  # the compiled passes ran, not their eager fallback


def test_ensemble_and_compile_are_execution_options():
    base = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke")
    assert base["eval"]["ensemble"] is True
    for key, value in (("eval.ensemble", False), ("eval.compile", True), ("eval.chunk", 8)):
        assert identity(resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke", overrides={key: value})) == \
            identity(base)
        with pytest.raises(UserError, match=key):
            resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke", overrides={key: "yes"})
