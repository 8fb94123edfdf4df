# SPDX-License-Identifier: Apache-2.0
"""The lean load generator: the device's protocol steps over a minimal HTTP/1.1 client.

``bench/validations.py --client lean`` (its default) runs each generator process as one event loop
(uvloop) instead of a thread per device over httpx. The device does exactly what the SDK does, with
the SDK's protocol functions from ``sceau_core``: it checks the server's signature of the
operation its event stream carries, evaluates the code through the VOPRF (blinding, then
finalising against the server's proof), signs the approval with its device and knowledge keys, and
signs every request under RFC 9421 with a counter that grows by one per request. Only the HTTP
client is different: persistent HTTP/1.1 connections whose answers ``httptools`` (the C parser
uvicorn uses) reads, about a tenth of httpx's CPU per request. What the SDK's own client costs is
measured by ``--client sdk``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import httptools
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sceau_core.approval import Approval, Decision, Factor, sign_approval
from sceau_core.encoding import b64url_decode, b64url_encode
from sceau_core.httpsig import HttpRequest, sign_request
from sceau_core.keys import decode_public_key
from sceau_core.knowledge import CodeEvaluation, finish_code_evaluation, start_code_evaluation
from sceau_core.operations import Operation
from sceau_core.signatures import verify_signed_operation

if TYPE_CHECKING:
    from validations import DeviceRecord, Schedule

CODE = "4826"
NOTIFY_TIMEOUT = 10.0
LATE = 0.005

Answer = tuple[int, str, bytes]


class HttpFailure(Exception):
    """The connection broke or the server answered something the generator did not expect."""


class _Connection(asyncio.Protocol):
    """One persistent HTTP/1.1 connection: one request at a time, or one event stream."""

    def __init__(self, on_stream_data: Callable[[bytes], None] | None = None) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[Answer] | None = None
        self._body: list[bytes] = []
        self._content_type = ""
        self._on_stream_data = on_stream_data
        self._headers_seen: asyncio.Future[int] | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(HttpFailure(f"unparsable answer: {error}"))
            if self._transport is not None:
                self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(HttpFailure(f"connection lost: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._body = []
        self._content_type = ""

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-type":
            self._content_type = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        if self._headers_seen is not None and not self._headers_seen.done():
            self._headers_seen.set_result(self._parser.get_status_code())

    def on_body(self, body: bytes) -> None:
        if self._on_stream_data is not None:
            self._on_stream_data(body)
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(
                (self._parser.get_status_code(), self._content_type, b"".join(self._body))
            )

    def _fail(self, error: Exception) -> None:
        for future in (self._waiter, self._headers_seen):
            if future is not None and not future.done():
                future.set_exception(error)
        self._waiter = None

    async def request(self, raw: bytes) -> Answer:
        if self._transport is None or self._transport.is_closing():
            raise HttpFailure("the connection is closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        return await self._waiter

    async def open_stream(self, raw: bytes) -> int:
        if self._transport is None:
            raise HttpFailure("the connection is closed")
        self._headers_seen = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        return await self._headers_seen

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _request_bytes(
    method: str, target: str, host: str, headers: dict[str, str], body: bytes
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class _Server:
    url: str
    host: str = field(init=False)
    port: int = field(init=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        self.host = parts.netloc
        self.port = parts.port or 80

    async def connect(self, on_stream_data: Callable[[bytes], None] | None = None) -> _Connection:
        _, protocol = await asyncio.get_running_loop().create_connection(
            lambda: _Connection(on_stream_data), "127.0.0.1", self.port
        )
        return protocol


def _json(answer: Answer, expected: int, what: str) -> dict[str, Any]:
    status, content_type, body = answer
    if status != expected:
        raise HttpFailure(f"{what} answered {status}: {body[:300]!r}")
    if not content_type.startswith("application/json"):
        raise HttpFailure(f"{what} answered {content_type}")
    value: dict[str, Any] = json.loads(body)
    return value


class Bank:
    """The relying party: one persistent connection, API key in every request."""

    def __init__(self, server: _Server, api_key: str) -> None:
        self._server = server
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self._connection: _Connection | None = None

    async def _send(self, raw: bytes) -> Answer:
        if self._connection is None or self._connection.closed.done():
            self._connection = await self._server.connect()
        return await self._connection.request(raw)

    async def create(self, request: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(request, separators=(",", ":")).encode()
        headers = {**self._headers, "Content-Type": "application/json"}
        raw = _request_bytes("POST", "/v1/operations", self._server.host, headers, body)
        return _json(await self._send(raw), 201, "create")

    async def read(self, operation_id: str) -> dict[str, Any]:
        raw = _request_bytes(
            "GET", f"/v1/operations/{operation_id}", self._server.host, self._headers, b""
        )
        return _json(await self._send(raw), 200, "read")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


def approval_signer(
    record: DeviceRecord,
    device_key: ec.EllipticCurvePrivateKey,
    operation: Operation,
    evaluation: CodeEvaluation,
    answer: dict[str, Any],
    match: str | None,
) -> Callable[[int], dict[str, Any]]:
    """Finish the code's VOPRF evaluation; the signed approval for a given request counter."""
    knowledge = finish_code_evaluation(
        evaluation,
        evaluated_element=b64url_decode(answer["evaluated_element"], length=32),
        proof=b64url_decode(answer["proof"], length=64),
        expected_oprf_public_key=record.oprf_public_key,
        device_secret=record.device_secret,
    )
    keys = {Factor.POSSESSION: device_key, Factor.KNOWLEDGE: knowledge}

    def signed(counter: int) -> dict[str, Any]:
        approval = Approval.for_operation(
            operation,
            activation=record.activation_id,
            decision=Decision.APPROVE,
            factors=(Factor.KNOWLEDGE, Factor.POSSESSION),
            counter=counter,
            match=match,
        )
        return sign_approval(approval, keys).to_json()

    return signed


class LeanDevice:
    """One activated device: its keys, its counter, its event stream and its request connection."""

    def __init__(self, server: _Server, record: DeviceRecord) -> None:
        key = serialization.load_der_private_key(record.device_key_der, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self.record = record
        self._server = server
        self._key = key
        self._server_key = decode_public_key(record.server_public_key)
        self._counter = record.counter
        self._connection: _Connection | None = None
        self._stream: _Connection | None = None
        self._pending = b""
        self._arrived: dict[str, tuple[dict[str, Any] | None, float]] = {}
        self._waiters: dict[str, asyncio.Future[tuple[dict[str, Any] | None, float]]] = {}
        self._announced: dict[str, Any] | None = None

    def _signed_bytes(
        self, method: str, path: str, body: dict[str, Any] | None, accept: str
    ) -> bytes:
        self._counter += 1
        content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        signature = sign_request(
            HttpRequest(method=method, url=self._server.url + path, headers=headers, body=content),
            private_key=self._key,
            key_id=self.record.activation_id,
            counter=self._counter,
            now=int(time.time()),
            rng=os.urandom,
        )
        headers = {**headers, **signature, "Accept": accept}
        return _request_bytes(method, path, self._server.host, headers, content)

    async def listen(self) -> None:
        """Open the signed event stream; events are dispatched as they arrive."""
        self._stream = await self._server.connect(self._stream_data)
        status = await self._stream.open_stream(
            self._signed_bytes("GET", "/v1/device/events", None, "text/event-stream")
        )
        if status != 200:
            raise HttpFailure(f"event stream answered {status}")

    def _stream_data(self, data: bytes) -> None:
        now = time.perf_counter()
        self._pending += data
        while b"\n\n" in self._pending:
            block, self._pending = self._pending.split(b"\n\n", 1)
            name, payload = "message", []
            for line in block.decode().split("\n"):
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    payload.append(line[5:].removeprefix(" "))
            if name != "operation" or not payload:
                continue
            event = json.loads("\n".join(payload))
            if event.get("status", "pending") != "pending":
                continue
            arrived = (event.get("signed"), now)
            waiter = self._waiters.pop(event["id"], None)
            if waiter is not None and not waiter.done():
                waiter.set_result(arrived)
            else:
                self._arrived[event["id"]] = arrived

    async def notified(self, operation_id: str) -> float:
        """Wait for the event announcing ``operation_id``; return when it arrived."""
        arrived = self._arrived.pop(operation_id, None)
        if arrived is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters[operation_id] = waiter
            try:
                arrived = await asyncio.wait_for(waiter, NOTIFY_TIMEOUT)
            except TimeoutError:
                raise HttpFailure(f"no event for {operation_id}") from None
            finally:
                self._waiters.pop(operation_id, None)
        self._announced = arrived[0]
        return arrived[1]

    async def _signed(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        if self._connection is None or self._connection.closed.done():
            self._connection = await self._server.connect()
        raw = self._signed_bytes(method, path, body, "application/json")
        return _json(await self._connection.request(raw), 200, f"{method} {path}")

    async def approve(self, operation_id: str, match: str | None) -> None:
        """The SDK's steps: check the signed operation, evaluate the code, sign the approval."""
        item = self._announced
        if item is None:  # an event without its operation: read the pending list, as the SDK
            pending = await self._signed("GET", "/v1/device/operations", None)
            item = next(
                entry for entry in pending["operations"] if entry["operation"]["id"] == operation_id
            )
        operation: Operation = verify_signed_operation(item, public_key=self._server_key)
        evaluation = start_code_evaluation(CODE, rng=os.urandom)
        answer = await self._signed(
            "POST",
            f"/v1/device/operations/{operation_id}/evaluate",
            {"blinded_element": b64url_encode(evaluation.blinded_element)},
        )
        approve = approval_signer(self.record, self._key, operation, evaluation, answer, match)
        # The counter the decision request is signed with.
        decided = await self._signed(
            "POST", f"/v1/device/operations/{operation_id}/decision", approve(self._counter + 1)
        )
        if decided.get("status") != "approved":
            raise HttpFailure(f"decision answered {decided}")

    def close(self) -> None:
        for connection in (self._connection, self._stream):
            if connection is not None:
                connection.close()


async def validate(
    bank: Bank, device: LeanDevice, rng: random.Random, request: Callable[..., dict[str, Any]]
) -> tuple[float, float]:
    """One whole validation; return (whole flow, create sent → device notified) in seconds."""
    started = time.perf_counter()
    view = await bank.create(request(rng, device.record.user))
    notified_at = await device.notified(view["id"])
    await device.approve(view["id"], view.get("match"))
    result = await bank.read(view["id"])
    if result["status"] != "approved" or not result.get("result"):
        raise HttpFailure(f"final state {result}")
    return time.perf_counter() - started, notified_at - started


async def _closed(
    banks: list[Bank],
    devices: list[LeanDevice],
    count: int,
    seed: int,
    request: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    loops = len(banks)
    share = [count // loops + (1 if index < count % loops else 0) for index in range(loops)]
    flows: list[float] = []
    notifies: list[float] = []
    errors: list[str] = []

    async def loop(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        mine = devices[index::loops]
        for iteration in range(share[index]):
            try:
                flow, notify = await validate(
                    banks[index], mine[iteration % len(mine)], rng, request
                )
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}"[:300])
                continue
            flows.append(flow)
            notifies.append(notify)

    cpu = time.process_time()
    started = time.monotonic()
    await asyncio.gather(*(loop(index) for index in range(loops)))
    return {
        "flows": flows,
        "notifies": notifies,
        "errors": errors,
        "cpu": time.process_time() - cpu,
        "wall": time.monotonic() - started,
    }


@dataclass
class OpenTally:
    """What an open-loop run records, and the answer a generator process sends back."""

    start: float
    flows: list[float] = field(default_factory=list)
    notifies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dispatch_late: list[float] = field(default_factory=list)
    device_waits: list[float] = field(default_factory=list)
    from_due: list[tuple[float, float]] = field(default_factory=list)
    ended: float = 0.0

    def answer(self, cpu: float, times: list[float]) -> dict[str, Any]:
        ended = max(self.ended, self.start)
        return {
            "flows": self.flows,
            "notifies": self.notifies,
            "errors": self.errors,
            "cpu": cpu,
            "wall": ended - self.start,
            "dispatch_late": self.dispatch_late,
            "device_waits": self.device_waits,
            "from_due": self.from_due,
            "ended": ended,
            "last_due": times[-1] if times else self.start,
        }


async def _open(
    pairs: list[tuple[LeanDevice, Bank]],
    schedule: Schedule,
    request: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """Start validations at the schedule's times on idle devices (see validations._run_open)."""
    idle: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(pairs)):
        idle.put_nowait(index)
    rngs = [random.Random(schedule.seed * 1000 + index) for index in range(len(pairs))]
    tally = OpenTally(schedule.start)

    async def one(due: float, dispatched: float) -> None:
        index = await idle.get()
        began = time.monotonic()
        device, bank = pairs[index]
        try:
            flow, notify = await validate(bank, device, rngs[index], request)
        except Exception as error:
            tally.errors.append(f"{type(error).__name__}: {error}"[:300])
            return
        finally:
            tally.dispatch_late.append(dispatched - due)
            tally.device_waits.append(began - dispatched)
            tally.ended = max(tally.ended, time.monotonic())
            idle.put_nowait(index)
        tally.flows.append(flow)
        tally.notifies.append(notify)
        tally.from_due.append((flow + began - due, notify + began - due))

    times = schedule.times()
    cpu = time.process_time()
    tasks = []
    for due in times:
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, time.monotonic())))
    await asyncio.gather(*tasks)
    return tally.answer(time.process_time() - cpu, times)


async def _serve(
    url: str,
    api_key: str,
    records: list[DeviceRecord],
    connection: Connection,
    seed: int,
    request: Callable[..., dict[str, Any]],
) -> None:
    server = _Server(url)
    devices = [LeanDevice(server, record) for record in records]
    await asyncio.gather(*(device.listen() for device in devices))
    connection.send("ready")
    banks: list[Bank] = []
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, connection.recv)
        if command is None:
            break
        if command[0] == "closed":
            _, loops, count = command
            while len(banks) < loops:
                banks.append(Bank(server, api_key))
            connection.send(await _closed(banks[:loops], devices, count, seed, request))
        else:
            _, schedule = command
            while len(banks) < len(devices):
                banks.append(Bank(server, api_key))
            pairs = list(zip(devices, banks, strict=False))
            connection.send(await _open(pairs, schedule, request))
    for item in (*banks, *devices):
        item.close()


def generator(
    url: str,
    api_key: str,
    records: list[DeviceRecord],
    connection: Connection,
    seed: int,
    request: Callable[..., dict[str, Any]],
) -> None:
    """A load-generator process (same commands and answers as ``validations.generator``)."""
    import uvloop

    uvloop.run(_serve(url, api_key, records, connection, seed, request))
