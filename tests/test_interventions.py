"""Standard fairness interventions (paper Appendix N): RF (fair extractor), DF (reweighting), MF (fair downstream)."""
from __future__ import annotations

import copy

import pytest
import torch
from engine_fixtures import random_grouped_data, smoke_config

from cobra_lab import nets
from cobra_lab.config import resolve
from cobra_lab.interventions import fair_extractor
from cobra_lab.loops import distill
from cobra_lab.loops.statistic_matching import match_statistics
from cobra_lab.methods import METHODS
from cobra_lab.store import run_id
from cobra_lab.training import group_balanced_weights, train_epochs


def test_group_balanced_weights() -> None:
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    a = torch.tensor([0, 0, 0, 1, 2, 2, -1])
    w = group_balanced_weights(y, a)
    # class 0: shares 3/4 and 1/4 over 2 groups -> 2/3 and 2; class 1: one group -> 1; no group -> 1
    torch.testing.assert_close(w, torch.tensor([2 / 3, 2 / 3, 2 / 3, 2.0, 1.0, 1.0, 1.0]))
    for label in (0,):
        members = y == label
        assert w[members & (a == 0)].sum() == pytest.approx(float(w[members & (a == 1)].sum()))


def test_equal_weights_train_exactly_like_no_weights() -> None:
    x, y = torch.randn(12, 3, 8, 8), torch.arange(12) % 3
    runs = []
    for weight in (None, torch.full((12,), 2.5)):
        net = nets.build("convnet", 3, 3, 8, torch.Generator().manual_seed(0), width=4, depth=2)
        train_epochs(net, x, y, 2, lr=0.1, generator=torch.Generator().manual_seed(1), batch=5, sample_weight=weight)
        runs.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
    torch.testing.assert_close(runs[0], runs[1])


def test_fair_extractor_is_seeded_and_used_by_the_distiller() -> None:
    data = random_grouped_data()
    config = smoke_config("dm", "vanilla", extractor="fair", extractor_epochs=1)
    method = METHODS.build(config.method, config, data.image_shape, data.num_classes)
    a = fair_extractor(method, data, 1, seed=0, device=torch.device("cpu"))
    b = fair_extractor(method, data, 1, seed=0, device=torch.device("cpu"))
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)
    fair = distill(data, config, progress=False)
    plain = distill(data, smoke_config("dm", "vanilla"), progress=False)
    torch.testing.assert_close(fair.x, distill(data, config, progress=False).x)  # deterministic
    assert not torch.allclose(fair.x, plain.x)


def test_the_loop_matches_on_the_nets_its_factory_gives(tmp_path) -> None:
    data = random_grouped_data()
    config = smoke_config("dm", "vanilla")
    method = METHODS.build(config.method, config, data.image_shape, data.num_classes)
    fixed = method.new_net(torch.Generator().manual_seed(5))
    calls = []

    def one_net(generator: torch.Generator) -> torch.nn.Module:
        calls.append(generator)
        return copy.deepcopy(fixed)

    cpu = torch.device("cpu")
    fixed_set = match_statistics(data, config, method, cpu, tmp_path, progress=False, new_net=one_net)
    assert len(calls) == config.distill.iterations
    assert not torch.allclose(fixed_set.x, distill(data, config, progress=False).x)
    default = match_statistics(data, config, method, cpu, tmp_path, progress=False, new_net=method.new_net)
    torch.testing.assert_close(default.x, distill(data, config, progress=False).x)


def test_options_validated_and_hashed() -> None:
    base = resolve("cdigits_bg", "dm", "vanilla", 2, profile="smoke")
    ids = {run_id(base)}
    for overrides in ({"distill.extractor": "fair"}, {"eval.group_weighting": "balanced"}):
        ids.add(run_id(resolve("cdigits_bg", "dm", "vanilla", 2, profile="smoke", overrides=overrides)))
    assert len(ids) == 3
    from cobra_lab.errors import UserError

    with pytest.raises(UserError, match="eval.group_weighting"):
        resolve("cdigits_bg", "dm", "vanilla", 2, profile="smoke", overrides={"eval.group_weighting": "fair"})


def test_interventions_table_labels_and_bold() -> None:
    import pandas as pd

    from cobra_lab import paper
    from cobra_lab.studies.interventions import interventions_table, label
    from cobra_lab.studies.tables import paper_text

    rows = [("vanilla", "random", "none", 100.0), ("vanilla", "fair", "none", 98.0),
            ("vanilla", "random", "balanced", 90.0), ("cobra", "random", "none", 40.0), ("df", "random", "none", 60.0)]
    agg = pd.DataFrame([{"dataset": "d", "method": "dm", "ipc": 10, "mode": m, "distill.extractor": e,
                         "eval.group_weighting": w, "eod_max": eod, "acc": 50.0} for m, e, w, eod in rows])
    assert [label(row) for _, row in agg.iterrows()] == ["vanilla", "RF", "MF", "COBRA", "DF"]
    table, bold = interventions_table(agg)
    assert list(table.index.get_level_values("intervention")) == ["vanilla", "RF", "DF", "MF", "COBRA"]
    assert bold["EOD (Acc)"].tolist() == [False, False, False, False, True]
    assert set(table["paper"]) == {""}  # the paper's Table 18 has no dataset "d"
    paper_rows = interventions_table(agg.assign(dataset="bffhq"))[0]
    reported = paper.cell(18, dataset="bffhq", method="dm", intervention="DF")
    assert paper_rows.loc[("bffhq", "dm", 10, "DF"), "paper"] == paper_text(*reported)


def test_df_distills_a_different_set_from_vanilla_deterministically() -> None:
    data = random_grouped_data()
    df = distill(data, smoke_config("dm", "df"), progress=False)
    torch.testing.assert_close(df.x, distill(data, smoke_config("dm", "df"), progress=False).x)
    assert not torch.allclose(df.x, distill(data, smoke_config("dm", "vanilla"), progress=False).x)
