# SPDX-License-Identifier: Apache-2.0
"""Benchmark of Sceau Pro batches (issue 8): 1 000 and 10 000 lines through a real server.

Starts one ``sceau serve`` on a fresh SQLite file (loopback), a company whose account needs two
validators, and two validators' devices (the device SDK, activated over HTTP). For each size it
prints, best of ``--repeat``:

- ``create``: the relying party's ``POST /v1/operations/batch`` (JSON) and
  ``POST /v1/operations/pain001`` (XML) round trips, and the server's CPU for them;
- ``lines``: a device's signed ``GET …/lines`` plus the SDK's check of every line against the
  signed count, total and digest;
- ``approve``: the two approvals (code evaluation, signatures, rule evaluation);
- the server's peak RSS (``VmHWM``) at the end. Run::

    .venv/bin/python bench/batches.py --sizes 1000,10000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from keyrings.alt.file import PlaintextKeyring

from sceau_device.activation import ActivationSession
from sceau_device.authenticator import Authenticator
from sceau_device.keystore import Keystore

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CODE = "4826"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_pain001", ROOT / "scripts" / "make_pain001.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_pain001 = _generator()


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mib(pid: int) -> float:
    match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else 0.0


@contextmanager
def server(home: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[bytes]]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SCEAU_DATABASE_URL": f"sqlite:///{home / 'sceau.db'}",
        "SCEAU_PUBLIC_URL": url,
        "SCEAU_MASTER_KEY": "bench-master-key-0123456789abcdef-0123456789",
        "SCEAU_SECRET": "bench-hmac-secret-0123456789abcdef-0123456789",
        "SCEAU_CHECKPOINT_KEY": str(home / "checkpoint.pem"),
        "SCEAU_CHECKPOINT_JOURNAL": str(home / "checkpoints.jsonl"),
        "SCEAU_OPERATIONS_PER_MINUTE": "100000",
    }
    process = subprocess.Popen(
        [str(BIN / "sceau"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/.well-known/jwks.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url, env, process
    finally:
        process.terminate()
        process.wait(timeout=15)


def _admin(env: dict[str, str], home: Path, *args: str) -> str:
    return subprocess.run(
        [str(BIN / "sceau"), "admin", *args],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _device(
    http: httpx.Client, env: dict[str, str], home: Path, user: str, phone: str
) -> Authenticator:
    http.put(f"/v1/users/{user}", json={"phone": phone, "display_name": user.title()})
    activation = http.post(f"/v1/users/{user}/activations").json()
    outbox = _admin(env, home, "outbox", "--phone", phone, "--limit", "5")
    sms = re.findall(r"\[activation_code\][^\n]*?(\d{6})", outbox)[-1]
    backend = PlaintextKeyring()
    backend.file_path = str(home / f"{user}-keyring.cfg")  # type: ignore[misc]
    keystore = Keystore(home / f"{user}-keystore.json", keyring_backend=backend)
    session = ActivationSession.start(keystore, activation["qr_uri"])
    session.register(f"Poste de {user}", sms)
    return session.choose_code(CODE)


def _best(repeat: int, run: Callable[[], float]) -> float:
    return min(run() for _ in range(repeat))


def _measure(
    http: httpx.Client,
    pid: int,
    devices: dict[str, Authenticator],
    iban: str,
    size: int,
    repeat: int,
) -> str:
    """One size's figures, as a line of the table."""
    batch = {
        "debtor_iban": iban,
        "execution_date": make_pain001.default_execution_date().isoformat(),
        "lines": [
            {
                "payee_name": name,
                "payee_iban": payee,
                "amount": {"value": amount, "currency": "EUR"},
                "reference": reference,
            }
            for _, name, payee, amount, reference in make_pain001.lines(size)
        ],
    }
    body = json.dumps({"user": "alice", "type": "batch_transfer", "data": batch, "account": iban})
    xml = make_pain001.build_pain001(size, version="09", debtor_iban=iban)
    cpu: dict[str, float] = {}
    ids: dict[str, str] = {}

    def post(path: str, content: bytes | str, kind: str, name: str) -> float:
        before = _cpu(pid)
        start = time.perf_counter()
        answer = http.post(
            path,
            content=content,
            params={"user": "alice", "account": iban} if name == "xml" else None,
            headers={"Content-Type": kind},
        )
        elapsed = time.perf_counter() - start
        assert answer.status_code == 201, answer.text
        cpu[name] = min(cpu.get(name, 1e9), _cpu(pid) - before)
        ids[name] = answer.json()["id"]
        return elapsed

    json_time = _best(
        repeat, lambda: post("/v1/operations/batch", body, "application/json", "json")
    )
    xml_time = _best(repeat, lambda: post("/v1/operations/pain001", xml, "application/xml", "xml"))
    operation = devices["alice"].operation(ids["json"])

    def read() -> float:
        start = time.perf_counter()
        assert len(devices["alice"].batch_lines(operation)) == size
        return time.perf_counter() - start

    lines_time = _best(repeat, read)
    start = time.perf_counter()
    for name in ("alice", "bob"):
        devices[name].approve_with_code(devices[name].operation(ids["json"]), CODE)
    approve_time = time.perf_counter() - start
    return (
        f"{size:>6} {json_time * 1000:>10.0f}ms {cpu['json'] * 1000:>5.0f}ms "
        f"{xml_time * 1000:>9.0f}ms {cpu['xml'] * 1000:>5.0f}ms "
        f"{lines_time * 1000:>10.0f}ms {approve_time * 1000:>10.0f}ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    with tempfile.TemporaryDirectory() as directory, server(Path(directory)) as (url, env, proc):
        home = Path(directory)
        created = _admin(env, home, "rp", "create", "bench-bank")
        key = re.search(r"sceau_sk_[A-Za-z0-9_-]+", created)
        assert key is not None
        http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key.group(0)}"}, timeout=120
        )
        http.put("/v1/organisations/acme", json={"name": "Ateliers Réunis"})
        devices, members = {}, {}
        for index, name in enumerate(("alice", "bob")):
            devices[name] = _device(http, env, home, name, f"+3361200{index:04d}")
            answer = http.put(f"/v1/organisations/acme/members/{name}", json={"display_name": name})
            members[name] = answer.json()["id"]
        iban = make_pain001.DEBTOR_IBAN
        rule = {"v": 1, "currency": "EUR", "tiers": [{"above": "0.00", "validators": 2}]}
        rights = [
            {"member": m, "rights": ["view", "prepare", "validate"]} for m in members.values()
        ]
        account = {"organisation": "acme", "currency": "EUR", "name": "Fournisseurs", "rule": rule}
        http.put(f"/v1/accounts/{iban}", json={**account, "members": rights})
        print(f"{'lines':>6} {'JSON create':>12} {'CPU':>7} {'XML create':>11} {'CPU':>7} "
              f"{'lines+check':>12} {'2 approvals':>12}")  # fmt: skip
        for size in sizes:
            print(_measure(http, proc.pid, devices, iban, size, arguments.repeat))
        print(f"server peak RSS: {_peak_rss_mib(proc.pid):.0f} MiB")
        for device in devices.values():
            device.close()
        http.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
