"""The MTT distillation loop: seeded, checkpointed, with a progress bar.

MTT has its own loop rather than the statistic-matching one of ``distill.py``: it matches no per-class
statistic of a real batch (its real side is a pair of stored expert checkpoints), it learns the student's
learning rate beside the images, and its student runs many steps per iteration on flat parameters.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .augment import DSA
from .data.types import GroupedData
from .distill import CHECKPOINT_FRACTION, CHECKPOINT_SECONDS, SynSet, initial_images, resume_from, say_resumed
from .errors import UserError
from .integrity import expect, expect_tensor, save_torch
from .methods import METHODS
from .methods.mtt import barycentric, matching_loss, unroll
from .training import resolve_device
from .trajectories import Experts


def expert_bank(experts: Experts, data: GroupedData, config: dict, new_net: Callable, device: torch.device,
                progress: bool, log: Callable[[str], None] | None) -> torch.Tensor:
    """The checkpoints the loop draws from, [experts, sets, epochs used, P]: for vanilla the whole-split
    experts, for COBRA the groups' barycentric trajectory (one set), for ``fairdd`` every group's."""
    settings = config["distill"]
    last = int(settings["max_start_epoch"]) - 1 + int(settings["expert_epochs"])
    bank = []
    for trajectory in experts.trajectories(data, config["mode"], int(settings["experts"]), new_net, device, progress,
                                           log):  # [sets, E + 1, P]
        if config["mode"] == "cobra":
            trajectory = barycentric(trajectory).unsqueeze(0)  # [1, E + 1, P]
        bank.append(trajectory[:, :last + 1])
    return torch.stack(bank).to(device)


def check_mtt_checkpoint(state: object, x_shape: tuple[int, ...], iterations: int, generator_bytes: int) -> None:
    """Raise ``Mismatch`` unless ``state`` is an MTT checkpoint of images ``x_shape`` stopped within the run."""
    expect(isinstance(state, dict), "does not hold a checkpoint")
    iteration = state.get("iteration")
    expect(isinstance(iteration, int) and 0 < iteration < iterations,
           f"iteration {iteration!r} is outside 1..{iterations - 1}")
    expect_tensor(state, "x", x_shape, floating=True)  # [C * ipc, C, H, W]
    expect_tensor(state, "lr", (), floating=True)
    expect_tensor(state, "losses", (iteration,), floating=True)
    expect_tensor(state, "generator", (generator_bytes,))
    expect(isinstance(state.get("optimizer"), dict), "optimizer state is missing")
    expect(isinstance(state.get("seconds"), float) and state["seconds"] >= 0, "seconds is not a time")


def distill_mtt(data: GroupedData, config: dict, root: str | Path, checkpoint: str | Path | None = None,
                progress: bool = True, log: Callable[[str], None] | None = None) -> SynSet:
    """Distill ``config['ipc']`` images per class with MTT under the config's mode, from the expert trajectories
    stored under ``root`` (trained there first when missing).

    Each iteration draws an expert index and a start epoch t < max_start_epoch, unrolls the student from the
    (barycentric) start for ``syn_steps`` steps and moves the images and the student learning rate to shrink
    the normalised distance to the checkpoint at t + expert_epochs. With ``checkpoint``, state is saved about
    every minute or tenth of the run and a later call resumes from it with the same result.
    """
    settings = config["distill"]
    device = resolve_device(config["device"])
    method = METHODS.build("mtt", config, data.image_shape, data.num_classes)
    began_experts = time.time()
    bank = expert_bank(Experts(config, root), data, config, method.new_net, device, progress, log)
    if log is not None:
        log(f"expert trajectories ready in {time.time() - began_experts:.1f} s: {tuple(bank.shape)} checkpoints")
    generator = torch.Generator().manual_seed(int(config["seed"]))
    x_init, y_syn, init_index, init_group = initial_images(data, int(config["ipc"]), settings["init"], generator)
    x_syn = x_init.to(device).requires_grad_(True)
    y_syn = y_syn.to(device)
    syn_lr = torch.tensor(float(settings["lr_teacher"]), device=device).requires_grad_(True)
    optimizer = torch.optim.SGD([{"params": [x_syn], "lr": float(settings["lr_img"])},
                                 {"params": [syn_lr], "lr": float(settings["lr_lr"])}],
                                momentum=float(settings["momentum"]))
    student = method.new_net(torch.Generator().manual_seed(0)).to(device)  # lends its architecture only
    dsa = DSA(settings["dsa_strategy"]) if settings["dsa"] else None
    iterations, span = int(settings["iterations"]), int(settings["expert_epochs"])
    start, losses, elapsed = 0, [], 0.0
    checkpoint = Path(checkpoint) if checkpoint else None
    if checkpoint is not None:
        start, losses, elapsed = resume_from(checkpoint, lambda state, generator_bytes: check_mtt_checkpoint(
            state, tuple(x_syn.shape), iterations, generator_bytes), optimizer, generator, {"x": x_syn, "lr": syn_lr},
            log)
        say_resumed(start, iterations, f"distill mtt/{config['mode']}", progress, log)
    began, last_save = time.time(), time.time()
    save_every = max(1, int(iterations * CHECKPOINT_FRACTION))
    bar = tqdm(range(start, iterations), initial=start, total=iterations, disable=not progress,
               desc=f"distill mtt/{config['mode']}", unit="it", leave=False)
    for iteration in bar:
        index = int(torch.randint(bank.shape[0], (1,), generator=generator))
        epoch = int(torch.randint(int(settings["max_start_epoch"]), (1,), generator=generator))
        starts, targets = bank[index, :, epoch], bank[index, :, epoch + span]  # [sets, P]
        end = unroll(student, barycentric(starts), x_syn, y_syn, syn_lr, int(settings["syn_steps"]),
                     settings["batch_syn"], generator, dsa)
        loss = matching_loss(config["mode"], end, starts, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss = loss.detach()
        losses.append(float(loss))
        student_lr = float(syn_lr.detach())
        if not (torch.isfinite(loss) and math.isfinite(student_lr)):
            raise UserError(f"distillation diverged at iteration {iteration + 1} (loss {losses[-1]}, student lr "
                            f"{student_lr:.3g}); the run is not stored: try a smaller distill.lr_img or lr_lr")
        bar.set_postfix(loss=f"{losses[-1]:.4g}", lr=f"{student_lr:.3g}")
        done = iteration + 1
        if checkpoint is not None and done < iterations and (
                done % save_every == 0 or time.time() - last_save > CHECKPOINT_SECONDS):
            save_torch(checkpoint, {"x": x_syn.detach().cpu(), "lr": syn_lr.detach().cpu(),
                                    "optimizer": optimizer.state_dict(), "generator": generator.get_state(),
                                    "iteration": done, "losses": torch.tensor(losses),
                                    "seconds": elapsed + time.time() - began})
            last_save = time.time()
    bar.close()
    if log is not None:
        log(f"learned student lr {float(syn_lr.detach()):.4g}")
    return SynSet(x_syn.detach().cpu(), y_syn.cpu(), init_index, init_group, losses, elapsed + time.time() - began)
