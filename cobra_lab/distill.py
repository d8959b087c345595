"""The distillation loop: one skeleton for every method and mode, seeded, checkpointed, with a progress bar."""
from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .augment import DSA
from .data.types import GroupedData
from .errors import UserError
from .integrity import DamagedFile, expect, expect_tensor, move_aside, parse_torch, read_checked, save_torch
from .interventions import NetFactory, net_factory
from .methods import METHODS, Method
from .modes import MODES, Mode
from .sampling import CellSampler
from .training import resolve_device

CHECKPOINT_SECONDS = 60.0
CHECKPOINT_FRACTION = 0.1


@dataclass
class SynSet:
    """A distilled set: images [C * ipc, C, H, W] (normalised), labels [C * ipc] and where they came from."""

    x: torch.Tensor
    y: torch.Tensor
    init_index: torch.Tensor  # [C * ipc] train rows the images started from (-1: noise)
    init_group: torch.Tensor  # [C * ipc] observed group of those rows (-1: noise)
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def state(self) -> dict:
        """Tensors and numbers only, for ``torch.save`` / ``weights_only`` loading."""
        return {"x": self.x, "y": self.y, "init_index": self.init_index, "init_group": self.init_group,
                "losses": torch.tensor(self.losses), "seconds": torch.tensor(self.seconds, dtype=torch.float64)}

    @classmethod
    def from_state(cls, state: dict) -> "SynSet":
        """Rebuild a SynSet saved with ``state()``."""
        return cls(state["x"], state["y"], state["init_index"], state["init_group"],
                   state["losses"].tolist(), float(state["seconds"]))


IterationHook = Callable[[int, Callable[[], SynSet]], None]  # (iterations done, the set so far) after each one


def decoded(synset: SynSet, config: dict, num_classes: int) -> SynSet:
    """The set evaluation nets train on: the method's decoding of the stored images (``Method.decode``; the
    stored set itself for most methods), each decoded image with the label and provenance of its stored image."""
    method = METHODS.build(config["method"], config, tuple(synset.x.shape[1:]), num_classes)
    with torch.no_grad():
        x = method.decode(synset.x)  # [C * ipc * k, C, H, W]
    k = x.shape[0] // synset.x.shape[0]
    if k == 1:
        return synset
    return replace(synset, x=x, y=synset.y.repeat_interleave(k), init_index=synset.init_index.repeat_interleave(k),
                   init_group=synset.init_group.repeat_interleave(k))


def check_synset_state(state: object, config: dict, num_classes: int, image_shape: tuple[int, ...]) -> None:
    """Raise ``Mismatch`` unless ``state`` is a distilled set of ``config``: ipc * classes finite images of the
    dataset's shape, the per-class labels in class blocks, and one loss per iteration."""
    expect(isinstance(state, dict), "does not hold a distilled set")
    ipc = int(config["ipc"])
    count = num_classes * ipc
    expect_tensor(state, "x", (count, *image_shape), floating=True)  # [C * ipc, C, H, W]
    labels = expect_tensor(state, "y", (count,))
    expect(torch.equal(labels.long(), torch.arange(num_classes).repeat_interleave(ipc)),
           f"y is not {ipc} labels per class in class blocks")
    expect_tensor(state, "init_index", (count,))
    expect_tensor(state, "init_group", (count,))
    expect_tensor(state, "losses", (int(config["distill"]["iterations"]),), floating=True)
    seconds = expect_tensor(state, "seconds", ())
    expect(float(seconds) >= 0, "seconds is negative")


def check_checkpoint_state(state: object, x_shape: tuple[int, ...], iterations: int, generator_bytes: int) -> None:
    """Raise ``Mismatch`` unless ``state`` is a checkpoint of a distillation of images ``x_shape`` stopped
    after iteration 1..iterations - 1."""
    expect(isinstance(state, dict), "does not hold a checkpoint")
    iteration = state.get("iteration")
    expect(isinstance(iteration, int) and 0 < iteration < iterations,
           f"iteration {iteration!r} is outside 1..{iterations - 1}")
    expect_tensor(state, "x", x_shape, floating=True)  # [C * ipc, C, H, W]
    expect_tensor(state, "losses", (iteration,), floating=True)
    expect_tensor(state, "generator", (generator_bytes,))
    optimizer = state.get("optimizer")
    expect(isinstance(optimizer, dict) and isinstance(optimizer.get("state"), dict), "optimizer state is missing")
    for entry in optimizer["state"].values():
        buffer = entry.get("momentum_buffer") if isinstance(entry, dict) else None
        expect(buffer is None or (isinstance(buffer, torch.Tensor) and tuple(buffer.shape) == tuple(x_shape)),
               "optimizer momentum does not match the images")
    seconds = state.get("seconds")
    expect(isinstance(seconds, (int, float)) and seconds >= 0, "seconds is not a time")


def initial_images(data: GroupedData, ipc: int, init: str, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Starting images [C * ipc, ...] in class blocks: random real images of each class, or N(0, 1) noise."""
    rows = []
    for label in range(data.num_classes):
        members = torch.nonzero(data.train.y == label).flatten()
        rows.append(members[torch.randperm(members.numel(), generator=generator)[:ipc]])
        if rows[-1].numel() < ipc:
            rows[-1] = members[torch.randint(members.numel(), (ipc,), generator=generator)]
    index = torch.cat(rows)  # [C * ipc]
    labels = torch.arange(data.num_classes).repeat_interleave(ipc)
    if init == "noise":
        noise = torch.randn((index.numel(), *data.image_shape), generator=generator)
        return noise, labels, torch.full_like(index, -1), torch.full_like(index, -1)
    return data.train.x[index].clone(), labels, index, data.train.a_observed[index]


def loss_reads_every(device: torch.device) -> int:
    """Iterations between reading the losses back: every one on the CPU; on a GPU 25, since each read waits for
    the device and the host could otherwise queue the next iterations meanwhile."""
    return 1 if device.type == "cpu" else 25


def image_lr(settings: dict, iteration: int) -> float:
    """The images' learning rate at ``iteration`` (from 0): ``lr_img`` halved at each of ``lr_img_halve_at``
    reached, a pure function of the iteration so a resumed run follows the same schedule."""
    halvings = sum(iteration >= step for step in settings["lr_img_halve_at"] or [])
    return float(settings["lr_img"]) * 0.5 ** halvings


def image_step(method: Method, mode: Mode, net: nn.Module, x_syn: torch.Tensor, optimizer: torch.optim.Optimizer,
               sampler: CellSampler, dsa: DSA | None, train_x: torch.Tensor,
               generator: torch.Generator) -> torch.Tensor:
    """One update of the synthetic images x_syn [classes * ipc, C, H, W]; returns the loss, detached.

    Samples a real batch of train_x [N, C, H, W], draws one DSA op shared by every real and synthetic
    image, computes both statistics, the mode's loss plus the method's ``extra_loss``, and takes one optimiser
    step.
    """
    batch = sampler.sample(generator)
    if dsa is not None:
        draw = dsa.draw(generator, n=1, size=x_syn.shape[-1])
        augment = lambda images: dsa.apply(images, draw)  # noqa: E731
    else:
        augment = lambda images: images  # noqa: E731
    phi = method.real_statistics(net, train_x[batch.index], batch, augment)  # [K, D]
    phi = phi.view(*batch.counts.shape, -1)  # [C, G, D]
    syn = method.synthetic_statistics(net, x_syn, augment)  # [C, D]
    loss = mode.loss(phi, batch.counts, syn, method.distance, population=batch.population)
    extra = method.extra_loss(net, batch, syn)
    if extra is not None:
        loss = loss + extra
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def distill(data: GroupedData, config: dict, checkpoint: str | Path | None = None, progress: bool = True,
            log: Callable[[str], None] | None = None, on_iteration: IterationHook | None = None) -> SynSet:
    """Distill ``config['ipc']`` images per class from ``data.train`` with the config's method and mode.

    With ``checkpoint``, state is saved there about every minute or tenth of the run and a later call
    resumes from it, giving the same result as an uninterrupted run; it says ``resumed at iteration k of n``
    to ``log`` and the progress output. A damaged or mismatched checkpoint is reported, moved aside and
    the distillation starts over. The nets it matches statistics on come from ``interventions.net_factory``:
    the method's fresh random nets, or copies of a fair extractor (``distill.extractor: fair``).
    ``on_iteration(done, snapshot)`` is called after each iteration with the iterations done so far and a
    function returning the set as it stands (cheap to skip: nothing is copied unless it is called).
    """
    device = resolve_device(config["device"])
    method = METHODS.build(config["method"], config, data.image_shape, data.num_classes)
    new_net = net_factory(method, data, config, device)
    return distill_loop(data, config, method, new_net, device, checkpoint, progress, log, on_iteration)


def distill_loop(data: GroupedData, config: dict, method: Method, new_net: NetFactory, device: torch.device,
                 checkpoint: str | Path | None = None, progress: bool = True,
                 log: Callable[[str], None] | None = None, on_iteration: IterationHook | None = None) -> SynSet:
    """The loop of ``distill``: each iteration matches ``method``'s statistics on the net ``new_net(generator)``
    gives, so what nets the distiller sees (fresh random ones, a fixed extractor) is decided by the caller."""
    settings = config["distill"]
    generator = torch.Generator().manual_seed(int(config["seed"]))
    mode = MODES.build(config["mode"]).configured(settings)
    sampler = CellSampler(data.train.y, data.train.a_observed, data.num_classes, data.num_groups,
                          int(settings["real_per_class"]), mode.sampling, device)
    dsa = DSA(settings["dsa_strategy"]) if settings["dsa"] else None
    x_init, y_syn, init_index, init_group = initial_images(data, int(config["ipc"]), settings["init"], generator)
    x_syn = x_init.to(device).requires_grad_(True)
    y_syn = y_syn.to(device)
    optimizer = torch.optim.SGD([x_syn], lr=float(settings["lr_img"]), momentum=float(settings["momentum"]))
    train_x = data.train.x.to(device)
    iterations = int(settings["iterations"])
    start, losses, elapsed = 0, [], 0.0
    checkpoint = Path(checkpoint) if checkpoint else None
    if checkpoint is not None:
        start, losses, elapsed = resume_from(checkpoint, lambda state, generator_bytes: check_checkpoint_state(
            state, tuple(x_syn.shape), iterations, generator_bytes), optimizer, generator, {"x": x_syn}, log)
        say_resumed(start, iterations, f"distill {config['method']}/{config['mode']}", progress, log)

    def save_checkpoint(iteration: int) -> None:
        save_torch(checkpoint, {"x": x_syn.detach().cpu(), "optimizer": optimizer.state_dict(),
                                "generator": generator.get_state(), "iteration": iteration,
                                "losses": torch.tensor(losses), "seconds": elapsed + time.time() - began})

    def snapshot() -> SynSet:
        return SynSet(x_syn.detach().cpu().clone(), y_syn.cpu(), init_index, init_group, list(losses),
                      elapsed + time.time() - began)

    pending: list[torch.Tensor] = []  # losses of the iterations not yet read back, on the device
    read_every = loss_reads_every(device)

    def read_losses() -> None:
        """Move the pending losses into ``losses`` (one wait for the device); stop at the first that is not finite,
        since a NaN set would evaluate as a trivially "fair" constant classifier."""
        if not pending:
            return
        values = torch.stack(pending).tolist()
        pending.clear()
        for value in values:
            losses.append(value)
            if not math.isfinite(value):
                raise UserError(f"distillation diverged at iteration {len(losses)} (loss {value}); the run is not "
                                f"stored: try a smaller distill.lr_img or another distill.discrepancy")
        bar.set_postfix(loss=f"{losses[-1]:.4g}")

    began, last_save = time.time(), time.time()
    save_every = max(1, int(iterations * CHECKPOINT_FRACTION))
    bar = tqdm(range(start, iterations), initial=start, total=iterations, disable=not progress,
               desc=f"distill {config['method']}/{config['mode']}", unit="it", leave=False)
    for iteration in bar:
        for group in optimizer.param_groups:
            group["lr"] = image_lr(settings, iteration)
        net = new_net(generator).to(device, non_blocking=True)  # no wait for the device's queue
        method.prepare(net, x_syn, y_syn, generator)
        for round_index in range(method.rounds()):
            loss = image_step(method, mode, net, x_syn, optimizer, sampler, dsa, train_x, generator)
            if round_index < method.rounds() - 1:
                method.between_rounds(net, x_syn, y_syn, generator)
        pending.append(loss)
        done = iteration + 1
        if len(pending) >= read_every or done == iterations:
            read_losses()
        if on_iteration is not None:
            read_losses()
            on_iteration(done, snapshot)
        if checkpoint is not None and done < iterations and (
                done % save_every == 0 or time.time() - last_save > CHECKPOINT_SECONDS):
            read_losses()
            save_checkpoint(done)
            last_save = time.time()
    bar.close()
    return SynSet(x_syn.detach().cpu(), y_syn.cpu(), init_index, init_group, losses,
                  elapsed + time.time() - began)


def resume_from(checkpoint: Path, check: Callable[[object, int], None], optimizer: torch.optim.Optimizer,
                generator: torch.Generator, tensors: dict[str, torch.Tensor],
                log: Callable[[str], None] | None) -> tuple[int, list[float], float]:
    """Load the state in ``checkpoint``, checked by ``check(state, generator_bytes)``, into the optimiser, the
    generator and each of ``tensors`` (state[name] copied into tensors[name]): (iteration, losses, seconds) to go on
    from, or (0, [], 0.0) when it is absent or damaged (then reported and moved aside, the generator untouched)."""
    fresh = generator.get_state()
    try:
        state = read_checked(checkpoint, parse_torch, lambda state: check(state, fresh.numel()))
        if state is None:
            return 0, [], 0.0
        try:
            generator.set_state(state["generator"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError, TypeError) as error:
            generator.set_state(fresh)
            raise DamagedFile(checkpoint, f"does not fit the optimiser ({error})") from None
    except DamagedFile as damage:
        move_aside(damage, "distilling from the start", log)
        return 0, [], 0.0
    with torch.no_grad():
        for name, tensor in tensors.items():
            tensor.copy_(state[name].to(tensor.device))
    return int(state["iteration"]), state["losses"].tolist(), float(state["seconds"])


def say_resumed(start: int, iterations: int, label: str, progress: bool, log: Callable[[str], None] | None) -> None:
    """When a loop resumed (``start`` > 0): "resumed at iteration k of n" to ``log`` and, with ``progress``, above the
    progress bar labelled ``label``."""
    if not start:
        return
    message = f"resumed at iteration {start} of {iterations}"
    if log is not None:
        log(message)
    if progress:
        tqdm.write(f"{label}: {message}", file=sys.stderr)
