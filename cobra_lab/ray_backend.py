"""Grid runs as Ray tasks: each group of runs sharing a distilled set is one task on a Ray cluster; a task
whose worker is lost is retried and resumes from the distillation checkpoint in the (shared) store.

A cluster started here (for a sweep given no address, or to try the backend) listens on 127.0.0.1, keeps its
files in a temporary folder of its own, ignores a Ray token left in ~/.ray, and is stopped with everything it
wrote when the sweep ends: an earlier Ray use cannot break it, and it leaves nothing behind."""
from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .environment import environment
from .errors import UserError
from .store import run_id

MAX_RETRIES = 3  # a task whose worker or node dies is run again this many times (from its checkpoint)
FORWARDED_ENV = ("COBRA_LAB_DATA",)  # the driver's data folder is every node's (set it to a shared folder)
INSTALL_HINT = "pip install -e '.[ray]' (or pip install 'ray>=2.60')"
# Every cluster this process starts checks one token of its own (its nodes and this process get it through the
# environment), so a token another Ray use left in ~/.ray/auth_token is never read.
LOCAL_CLUSTER_ENV = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}

Group = list[tuple[int, dict]]  # (grid index, config) of runs sharing a distilled set; (grid index, result) back


def import_ray() -> Any:
    """The ``ray`` module, or a one-line UserError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(f"the ray backend needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def check_resource(name: str, value: float | None, default: float, positive: bool) -> float:
    """A Ray resource amount per run (``None``: ``default``): above 0 (``positive``) or at least 0, and a
    fraction up to 1 or a whole number, as Ray requires."""
    if value is None:
        return default
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not (value > 0 if positive else value >= 0) or (value > 1 and value != int(value)):
        raise UserError(f"{name} must be {'> 0' if positive else '>= 0'}, a fraction up to 1 or a whole number "
                        f"(e.g. 0.25, 1, 2), got {value!r}")
    return float(value)


def _one_line(error: BaseException) -> str:
    """``Type: first line of the message`` (Ray's errors carry the remote traceback after it)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _connect(ray: Any, address: str | None) -> None:
    """Join the cluster at ``address`` (None: $RAY_ADDRESS; auto: the cluster ``ray start`` runs on this
    machine), sending the driver's data folder to every worker."""
    env = {key: os.environ[key] for key in FORWARDED_ENV if os.environ.get(key)}
    try:
        ray.init(address=address, runtime_env={"env_vars": env} if env else None, logging_level=logging.WARNING,
                 log_to_driver=False)
    except (ConnectionError, ValueError, RuntimeError) as error:
        raise UserError(f"cannot reach a Ray cluster at {address or 'the default address'}: {_one_line(error)}"
                        ) from None


def _warn_if_no_node_fits(ray: Any, cpus: float, gpus: float) -> None:
    """Warn when no node has the CPUs and GPUs of one run (the runs wait until an autoscaler adds one)."""
    nodes = [node["Resources"] for node in ray.nodes() if node["Alive"]]
    if not any(res.get("CPU", 0) >= cpus and res.get("GPU", 0) >= gpus for res in nodes):
        warnings.warn(f"no node of the Ray cluster has {cpus:g} CPUs and {gpus:g} GPUs for one run; the runs "
                      f"wait for such a node (lower --cpus-per-run / --gpus-per-run?)", stacklevel=3)


@dataclass(frozen=True)
class RayOptions:
    """Where grid runs go on Ray and what each run holds: the cluster ``address`` (None: $RAY_ADDRESS, else a
    cluster started here for the sweep, on 127.0.0.1; auto: the cluster ``ray start`` runs on this machine),
    CPUs and GPUs per run (0.25 packs four)."""

    address: str | None = None
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0

    @classmethod
    def checked(cls, address: str | None, cpus_per_run: float | None, gpus_per_run: float | None) -> "RayOptions":
        """The options with their amounts checked and Ray importable (else a one-line UserError)."""
        options = cls(address, check_resource("cpus_per_run", cpus_per_run, 1.0, positive=True),
                      check_resource("gpus_per_run", gpus_per_run, 0.0, positive=False))
        import_ray()
        return options


def run_groups(task: Callable[[Group, str], Group], groups: list[Group], root: str,
               options: RayOptions) -> Iterator[tuple[int, dict]]:
    """Yield (index, result) as the groups finish, each ``task(group, root)`` one Ray task. A task that fails
    as a whole (its worker lost more than MAX_RETRIES times) gives each of its runs a failed result."""
    ray = import_ray()
    owned = not ray.is_initialized()
    with ExitStack() as stack:
        if owned:
            address = options.address
            if address is None and not os.environ.get("RAY_ADDRESS"):
                address = stack.enter_context(local_cluster(nodes=1, cpus_per_node=os.cpu_count() or 1))
            _connect(ray, address)
        yield from _run_tasks(ray, task, groups, root, options, owned)


def _run_tasks(ray: Any, task: Callable[[Group, str], Group], groups: list[Group], root: str, options: RayOptions,
               owned: bool) -> Iterator[tuple[int, dict]]:
    """Yield (index, result) as the groups finish on the connected cluster; disconnect at the end when ``owned``."""
    try:
        _warn_if_no_node_fits(ray, options.cpus_per_run, options.gpus_per_run)
        remote = ray.remote(task)
        resources = {"num_cpus": options.cpus_per_run, "num_gpus": options.gpus_per_run, "max_retries": MAX_RETRIES}
        pending = {remote.options(name=run_id(group[0][1]), **resources).remote(group, root): group
                   for group in groups}
        while pending:
            (ready,), _ = ray.wait(list(pending), num_returns=1)
            group = pending.pop(ready)
            try:
                results = ray.get(ready)
            except ray.exceptions.RayError as error:
                results = [(index, {"status": "failed", "error": _one_line(error)}) for index, _ in group]
            yield from results
    finally:
        if owned:
            ray.shutdown()


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ray_start(*args: str) -> subprocess.Popen:
    """``ray start --block`` on 127.0.0.1 in a session of its own: terminating it stops that node."""
    command = [str(Path(sys.executable).with_name("ray")), "start", "--block", "--node-ip-address", "127.0.0.1",
               *args]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


@contextmanager
def _local_auth() -> Iterator[None]:
    """This process talks to a cluster of LOCAL_CLUSTER_ENV inside the block (then with the settings it had)."""
    try:
        with environment(LOCAL_CLUSTER_ENV):
            _reload_auth_settings()
            yield
    finally:
        _reload_auth_settings()  # after the block's variables are put back


def _reload_auth_settings() -> None:
    """Make Ray in this process read its authentication mode and token from the environment again (it keeps
    both once read; Ray's own ``ray.init`` reloads them the same way)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


@contextmanager
def local_cluster(nodes: int = 2, cpus_per_node: int = 1, timeout: float = 120.0) -> Iterator[str]:
    """A throwaway Ray cluster of ``nodes`` nodes on 127.0.0.1 (a head and workers, ``cpus_per_node`` CPUs each),
    with a temporary folder of its own and a token of its own (LOCAL_CLUSTER_ENV, in this process meanwhile);
    yields its address, and on exit stops every node and removes the folder."""
    ray = import_ray()
    with _local_auth():  # the nodes it starts and this process's connections to them
        address = f"127.0.0.1:{_free_port()}"
        temp_dir = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths must stay under 108 characters
        node = ("--num-cpus", str(cpus_per_node), "--object-store-memory", str(80 * 2**20))
        started = [_ray_start("--head", "--port", address.split(":")[1], "--temp-dir", temp_dir,
                              "--include-dashboard", "false", *node)]
        try:
            ray.init(address=address, logging_level=logging.WARNING)  # waits for the head
            started += [_ray_start("--address", address, *node) for _ in range(nodes - 1)]
            deadline = time.time() + timeout
            while sum(entry["Alive"] for entry in ray.nodes()) < nodes:
                if time.time() > deadline:
                    raise RuntimeError(f"the Ray cluster at {address} has not got {nodes} nodes after {timeout:g} s")
                time.sleep(0.2)
            ray.shutdown()
            yield address
        finally:
            ray.shutdown()
            for process in reversed(started):
                process.terminate()
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            shutil.rmtree(temp_dir, ignore_errors=True)
