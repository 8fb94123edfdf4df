# SPDX-License-Identifier: Apache-2.0
"""Load benchmark: whole validations against a real server, and 10 000 device event streams.

A validation is the whole flow: the relying party creates an operation; the device, listening on
its server-sent-events stream, is notified; it reads the operation (checking the server's
signature), evaluates its code through the VOPRF (the server counts the attempt first), signs
its approval with its device and knowledge keys and sends it; the relying party reads the final
result with its JWS. The mix is 70 % card payments, 20 % transfers and 10 % logins (with number
matching). Devices run the SDK's protocol steps in-process, with no human delay: by default
(``--client lean``, ``bench/lean.py``) each generator process is one event loop whose devices use
``sceau_core``'s functions over persistent HTTP/1.1 connections parsed by ``httptools``; with
``--client sdk`` they are the SDK's :class:`~sceau_device.transport.DeviceClient` over httpx, a
thread per device, which costs the generator about twice the CPU per validation.

Configurations (``--config``), each started fresh in a temporary directory on loopback:

- ``sqlite``: one ``sceau serve`` process on a SQLite file (WAL, ``synchronous=FULL``);
- ``postgres``: one ``sceau serve`` on a throwaway PostgreSQL 15 (``scripts/postgres``: fsync
  and synchronous commit on);
- ``cluster``: two ``sceau serve`` nodes on that PostgreSQL behind nginx (``scripts/cluster``).

For each concurrency level (``--levels``, default 1, 16, 64) it runs a warm-up, then a fixed
count, and prints validations per second, the p50/p99 of the whole flow and of "RP create sent →
device notified", the **server CPU milliseconds per validation** (user + system time of the
server processes from ``/proc``, before and after), PostgreSQL's and nginx's CPU beside it, the
load generator's own CPU, the server's peak RSS, and the errors (which must be 0).

``--rate R`` then runs ``--count`` validations open loop: they are started at R per second
(``--arrivals poisson``, the default, or ``even``) over the generator processes, whether or not
the previous ones have finished, after a warm-up at the same rate; with no ``--levels``, only
that. ``--rate half`` first measures the peak, the best validations per second of short
closed-loop runs at concurrency 16 and 64 (or the ``--levels`` given, ``--peak-count`` each),
then runs open loop at half of it and prints both. An open-loop run also says whether the
generators kept the schedule: a validation dispatched late (the generator process did not get
a CPU in time, or is saturated) or waiting for an idle device (the server is slower than the
arrivals) is counted and flagged, since the generator is then the bottleneck.

Every run prints the generators' own CPU per validation and its ratio to the server's, and how
busy the busiest generator process was (one Python process cannot use more than one core).

``--streams N`` instead opens N device event streams on one node (default 10 000) and prints
the server's memory per stream. Run with ``make bench-load`` (all of it) or, for example::

    .venv/bin/python bench/validations.py --config sqlite --levels 1,16,64 --count 2000
    .venv/bin/python bench/validations.py --config sqlite --rate half --count 1000
    .venv/bin/python bench/validations.py --config postgres --rate 10 --arrivals even
    .venv/bin/python bench/validations.py --streams 10000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import queue
import random
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import lean
from sceau_core.activation import ActivationCode, ServerBinding, registration_proof, verify_binding
from sceau_core.encoding import b64url_decode, b64url_encode
from sceau_core.httpsig import HttpRequest, sign_request
from sceau_core.keys import decode_public_key, encode_public_key, generate_private_key
from sceau_core.knowledge import finish_code_evaluation, start_code_evaluation
from sceau_core.operations import Operation
from sceau_core.signatures import sign_key_registration, verify_signed_operation
from sceau_device.transport import DeviceClient, DeviceIdentity, MemoryCounter

ROOT = Path(__file__).resolve().parents[1]
SCEAU = str(ROOT / ".venv" / "bin" / "sceau")
CODE = "4826"
MASTER_KEY = "bench-master-key-0123456789abcdef-0123456789abcdef"
SECRET = "bench-hmac-secret-0123456789abcdef-0123456789abcdef"  # noqa: S105
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
NOTIFY_TIMEOUT = 10.0


# --- server processes and their CPU ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU seconds of ``pid`` (and of its reaped children) from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Deployment:
    """The started server side: its URL, its processes, how to stop it."""

    name: str
    url: str
    directory: Path
    env: dict[str, str]
    server_pids: list[int]
    postgres_pid: int | None = None
    nginx_pids: list[int] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of the servers, PostgreSQL and nginx."""
        # A node started with --workers is a parent and its worker processes.
        figures = {
            "server": sum(
                _cpu_seconds(pid) + sum(_cpu_seconds(child) for child in _children(pid))
                for pid in self.server_pids
            )
        }
        if self.postgres_pid is not None:
            pg = _cpu_seconds(self.postgres_pid, children=True)
            pg += sum(_cpu_seconds(child) for child in _children(self.postgres_pid))
            figures["postgres"] = pg
        if self.nginx_pids:
            figures["nginx"] = sum(_cpu_seconds(pid) for pid in self.nginx_pids)
        return figures

    def restart_profiles(self) -> None:
        """Under ``--profile``, forget what the servers profiled so far (warm-up included)."""
        if self.env.get("SCEAU_PROFILE_OUT"):
            for pid in self.server_pids:
                os.kill(pid, signal.SIGUSR1)

    def peak_rss(self) -> float:
        """The largest peak RSS (MiB) among the server processes."""
        return max(
            _peak_rss_mib(pid)
            for parent in self.server_pids
            for pid in (parent, *_children(parent))
        )


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65_536 if hard == resource.RLIM_INFINITY else min(hard, 65_536)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready")


def _base_env(directory: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SCEAU_MASTER_KEY": MASTER_KEY,
        "SCEAU_SECRET": SECRET,
        "SCEAU_CHECKPOINT_KEY": str(directory / "checkpoint.pem"),
        "SCEAU_CHECKPOINT_JOURNAL": str(directory / "checkpoints.jsonl"),
        # The per-user rate limit (brief D7) is not what is measured here.
        "SCEAU_OPERATIONS_PER_MINUTE": "1000000",
    }


def _postmaster_pid(pg_directory: Path) -> int:
    return int((pg_directory / "data" / "postmaster.pid").read_text().split()[0])


@contextlib.contextmanager
def deploy(
    config: str,
    directory: Path,
    profile: str | None = None,
    workers: int = 1,
    streams: int = 0,
) -> Iterator[Deployment]:
    """Start ``config`` (sqlite, postgres, cluster) in ``directory``; stop it afterwards.

    ``workers`` (postgres only) starts the node with ``sceau serve --workers``. ``streams``
    raises the node's caps on event streams (per device and in all) to hold that many.

    With ``profile`` (one node only), the server runs under cProfile (``profiled_serve.py``)
    and writes its merged profile to that file when it stops.
    """
    env = _base_env(directory)
    if streams:
        env["SCEAU_MAX_STREAMS_PER_DEVICE"] = str(streams)
        env["SCEAU_MAX_STREAMS"] = str(streams + 100)
    directory.chmod(0o755)  # PostgreSQL runs as its own user and must reach its data directory
    if config == "cluster":
        script = str(ROOT / "scripts" / "cluster")
        env.pop("SCEAU_DATABASE_URL", None)
        try:
            url = subprocess.run(
                [script, "start", str(directory / "cluster"), "2"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            cluster = directory / "cluster"
            values = dict(
                line.split("=", 1)
                for line in (cluster / "cluster.env").read_text().splitlines()
                if "=" in line
            )
            env.update(values)
            nginx_master = int((cluster / "nginx-master.pid").read_text())
            yield Deployment(
                name=config,
                url=url,
                directory=cluster,
                env=env,
                server_pids=[int(p.read_text()) for p in sorted(cluster.glob("node-*.pid"))],
                postgres_pid=_postmaster_pid(cluster / "pg"),
                nginx_pids=[nginx_master, *_children(nginx_master)],
            )
        finally:
            subprocess.run([script, "stop", str(directory / "cluster")], env=env, check=False)
        return
    pg_directory = directory / "pg"
    started_pg = False
    try:
        if config == "postgres":
            env["SCEAU_DATABASE_URL"] = subprocess.run(
                [str(ROOT / "scripts" / "postgres"), "start", str(pg_directory)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            started_pg = True
        elif config == "sqlite":
            env["SCEAU_DATABASE_URL"] = f"sqlite:///{directory / 'sceau.db'}"
        else:
            raise ValueError(config)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env["SCEAU_PUBLIC_URL"] = url
        log = (directory / "server.log").open("wb")
        command = [SCEAU]
        env["SCEAU_WORKERS"] = str(workers)
        if profile:
            command = [sys.executable, str(ROOT / "bench" / "profiled_serve.py")]
            env["SCEAU_PROFILE_OUT"] = str(Path(profile).resolve())
        server = subprocess.Popen(
            [*command, "serve", "--port", str(port), "--no-access-log"],
            env=env,
            cwd=directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_raise_fd_limit,
        )
        deployment = Deployment(
            name=config,
            url=url,
            directory=directory,
            env=env,
            server_pids=[server.pid],
            postgres_pid=_postmaster_pid(pg_directory) if started_pg else None,
            processes=[server],
        )
        try:
            _wait_ready(url)
            yield deployment
        except BaseException:
            log.flush()
            tail = (directory / "server.log").read_text(errors="replace").splitlines()[-40:]
            print("server log (last lines):", *tail, sep="\n", file=sys.stderr)
            raise
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()
    finally:
        if started_pg:
            subprocess.run(
                [str(ROOT / "scripts" / "postgres"), "stop", str(pg_directory)], check=False
            )


def create_relying_party(deployment: Deployment) -> str:
    """Create the bank's relying party with ``sceau admin``; return its API key."""
    output = subprocess.run(
        [SCEAU, "admin", "rp", "create", "bench-bank"],
        env=deployment.env,
        cwd=deployment.directory,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return next(line.split(": ", 1)[1] for line in output.splitlines() if "API key" in line)


# --- devices ----------------------------------------------------------------------------------


@dataclass
class DeviceRecord:
    """What a generator process needs to act as one activated device (picklable)."""

    user: str
    activation_id: str
    device_key_der: bytes
    device_secret: bytes
    server_public_key: str
    oprf_public_key: bytes
    counter: int


def _sms_code(deployment: Deployment, phone: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(deployment.env["SCEAU_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            message = connection.execute(
                text(
                    "SELECT message FROM sms_outbox WHERE phone = :phone "
                    "AND kind = 'activation_code' ORDER BY id DESC LIMIT 1"
                ),
                {"phone": phone},
            ).scalar_one()
    finally:
        engine.dispose()
    return next(
        w.strip(".,") for w in message.split() if len(w.strip(".,")) == 6 and w[:6].isdigit()
    )


def provision(deployment: Deployment, api_key: str, count: int) -> list[DeviceRecord]:
    """Provision ``count`` users and activate one device each, with the SDK's DeviceClient."""
    records = []
    with httpx.Client(
        base_url=deployment.url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    ) as bank:
        for index in range(count):
            user = f"bench-{index:05d}"
            phone = f"+336{index:08d}"
            answer = bank.put(f"/v1/users/{user}", json={"phone": phone, "display_name": user})
            answer.raise_for_status()
            activation = bank.post(f"/v1/users/{user}/activations")
            activation.raise_for_status()
            records.append(_activate(deployment, user, activation.json()["code"], phone))
    return records


def _activate(deployment: Deployment, user: str, code_text: str, phone: str) -> DeviceRecord:
    code = ActivationCode.parse(code_text)
    device_key = generate_private_key(os.urandom)
    device_secret = os.urandom(32)
    with DeviceClient(deployment.url) as client:
        found = client.get(f"/v1/device/activation/{code.lookup_id()}")
        binding = ServerBinding.from_json(found["binding"])
        verify_binding(code, binding, found["tag"], expected_server_url=deployment.url)
        identity = DeviceIdentity(binding.activation_id, device_key, MemoryCounter())
        registration = {
            "activation_id": binding.activation_id,
            "device_name": f"Téléphone de {user}",
            "device_public_key": encode_public_key(device_key.public_key()),
        }
        client.signed(
            "POST",
            "/v1/device/activation/register",
            identity,
            {
                **registration,
                "sms_code": _sms_code(deployment, phone),
                "proof": registration_proof(code.registration_key(), registration),
            },
        )
        oprf_key = b64url_decode(binding.oprf_public_key, length=32)
        evaluation = start_code_evaluation(CODE, rng=os.urandom)
        answer = client.signed(
            "POST",
            "/v1/device/activation/oprf",
            identity,
            {"blinded_element": b64url_encode(evaluation.blinded_element)},
        )
        assert answer is not None
        knowledge = finish_code_evaluation(
            evaluation,
            evaluated_element=b64url_decode(answer["evaluated_element"], length=32),
            proof=b64url_decode(answer["proof"], length=64),
            expected_oprf_public_key=oprf_key,
            device_secret=device_secret,
        )
        client.signed(
            "POST",
            "/v1/device/activation/commit",
            identity,
            {
                "knowledge_public_key": encode_public_key(knowledge.public_key()),
                "knowledge_signature": sign_key_registration(
                    knowledge, activation_id=binding.activation_id
                ),
            },
        )
        counter = identity.counters.last  # type: ignore[attr-defined]
    return DeviceRecord(
        user=user,
        activation_id=binding.activation_id,
        device_key_der=device_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        device_secret=device_secret,
        server_public_key=binding.server_public_key,
        oprf_public_key=oprf_key,
        counter=counter,
    )


class SimulatedDevice:
    """One activated device in a generator process: its SDK client and its event stream."""

    def __init__(self, url: str, record: DeviceRecord) -> None:
        key = serialization.load_der_private_key(record.device_key_der, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self.record = record
        self.client = DeviceClient(url)
        self.identity = DeviceIdentity(record.activation_id, key, MemoryCounter(record.counter))
        self.server_key = decode_public_key(record.server_public_key)
        self.events: queue.Queue[tuple[dict[str, Any], float]] = queue.Queue()
        self.announced: dict[str, dict[str, Any]] = {}
        self.connected = threading.Event()

    def listen(self, stop: threading.Event) -> None:
        """Follow the event stream; queue each announced operation id with its arrival time."""
        while not stop.is_set():
            try:
                with self.client.events("/v1/device/events", self.identity) as events:
                    self.connected.set()
                    for event in events:
                        if event.name == "operation":
                            self.events.put((json.loads(event.data), time.perf_counter()))
                        if stop.is_set():
                            return
            except Exception:
                if stop.is_set():
                    return
                time.sleep(0.2)

    def notified(self, operation_id: str) -> float:
        """Wait for the event announcing ``operation_id``; return when it arrived."""
        deadline = time.monotonic() + NOTIFY_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no event for {operation_id}")
            announced, at = self.events.get(timeout=remaining)
            if announced["id"] == operation_id:
                if "signed" in announced:
                    self.announced[operation_id] = announced["signed"]
                return at

    def approve(
        self,
        operation_id: str,
        match: str | None,
        *,
        marks: list[float] | None = None,
        cpu: Any = None,
    ) -> None:
        """Read the operation, evaluate the code, sign and send the approval (the SDK's steps).

        With ``marks`` and ``cpu``, ``cpu()`` is appended to ``marks`` after each request.
        """

        def mark() -> None:
            if marks is not None:
                marks.append(cpu())

        item = self.announced.pop(operation_id, None)
        if item is None:  # an event without its operation: read the pending list, as the SDK
            pending = self.client.signed("GET", "/v1/device/operations", self.identity) or {}
            item = next(
                entry for entry in pending["operations"] if entry["operation"]["id"] == operation_id
            )
        mark()
        operation: Operation = verify_signed_operation(item, public_key=self.server_key)
        evaluation = start_code_evaluation(CODE, rng=os.urandom)
        answer = self.client.signed(
            "POST",
            f"/v1/device/operations/{operation_id}/evaluate",
            self.identity,
            {"blinded_element": b64url_encode(evaluation.blinded_element)},
        )
        mark()
        assert answer is not None
        body = lean.approval_signer(
            self.record, self.identity.private_key, operation, evaluation, answer, match
        )
        decided = self.client.signed(
            "POST", f"/v1/device/operations/{operation_id}/decision", self.identity, body
        )
        mark()
        if not decided or decided.get("status") != "approved":
            raise RuntimeError(f"decision answered {decided}")


# --- the workload -------------------------------------------------------------------------------


def operation_request(rng: random.Random, user: str) -> dict[str, Any]:
    """One operation of the mix: 70 % card payments, 20 % transfers, 10 % logins."""
    draw = rng.random()
    amount = f"{rng.randint(100, 99_999) / 100:.2f}"
    if draw < 0.7:
        data: dict[str, Any] = {
            "acs_transaction_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "merchant_name": "Librairie du Centre",
            "merchant_url": "https://librairie.example/panier",
            "amount": {"value": amount, "currency": "EUR"},
            "card_last4": f"{rng.randint(0, 9999):04d}",
        }
        kind = "card_payment"
    elif draw < 0.9:
        data = {
            "amount": {"value": amount, "currency": "EUR"},
            "payee_name": "Jean Dupont",
            "payee_iban": "FR7630006000011234567890189",
            "reference": f"Facture {rng.randint(1, 99999)}",
        }
        kind = "transfer"
    else:
        data, kind = {}, "login"
    return {"user": user, "type": kind, "data": data}


def validate(
    bank: httpx.Client, device: SimulatedDevice, rng: random.Random
) -> tuple[float, float]:
    """One whole validation; return (whole flow, create sent → device notified) in seconds."""
    started = time.perf_counter()
    created = bank.post("/v1/operations", json=operation_request(rng, device.record.user))
    if created.status_code != 201:
        raise RuntimeError(f"create answered {created.status_code}: {created.text}")
    view = created.json()
    notified_at = device.notified(view["id"])
    device.approve(view["id"], view.get("match"))
    final = bank.get(f"/v1/operations/{view['id']}")
    result = final.json()
    if final.status_code != 200 or result["status"] != "approved" or not result["result"]:
        raise RuntimeError(f"final state {final.status_code}: {final.text}")
    return time.perf_counter() - started, notified_at - started


def generator(
    url: str, api_key: str, records: list[DeviceRecord], connection: Connection, seed: int
) -> None:
    """A load-generator process: devices with their streams, and loops on command."""
    devices = [SimulatedDevice(url, record) for record in records]
    stop = threading.Event()
    for device in devices:
        threading.Thread(target=device.listen, args=(stop,), daemon=True).start()
    for device in devices:
        device.connected.wait(30)
    connection.send("ready")
    banks: list[httpx.Client] = []

    def clients(wanted: int) -> list[httpx.Client]:
        # An httpx client costs about 30 ms of CPU to create (its TLS context), as much as two
        # validations: they are made on a level's warm-up and kept, not counted in its figures.
        while len(banks) < wanted:
            banks.append(
                httpx.Client(
                    base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
                )
            )
        return banks[:wanted]

    while True:
        command = connection.recv()
        if command is None:
            break
        if command[0] == "closed":
            _, loops, count = command
            connection.send(_run_loops(clients(loops), devices, count, seed))
        else:
            _, schedule = command
            pairs = list(zip(devices, clients(len(devices)), strict=True))
            connection.send(_run_open(pairs, schedule))
    for bank in banks:
        bank.close()
    stop.set()


def _run_loops(
    banks: list[httpx.Client], devices: list[SimulatedDevice], count: int, seed: int
) -> dict[str, Any]:
    loops = len(banks)
    share = [count // loops + (1 if index < count % loops else 0) for index in range(loops)]
    flows: list[float] = []
    notifies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def loop(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        mine = devices[index::loops]
        for iteration in range(share[index]):
            device = mine[iteration % len(mine)]
            try:
                flow, notify = validate(banks[index], device, rng)
            except Exception as error:
                with lock:
                    errors.append(f"{type(error).__name__}: {error}"[:300])
                continue
            with lock:
                flows.append(flow)
                notifies.append(notify)

    cpu = time.process_time()
    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(index,)) for index in range(loops)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "flows": flows,
        "notifies": notifies,
        "errors": errors,
        "cpu": time.process_time() - cpu,
        "wall": time.monotonic() - started,
    }


@dataclass(frozen=True)
class Schedule:
    """One generator's share of an open-loop run: when each validation is due to start."""

    start: float  # time.monotonic(), the same clock in every process
    rate: float  # this generator's validations per second
    count: int
    poisson: bool
    phase: float  # evenly spaced arrivals: this generator's offset, so the merged arrivals are too
    seed: int

    def times(self) -> list[float]:
        rng = random.Random(self.seed)
        due = self.start + (0.0 if self.poisson else self.phase)
        times = []
        for _ in range(self.count):
            if self.poisson:
                due += rng.expovariate(self.rate)
            times.append(due)
            if not self.poisson:
                due += 1 / self.rate
        return times


# A validation dispatched later than this after its due time counts as the generator being late.
LATE = 0.005


def _run_open(
    devices: list[tuple[SimulatedDevice, httpx.Client]], schedule: Schedule
) -> dict[str, Any]:
    """Start validations at the schedule's times, whatever the previous ones are doing.

    One thread dispatches each validation at its due time to the idle devices' threads (a device
    runs one validation at a time: its counter must reach the server in order). Two delays are
    kept apart: *dispatch lateness* (the dispatcher woke late: the generator process itself is
    short of CPU) and *device wait* (every device of this generator was still busy: the server is
    slower than the arrival rate, or there are too few users for it).
    """
    jobs: queue.Queue[tuple[float, float] | None] = queue.Queue()
    tally = lean.OpenTally(schedule.start)
    lock = threading.Lock()

    def worker(index: int, device: SimulatedDevice, bank: httpx.Client) -> None:
        rng = random.Random(schedule.seed * 1000 + index)
        while (job := jobs.get()) is not None:
            due, dispatched = job
            began = time.monotonic()
            try:
                flow, notify = validate(bank, device, rng)
            except Exception as error:
                with lock:
                    tally.errors.append(f"{type(error).__name__}: {error}"[:300])
                continue
            finally:
                with lock:
                    tally.dispatch_late.append(dispatched - due)
                    tally.device_waits.append(began - dispatched)
                    tally.ended = max(tally.ended, time.monotonic())
            with lock:
                tally.flows.append(flow)
                tally.notifies.append(notify)
                tally.from_due.append((flow + began - due, notify + began - due))

    times = schedule.times()
    cpu = time.process_time()
    threads = [
        threading.Thread(target=worker, args=(index, device, bank))
        for index, (device, bank) in enumerate(devices)
    ]
    for thread in threads:
        thread.start()
    for due in times:
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        jobs.put((due, time.monotonic()))
    for _ in threads:
        jobs.put(None)
    for thread in threads:
        thread.join()
    return tally.answer(time.process_time() - cpu, times)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class LevelResult:
    """The figures of one run: a closed-loop concurrency level or an open-loop arrival rate."""

    concurrency: int  # closed loop: the loops; open loop: 0
    count: int
    seconds: float
    flows: list[float]
    notifies: list[float]
    errors: list[str]
    cpu: dict[str, float]
    generator_cpu: float
    generator_busy: float  # the busiest generator process's CPU ÷ its wall time (1.0 = one core)
    target_rate: float = 0.0  # open loop: the validations per second asked for
    offered_rate: float = 0.0  # open loop: the count ÷ the span of the due times
    dispatch_late: list[float] = field(default_factory=list)
    device_waits: list[float] = field(default_factory=list)
    load: float = 0.0  # the machine's load average at the end of the run
    from_due: list[tuple[float, float]] = field(default_factory=list)  # (flow, notified)

    @property
    def rate(self) -> float:
        return len(self.flows) / self.seconds

    @property
    def label(self) -> str:
        return f"c={self.concurrency}" if self.concurrency else f"r={self.target_rate:.1f}/s"

    def per_validation_ms(self, part: str) -> float:
        return 1000 * self.cpu.get(part, 0.0) / max(1, len(self.flows))

    @property
    def generator_ms(self) -> float:
        return 1000 * self.generator_cpu / max(1, len(self.flows))

    @property
    def generator_ratio(self) -> float:
        """Generator CPU ÷ the Sceau server processes' CPU (PostgreSQL and nginx apart)."""
        server = self.cpu.get("server", 0.0)
        return self.generator_cpu / server if server else float("nan")

    def verdicts(self) -> list[str]:
        """Open loop: whether the generators kept the schedule, and if not, why."""
        if self.concurrency:
            return []
        lines = []
        total = max(1, len(self.dispatch_late))
        late = sum(1 for late in self.dispatch_late if late > LATE)
        waited = sum(1 for wait in self.device_waits if wait > LATE)
        if self.generator_busy > 0.9:
            lines.append(
                f"GENERATOR SATURATED: the busiest generator process used "
                f"{100 * self.generator_busy:.0f} % of a core: the load generator, not the "
                "server, is the bottleneck at this rate. Use more --generators or a lower --rate."
            )
        if _percentile(self.dispatch_late, 0.99) > LATE:
            lines.append(
                f"GENERATOR BEHIND SCHEDULE: {late} of {total} validations dispatched more than "
                f"{1000 * LATE:.0f} ms late (p99 {1000 * _percentile(self.dispatch_late, 0.99):.1f}"
                f" ms, max {1000 * max(self.dispatch_late, default=0):.1f} ms) with the busiest "
                f"generator process at {100 * self.generator_busy:.0f} % of a core: it did not "
                f"get a CPU in time (load average {self.load:.1f} on {os.cpu_count()} CPUs); the "
                "generator is then the bottleneck and the latencies include its own delays."
            )
        if waited:
            lines.append(
                f"BEHIND SCHEDULE, NO IDLE DEVICE: {waited} of {total} validations waited more "
                f"than {1000 * LATE:.0f} ms for an idle device (p99 "
                f"{1000 * _percentile(self.device_waits, 0.99):.1f} ms): the server is slower "
                "than the arrival rate (or --users is too small for rate × flow time)."
            )
        if self.offered_rate and self.rate < 0.95 * min(self.target_rate, self.offered_rate):
            lines.append(
                f"BEHIND SCHEDULE: achieved {self.rate:.1f}/s of the {self.target_rate:.1f}/s "
                f"asked for (the drawn due times offered {self.offered_rate:.1f}/s)"
            )
        if not lines:
            lines.append(
                f"generators kept the schedule: p99 start lateness "
                f"{1000 * _percentile(self.dispatch_late, 0.99):.1f} ms, "
                f"device wait p99 {1000 * _percentile(self.device_waits, 0.99):.1f} ms, "
                f"busiest generator process at {100 * self.generator_busy:.0f} % of a core"
            )
        flows = [flow for flow, _ in self.from_due]
        notifies = [notify for _, notify in self.from_due]
        lines.append(
            f"the due times offered {self.offered_rate:.1f}/s; from each validation's due time "
            "instead of its create request (the generator's "
            f"delays included): flow p50 {1000 * _percentile(flows, 0.5):.1f} / p99 "
            f"{1000 * _percentile(flows, 0.99):.1f} ms, notified p50 "
            f"{1000 * _percentile(notifies, 0.5):.1f} / p99 "
            f"{1000 * _percentile(notifies, 0.99):.1f} ms"
        )
        return lines


def run_level(
    deployment: Deployment,
    workers: list[Connection],
    concurrency: int,
    count: int,
    warmup: int,
) -> LevelResult:
    """Warm up, then run ``count`` validations with ``concurrency`` loops over the generators."""
    active = workers[: max(1, min(len(workers), concurrency))]

    def run(total: int) -> tuple[list[dict[str, Any]], float]:
        loops = [
            concurrency // len(active) + (1 if i < concurrency % len(active) else 0)
            for i in range(len(active))
        ]
        counts = [total * n // concurrency for n in loops]
        counts[0] += total - sum(counts)
        started = time.perf_counter()
        for connection, n, c in zip(active, loops, counts, strict=True):
            connection.send(("closed", n, c))
        answers = [connection.recv() for connection in active]
        return answers, time.perf_counter() - started

    run(warmup)
    deployment.restart_profiles()
    before = deployment.cpu()
    answers, seconds = run(count)
    after = deployment.cpu()
    return LevelResult(
        concurrency=concurrency,
        count=count,
        seconds=seconds,
        flows=[f for a in answers for f in a["flows"]],
        notifies=[n for a in answers for n in a["notifies"]],
        errors=[e for a in answers for e in a["errors"]],
        cpu={part: after[part] - before[part] for part in after},
        generator_cpu=sum(a["cpu"] for a in answers),
        generator_busy=max(a["cpu"] / a["wall"] if a["wall"] else 0.0 for a in answers),
    )


def run_open(
    deployment: Deployment,
    workers: list[Connection],
    rate: float,
    count: int,
    warmup: int,
    *,
    poisson: bool,
) -> LevelResult:
    """Warm up, then start ``count`` validations at ``rate`` per second over the generators."""

    def run(total: int, seed: int) -> tuple[list[dict[str, Any]], float]:
        start = time.monotonic() + 0.2  # every generator has its schedule before the first is due
        for index, connection in enumerate(workers):
            share = total // len(workers) + (1 if index < total % len(workers) else 0)
            connection.send(
                (
                    "open",
                    Schedule(
                        start=start,
                        rate=rate / len(workers),
                        count=share,
                        poisson=poisson,
                        phase=index / rate,
                        seed=seed * 100 + index,
                    ),
                )
            )
        return [connection.recv() for connection in workers], start

    run(warmup, 1)
    deployment.restart_profiles()
    before = deployment.cpu()
    answers, start = run(count, 2)
    after = deployment.cpu()
    last_due = max(a["last_due"] for a in answers)
    return LevelResult(
        concurrency=0,
        count=count,
        seconds=max(a["ended"] for a in answers) - start,
        flows=[f for a in answers for f in a["flows"]],
        notifies=[n for a in answers for n in a["notifies"]],
        errors=[e for a in answers for e in a["errors"]],
        cpu={part: after[part] - before[part] for part in after},
        generator_cpu=sum(a["cpu"] for a in answers),
        generator_busy=max(a["cpu"] / a["wall"] if a["wall"] else 0.0 for a in answers),
        target_rate=rate,
        offered_rate=count / (last_due - start) if last_due > start else 0.0,
        dispatch_late=[x for a in answers for x in a["dispatch_late"]],
        device_waits=[x for a in answers for x in a["device_waits"]],
        load=os.getloadavg()[0],
        from_due=[x for a in answers for x in a["from_due"]],
    )


def benchmark(arguments: argparse.Namespace) -> None:
    """Run the validation benchmark on one configuration and print its figures."""
    levels_text = arguments.levels
    if levels_text is None:
        levels_text = {None: "1,16,64", "half": "16,64"}.get(arguments.rate, "")
    levels = [int(level) for level in levels_text.split(",") if level]
    with (
        tempfile.TemporaryDirectory(prefix="sceau-bench-") as temp,
        deploy(arguments.config, Path(temp), arguments.profile, arguments.workers) as deployment,
    ):
        api_key = create_relying_party(deployment)
        started = time.perf_counter()
        records = provision(deployment, api_key, arguments.users)
        provisioning = time.perf_counter() - started
        processes = []
        workers: list[Connection] = []
        context = multiprocessing.get_context("fork")
        for index in range(arguments.generators):
            parent, child = context.Pipe()
            share = records[index :: arguments.generators]
            process = context.Process(
                target=lean.generator if arguments.client == "lean" else generator,
                args=(deployment.url, api_key, share, child, index)
                + ((operation_request,) if arguments.client == "lean" else ()),
                daemon=True,
            )
            process.start()
            processes.append(process)
            workers.append(parent)
        for connection in workers:
            if connection.recv() != "ready":
                raise RuntimeError("a generator failed to start")
        time.sleep(1.0)  # every stream subscribed before the first operation
        results = []
        try:
            for asked in levels:
                concurrency = min(asked, len(records))
                if any(result.concurrency == concurrency for result in results):
                    continue
                if concurrency < asked:
                    print(
                        f"concurrency {asked} runs as {concurrency}: each device runs one "
                        "validation at a time (raise --users)",
                        file=sys.stderr,
                    )
                count = arguments.count if concurrency > 1 else max(50, arguments.count // 10)
                if arguments.rate == "half" and arguments.peak_count:
                    count = arguments.peak_count
                warmup = max(concurrency * 2, count // 10)
                results.append(run_level(deployment, workers, concurrency, count, warmup))
            if arguments.rate is not None:
                if arguments.rate == "half":
                    rate = max(result.rate for result in results) / 2
                else:
                    rate = float(arguments.rate)
                results.append(
                    run_open(
                        deployment,
                        workers,
                        rate,
                        arguments.count,
                        max(10, arguments.count // 10),
                        poisson=arguments.arrivals == "poisson",
                    )
                )
        finally:
            for connection in workers:
                connection.send(None)
            for process in processes:
                process.join(timeout=10)
        report(arguments, deployment, records, provisioning, results)


def report(
    arguments: argparse.Namespace,
    deployment: Deployment,
    records: list[DeviceRecord],
    provisioning: float,
    results: list[LevelResult],
) -> None:
    """Print the figures of every level."""
    print(
        f"\n== {deployment.name}: {len(deployment.server_pids)} server process(es), "
        f"{len(records)} users with an active device (provisioned in {provisioning:.1f} s), "
        f"{arguments.generators} generator processes ({arguments.client} client), "
        f"{os.cpu_count()} CPUs"
    )
    header = (
        f"{'load':>9} {'valid.':>6} {'val/s':>7} {'flow p50':>9} {'p99':>7} "
        f"{'notif p50':>9} {'p99':>7} {'srv ms/v':>8} {'pg ms/v':>7} {'ngx ms/v':>8} "
        f"{'gen ms/v':>8} {'gen/srv':>7} {'gen core':>8} {'errors':>6}"
    )
    print(header)
    for result in results:
        print(
            f"{result.label:>9} {len(result.flows):>6} {result.rate:>7.1f} "
            f"{1000 * _percentile(result.flows, 0.5):>7.1f}ms "
            f"{1000 * _percentile(result.flows, 0.99):>5.1f}ms "
            f"{1000 * _percentile(result.notifies, 0.5):>7.1f}ms "
            f"{1000 * _percentile(result.notifies, 0.99):>5.1f}ms "
            f"{result.per_validation_ms('server'):>8.2f} "
            f"{result.per_validation_ms('postgres'):>7.2f} "
            f"{result.per_validation_ms('nginx'):>8.2f} "
            f"{result.generator_ms:>8.2f} "
            f"{result.generator_ratio:>7.2f} "
            f"{100 * result.generator_busy:>7.0f}% "
            f"{len(result.errors):>6}"
        )
        for error in sorted(set(result.errors))[:5]:
            print(f"     error: {error}")
        for verdict in result.verdicts():
            print(f"     {verdict}")
    print(
        "gen ms/v: the load generators' own CPU per validation (RP client, devices' signatures, "
        "VOPRF blinding, event streams); gen/srv: that ÷ the Sceau server processes' CPU "
        "(srv ms/v); gen core: the busiest generator process's CPU ÷ its wall time "
        "(one Python process cannot use more than 100 %)"
    )
    closed = [result for result in results if result.concurrency]
    opened = [result for result in results if not result.concurrency]
    if not closed:
        closed = opened
    best = max(closed, key=lambda r: r.rate)
    server_ms = best.per_validation_ms("server")
    cores = os.cpu_count() or 1
    generators = min(cores, arguments.generators)
    print(
        f"what the client costs: {best.generator_ms:.2f} ms of generator CPU per validation, "
        f"{best.generator_ratio:.2f}x the server's, at {best.label}; "
        f"{arguments.generators} generator processes alone could start about "
        f"{1000 * generators / best.generator_ms:,.0f} validations/s on {generators} of the "
        f"{cores} cores, which the server shares"
    )
    for result in opened:
        print(
            f"open loop at {result.target_rate:.1f}/s ({arguments.arrivals} arrivals"
            + (
                f", half the closed-loop peak of {2 * result.target_rate:.1f}/s at {best.label}"
                if arguments.rate == "half"
                else ""
            )
            + f"): p99 created → notified {1000 * _percentile(result.notifies, 0.99):.1f} ms"
            + (
                " (issue 7's target at half the peak: ≤ 20 ms, "
                + ("met)" if _percentile(result.notifies, 0.99) <= 0.020 else "not met)")
                if arguments.rate == "half"
                else ""
            )
        )
    print(
        f"peak RSS of a server process: {deployment.peak_rss():.0f} MiB; "
        f"server-only ceiling at {server_ms:.2f} ms/validation: "
        f"{1000 * cores / server_ms:,.0f} validations/s on {cores} cores"
        + (
            ""
            if "postgres" not in best.cpu
            else f" (server + PostgreSQL: "
            f"{1000 * cores / (server_ms + best.per_validation_ms('postgres')):,.0f}/s)"
        )
    )
    print(
        "privacyIDEA 3.14 push token on this machine: 123 ms of server CPU per authentication, "
        f"13.7/s with 16 clients; Sceau here: {server_ms:.2f} ms "
        f"({123 / server_ms:,.0f}x less CPU), {best.rate:.0f}/s at {best.label}"
    )
    if arguments.json:
        with Path(arguments.json).open("a") as out:
            for result in results:
                out.write(
                    json.dumps(
                        {
                            "config": deployment.name,
                            "concurrency": result.concurrency,
                            "target_rate": result.target_rate,
                            "generator_ratio": result.generator_ratio,
                            "generator_busy": result.generator_busy,
                            "dispatch_late_p99_ms": 1000 * _percentile(result.dispatch_late, 0.99),
                            "device_wait_p99_ms": 1000 * _percentile(result.device_waits, 0.99),
                            "notify_p99_from_due_ms": 1000
                            * _percentile([n for _, n in result.from_due], 0.99),
                            "validations": len(result.flows),
                            "rate": result.rate,
                            "flow_p50_ms": 1000 * _percentile(result.flows, 0.5),
                            "flow_p99_ms": 1000 * _percentile(result.flows, 0.99),
                            "notify_p50_ms": 1000 * _percentile(result.notifies, 0.5),
                            "notify_p99_ms": 1000 * _percentile(result.notifies, 0.99),
                            "server_ms": result.per_validation_ms("server"),
                            "postgres_ms": result.per_validation_ms("postgres"),
                            "nginx_ms": result.per_validation_ms("nginx"),
                            "generator_ms": result.generator_ms,
                            "errors": len(result.errors),
                            "peak_rss_mib": deployment.peak_rss(),
                        }
                    )
                    + "\n"
                )


# --- per-request server CPU ---------------------------------------------------------------------


def breakdown(arguments: argparse.Namespace) -> None:
    """Run ``--breakdown`` validations one after the other and split the server CPU by request.

    The server's CPU time is read from ``/proc`` before and after each step of each validation
    (in clock ticks of 10 ms: summed over many validations the rounding averages out); the
    event that tells the device is counted with the creation that sends it.
    """
    total = arguments.breakdown
    with (
        tempfile.TemporaryDirectory(prefix="sceau-bench-") as temp,
        deploy(arguments.config, Path(temp), arguments.profile, arguments.workers) as deployment,
    ):
        api_key = create_relying_party(deployment)
        records = provision(deployment, api_key, 4)
        devices = [SimulatedDevice(deployment.url, record) for record in records]
        stop = threading.Event()
        for device in devices:
            threading.Thread(target=device.listen, args=(stop,), daemon=True).start()
            device.connected.wait(30)
        time.sleep(1.0)
        rng = random.Random(7)
        steps = ("create + event", "device fetch", "evaluate", "decision", "RP read")
        spent = dict.fromkeys(steps, 0.0)

        def cpu() -> float:
            return deployment.cpu()["server"]

        with httpx.Client(
            base_url=deployment.url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
        ) as bank:
            for index in range(total + total // 10):
                measured = index >= total // 10  # the first tenth warms up
                if index == total // 10:
                    deployment.restart_profiles()
                device = devices[index % len(devices)]
                marks = [cpu()]
                created = bank.post(
                    "/v1/operations", json=operation_request(rng, device.record.user)
                )
                view = created.json()
                device.notified(view["id"])
                marks.append(cpu())
                device.approve(view["id"], view.get("match"), marks=marks, cpu=cpu)
                final = bank.get(f"/v1/operations/{view['id']}")
                marks.append(cpu())
                if final.json()["status"] != "approved":
                    raise RuntimeError(f"final state {final.text}")
                if measured:
                    for step, before, after in zip(steps, marks[:-1], marks[1:], strict=True):
                        spent[step] += after - before
        stop.set()
        whole = sum(spent.values())
        print(f"\n== server CPU per request, {total} validations one after the other")
        for step in steps:
            print(f"{step:>16}: {1000 * spent[step] / total:6.2f} ms")
        print(f"{'whole validation':>16}: {1000 * whole / total:6.2f} ms")


# --- 10 000 device event streams -------------------------------------------------------------


async def _open_streams(
    url: str, devices: list[tuple[str, ec.EllipticCurvePrivateKey, MemoryCounter]], total: int
) -> list[asyncio.StreamWriter]:
    """Open ``total`` streams, each device opening its share one after the other.

    A device's counter must reach the server in order (a lower one is a suspected clone), so
    each device waits for a stream's headers before it signs the next request, as the SDK does.
    """
    host, port = url.removeprefix("http://").split(":")
    writers: list[asyncio.StreamWriter] = []
    shares = [total // len(devices) + (i < total % len(devices)) for i in range(len(devices))]

    async def open_all(index: int) -> None:
        activation_id, key, counter = devices[index]
        for _ in range(shares[index]):
            with counter.reserve() as value:
                headers = sign_request(
                    HttpRequest("GET", f"{url}/v1/device/events", {}, b""),
                    private_key=key,
                    key_id=activation_id,
                    counter=value,
                    now=int(time.time()),
                    rng=os.urandom,
                )
                reader, writer = await asyncio.open_connection(host, int(port))
                lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
                writer.write(
                    f"GET /v1/device/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Accept: text/event-stream\r\n{lines}\r\n".encode()
                )
                await writer.drain()
                status = await reader.readline()
                if b" 200 " not in status:
                    raise RuntimeError(f"a stream of device {index} answered {status!r}")
            while not (await reader.readline()).startswith(b": connected"):
                pass
            writers.append(writer)

    await asyncio.gather(*(open_all(index) for index in range(len(devices))))
    return writers


def streams(arguments: argparse.Namespace) -> None:
    """Open ``--streams`` event streams on one node and print the memory per stream."""
    _raise_fd_limit()
    total = arguments.streams
    deadline = time.monotonic() + arguments.max_seconds
    with (
        tempfile.TemporaryDirectory(prefix="sceau-bench-") as temp,
        deploy(
            arguments.config, Path(temp), workers=arguments.workers, streams=arguments.streams
        ) as deployment,
    ):
        api_key = create_relying_party(deployment)
        records = provision(deployment, api_key, max(1, min(arguments.users, 100)))
        pid = deployment.server_pids[0]
        devices = []
        for record in records:
            key = serialization.load_der_private_key(record.device_key_der, password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            devices.append((record.activation_id, key, MemoryCounter(record.counter)))
        time.sleep(1.0)
        base_rss = _rss_mib(pid)
        cpu = _cpu_seconds(pid)
        started = time.perf_counter()
        loop = asyncio.new_event_loop()
        writers = loop.run_until_complete(
            asyncio.wait_for(
                _open_streams(deployment.url, devices, total),
                timeout=max(1.0, deadline - time.monotonic()),
            )
        )
        opened = time.perf_counter() - started
        open_cpu = _cpu_seconds(pid) - cpu
        time.sleep(2.0)
        rss = _rss_mib(pid)
        streams_gauge = _gauge(deployment.url, "sceau_device_streams")
        idle_cpu_before = _cpu_seconds(pid)
        time.sleep(5.0)
        idle_cpu = _cpu_seconds(pid) - idle_cpu_before
        for writer in writers:
            writer.close()
        loop.close()
        print(
            f"\n== {total:,} device event streams on one {deployment.name} node "
            f"({len(devices)} devices)"
        )
        print(
            f"opened in {opened:.1f} s ({total / opened:,.0f}/s, server CPU {open_cpu:.1f} s: "
            f"{1000 * open_cpu / total:.2f} ms per stream, signature check and admission "
            f"included); the server counts {streams_gauge:,.0f} open streams"
        )
        print(
            f"server RSS {base_rss:.0f} MiB before, {rss:.0f} MiB with the streams: "
            f"{1024 * (rss - base_rss) / total:.1f} KiB per stream; idle CPU with every "
            f"stream open: {100 * idle_cpu / 5:.1f} % of a core (keep-alives every 15 s)"
        )
        if streams_gauge != total:
            print(
                f"NOT EVERY STREAM OPEN: the server counts {streams_gauge:,.0f} of {total:,}; "
                "the memory per stream above is not the figure asked for"
            )


def _gauge(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return float("nan")


def main() -> None:
    """Parse the arguments and run the chosen benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=["sqlite", "postgres", "cluster"], default="sqlite")
    parser.add_argument(
        "--levels",
        help="closed-loop concurrency levels (default 1,16,64; with --rate: none, or 16,64 for "
        "--rate half)",
    )
    parser.add_argument(
        "--rate",
        help="then run --count validations open loop, started at R per second over the "
        "generators; 'half': half the best closed-loop rate of the levels run",
    )
    parser.add_argument(
        "--arrivals",
        choices=["poisson", "even"],
        default="poisson",
        help="open loop: Poisson arrivals or evenly spaced ones",
    )
    parser.add_argument(
        "--peak-count",
        type=int,
        default=0,
        help="--rate half: validations per closed-loop level measuring the peak (default --count)",
    )
    parser.add_argument("--count", type=int, default=1000, help="validations per level")
    parser.add_argument("--users", type=int, default=128, help="users with an active device")
    parser.add_argument("--generators", type=int, default=2, help="load-generator processes")
    parser.add_argument(
        "--client",
        choices=["lean", "sdk"],
        default="lean",
        help="devices and bank over a minimal HTTP/1.1 client on uvloop (lean, bench/lean.py), "
        "or the SDK's DeviceClient and httpx, a thread per device (sdk)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes of the node (postgres only)"
    )
    parser.add_argument("--streams", type=int, default=0, help="open N event streams instead")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="bound for --streams")
    parser.add_argument("--json", help="append each level's figures to this JSON-lines file")
    parser.add_argument(
        "--breakdown",
        type=int,
        default=0,
        help="run N validations one at a time and split the server CPU by request instead",
    )
    parser.add_argument(
        "--profile", help="run the server under cProfile and write its profile to this file"
    )
    arguments = parser.parse_args()
    if arguments.rate not in (None, "half"):
        try:
            if float(arguments.rate) <= 0:
                raise ValueError(arguments.rate)
        except ValueError:
            sys.exit("--rate takes validations per second (a positive number) or 'half'")
    if arguments.workers != 1 and (arguments.config != "postgres" or arguments.profile):
        sys.exit("--workers runs several processes of one PostgreSQL node: use --config postgres")
    if arguments.profile and arguments.config == "cluster":
        sys.exit("--profile profiles one server node: use --config sqlite or postgres")
    if not shutil.which("nginx") and arguments.config == "cluster":
        sys.exit("the cluster configuration needs nginx (scripts/system-packages)")
    if arguments.streams:
        streams(arguments)
    elif arguments.breakdown:
        breakdown(arguments)
    else:
        benchmark(arguments)


if __name__ == "__main__":
    secrets.token_bytes(1)  # fail early if the system has no randomness source
    main()
