# SPDX-License-Identifier: Apache-2.0
"""The findings of the adversarial review of the server, each closed over real HTTP.

Each test drives a real server (uvicorn, real SQLite file or PostgreSQL) as a relying party
and as a device would, and checks what they would see: answers, SMS, audit entries, rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from sceau_core.activation import ActivationCode, registration_proof
from sceau_core.encoding import b64url_encode
from sceau_core.keys import encode_public_key, generate_private_key
from sceau_core.knowledge import start_code_evaluation
from sceau_core.signatures import sign_key_registration
from sceau_server.settings import ConfigurationError, Settings
from tests.server.conftest import RelyingPartyClient, ServerHandle, wait_until
from tests.server.device_double import SignedCall, TestDevice

TRANSFER = {
    "amount": {"value": "1234.56", "currency": "EUR"},
    "payee_name": "Jean Dupont",
    "payee_iban": "FR7630006000011234567890189",
}


def transfer(bank: RelyingPartyClient, user: str, **extra: Any) -> dict[str, Any]:
    response = bank.create_operation(user=user, type="transfer", data=TRANSFER, **extra)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:sceau:problem:{kind}"
    assert "Traceback" not in response.text
    return body


def events(server: ServerHandle) -> list[str]:
    return [row.event for row in server.rows("SELECT event FROM audit_entries ORDER BY seq")]


# --- 1. event streams per device and per process ------------------------------------------------


@contextlib.contextmanager
def open_stream(
    stack: contextlib.ExitStack, device: TestDevice
) -> Iterator[tuple[httpx.Response, Iterator[str]]]:
    call = device.prepare("GET", "/v1/device/events")
    client = stack.enter_context(httpx.Client(timeout=20))
    response = stack.enter_context(
        client.stream("GET", device.base_url + call.path, headers=call.headers)
    )
    lines = response.iter_lines()
    if response.status_code == 200:
        assert next(lines) == ": connected"
    yield response, lines


def next_event(lines: Iterator[str]) -> str:
    for line in lines:
        if line.startswith("event: "):
            return line.removeprefix("event: ")
    return "closed"


def test_a_device_keeps_only_its_newest_event_streams(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """Five streams opened by one device: the three oldest are told they were replaced and
    end; only the two newest are fed the next operation."""
    device = server.enrol(bank, "xena")
    with contextlib.ExitStack() as stack:
        streams = [stack.enter_context(open_stream(stack, device)) for _ in range(5)]
        assert all(response.status_code == 200 for response, _ in streams)
        created = transfer(bank, "xena")
        for _, lines in streams[:3]:
            assert next_event(lines) == "replaced"
            assert next_event(lines) == "closed"
        for _, lines in streams[3:]:
            assert next_event(lines) == "operation"
            assert created["id"] in next(lines)


def test_the_process_cap_on_event_streams_is_a_503_problem(make_server: Any) -> None:
    """At the process cap a new stream is refused with 503 problem+json and Retry-After (the
    device SDK retries it with backoff); the streams already open keep working."""
    server = make_server(max_streams=2)
    bank = server.relying_party()
    first = server.enrol(bank, "ada")
    second = server.enrol(bank, "bob")
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(open_stream(stack, first)) for _ in range(2)]
        refused, _ = stack.enter_context(open_stream(stack, second))
        refused.read()
        problem(refused, 503, "unavailable")
        assert refused.headers["retry-after"]
        created = transfer(bank, "ada")
        for _, lines in held:
            assert next_event(lines) == "operation"
            assert created["id"] in next(lines)


# --- 2. a change of phone number is kept, audited and told to the old number --------------------


def test_a_phone_change_is_audited_and_told_to_the_old_number(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """A new number with ``phone_changed_at: 0`` still records the change (now), audits it and
    sends the SIM-swap warning to the old number, never to the new one."""
    bank.put_user("walt", phone="+33677770002")
    before = server.ctx.now()
    response = bank.http.put(
        "/v1/users/walt",
        json={"phone": "+33699990002", "display_name": "Client walt", "phone_changed_at": 0},
    )
    assert response.status_code == 200, response.text
    user = bank.http.get("/v1/users/walt").json()
    assert user["phone"] == "+33699990002"
    assert user["phone_changed_at"] >= before
    (alert,) = [m for k, m in server.outbox("+33677770002") if k == "phone_changed"]
    assert "numéro de téléphone" in alert
    assert "appelez votre banque" in alert
    assert not [k for k, _ in server.outbox("+33699990002") if k == "phone_changed"]
    (entry,) = server.rows("SELECT data FROM audit_entries WHERE event = 'user.phone_changed'")
    assert "+33677770002" not in entry.data
    assert "+33699990002" not in entry.data
    assert entry.data.count("02") >= 2  # the masked numbers keep their last digits


def test_the_rp_cannot_move_the_phone_change_date_back(make_server: Any) -> None:
    """After a change of number, the RP resetting ``phone_changed_at`` to 0 (or to any earlier
    date) does not lift the SIM-swap hold on code resets: the most recent date is kept."""
    server = make_server()
    bank = server.relying_party()
    bank.put_user("yola", phone="+33677770005")
    bank.put_user("yola", phone="+33699990005")
    changed = bank.http.get("/v1/users/yola").json()["phone_changed_at"]
    assert changed is not None
    for claimed in (0, changed - 86_400 * 30, None):
        body = {"phone": "+33699990005", "display_name": "Client yola"}
        if claimed is not None:
            body["phone_changed_at"] = claimed
        assert bank.http.put("/v1/users/yola", json=body).status_code == 200
        assert bank.http.get("/v1/users/yola").json()["phone_changed_at"] == changed
    # Phone unchanged: no further alert to anyone.
    assert [k for k, _ in server.outbox() if k == "phone_changed"] == ["phone_changed"]


# --- 3. no one-time code in clear in a production database -------------------------------------

PRODUCTION = {
    "SCEAU_ENV": "production",
    "SCEAU_PUBLIC_URL": "https://sceau.banque.example",
    "SCEAU_MASTER_KEY": "a-production-master-key-0123456789abcdef",
    "SCEAU_SECRET": "a-production-hmac-secret-0123456789abcdef",
}


def test_serve_refuses_the_sms_outbox_in_production_unless_acknowledged(tmp_path: Path) -> None:
    """The outbox keeps one-time codes: ``sceau serve`` in production refuses it with a plain
    sentence naming the way out, and creates nothing."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("sceau")), "serve"],
        cwd=tmp_path,
        env={**os.environ, **PRODUCTION},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "SCEAU_SMS_OUTBOX=redacted" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "var").exists()


def test_a_production_outbox_keeps_no_one_time_code(make_server: Any) -> None:
    """With the outbox acknowledged (``redacted``), activation SMS reach the outbox with the
    code blanked out; other alerts are kept as they are."""
    server = make_server(
        env="production", public_url="https://sceau.banque.example", sms_outbox="redacted"
    )
    bank = server.relying_party()
    bank.put_user("olga", phone="+33655558888")
    bank.create_activation("olga")
    ((kind, message),) = server.outbox("+33655558888")
    assert kind == "activation_code"
    assert "••••••" in message
    assert not any(word.strip(".,").isdigit() and len(word) >= 6 for word in message.split())


# --- 4. one slow webhook endpoint stalls no one else ----------------------------------------------


class _Fast(BaseHTTPRequestHandler):
    received: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        type(self).received.append(self.headers["webhook-id"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class _Trickle(BaseHTTPRequestHandler):
    """Answers one byte every 0.2 s, never idle long enough for a read timeout, until the
    test releases it or the server hangs up (``cut``)."""

    release = threading.Event()
    hits: ClassVar[list[str]] = []
    cut: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        type(self).hits.append(self.headers["webhook-id"])
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(600):  # bounded: 2 minutes
                if self.release.wait(0.2):
                    return
                self.wfile.write(b"X-Slow: 1\r\n")
                self.wfile.flush()
        except OSError:
            type(self).cut.append(self.headers["webhook-id"])

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def endpoints() -> Iterator[tuple[str, str]]:
    _Fast.received, _Trickle.hits, _Trickle.cut = [], [], []
    _Trickle.release.clear()
    servers = []
    for handler in (_Trickle, _Fast):
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
    yield tuple(f"http://127.0.0.1:{h.server_address[1]}/hooks" for h in servers)  # type: ignore[misc]
    _Trickle.release.set()
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def test_a_trickling_webhook_endpoint_stalls_no_other_rp_and_is_cut_off(
    make_server: Any, endpoints: tuple[str, str]
) -> None:
    """An RP's endpoint that answers one header line at a time holds only its own deliveries:
    another RP's result arrives while it is still trickling, and the server hangs up on it
    (overall deadline ``webhook_timeout``) and retries it later."""
    slow_url, fast_url = endpoints
    server = make_server(webhook_timeout=1.0)
    slow_rp = server.relying_party("Service tiers", callback_allow=[slow_url])
    fast_rp = server.relying_party("Banque en ligne", callback_allow=[fast_url])
    server.enrol(slow_rp, "ugo")
    server.enrol(fast_rp, "ines")
    slow = slow_rp.create_operation(user="ugo", type="login", data={}, callback_url=slow_url)
    assert slow_rp.http.post(f"/v1/operations/{slow.json()['id']}/cancel").status_code == 200
    wait_until(lambda: _Trickle.hits)  # the slow endpoint is being answered, byte by byte

    fast = fast_rp.create_operation(user="ines", type="login", data={}, callback_url=fast_url)
    assert fast_rp.http.post(f"/v1/operations/{fast.json()['id']}/cancel").status_code == 200
    wait_until(lambda: _Fast.received, timeout=20)
    assert not _Trickle.release.is_set()  # still trickling when the other RP was served

    wait_until(lambda: len(_Trickle.hits) >= 2, timeout=20)  # cut off, then tried again
    # The handler learns of the hang-up at its next write or the one after (the first write
    # to a closed peer can still succeed): the retry may arrive before that.
    wait_until(lambda: _Trickle.cut, timeout=5)
    (row,) = server.rows("SELECT status, attempts FROM deliveries WHERE url = :u", u=slow_url)
    assert row.status == "pending"
    assert row.attempts >= 2


# --- 5. parallel wrong SMS codes are held to the allowed attempts -------------------------------


@pytest.mark.slow
def test_parallel_wrong_sms_codes_are_held_to_three_attempts(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """Whoever holds the activation code but not the SMS sends 30 registrations at once, each
    with another SMS guess, then keeps guessing one at a time: in all, exactly three guesses
    are checked (answered with ``attempts_left``), each audited, then the activation ends and
    the right SMS code is refused. (A burst request whose counter is below one already seen is
    refused before the check, whatever the order the server takes them in.) Four customers,
    four bursts: the more bursts, the likelier an interleaving that would overshoot."""
    for round_ in range(4):
        _sms_burst(server, bank, f"rose{round_}", f"+3365555000{round_}")


def _sms_burst(server: ServerHandle, bank: RelyingPartyClient, user: str, phone: str) -> None:
    bank.put_user(user, phone=phone)
    code = ActivationCode.parse(bank.create_activation(user)["code"])
    device = server.device()
    device.activation_id = device.http.get(
        f"{server.url}/v1/device/activation/{code.lookup_id()}"
    ).json()["activation_id"]
    right = server.sms_code(phone)
    registration = {
        "activation_id": device.activation_id,
        "device_name": device.name,
        "device_public_key": encode_public_key(device.device_key.public_key()),
    }
    proof = registration_proof(code.registration_key(), registration)

    def guess(i: int) -> SignedCall:
        wrong = f"{(int(right) + 1 + i) % 10**6:06d}"
        body = {**registration, "sms_code": wrong, "proof": proof}
        return device.prepare("POST", "/v1/device/activation/register", body, counter=1 + i)

    def send(call: SignedCall) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            return device.send(call, client)

    calls = [guess(i) for i in range(30)]
    with ThreadPoolExecutor(max_workers=30) as pool:
        responses = list(pool.map(send, calls))
    responses += [send(guess(i)) for i in range(30, 34)]  # bounded: more than three attempts

    assert all(response.status_code == 401 for response in responses)
    checked = sorted(r.json()["attempts_left"] for r in responses if "attempts_left" in r.json())
    assert checked == [0, 1, 2]
    (row,) = server.rows(
        "SELECT status, sms_attempts FROM activations WHERE id = :i", i=device.activation_id
    )
    assert tuple(row) == ("revoked", 3)
    (failures,) = server.rows(
        "SELECT COUNT(*) FROM audit_entries WHERE event = 'activation.code_failure' "
        "AND subject = :i",
        i=device.activation_id,
    )
    assert failures[0] == 3
    assert device.register(code, right).status_code == 401


# --- 6. activation lookup ids stay out of the access log ----------------------------------------


def test_the_access_log_does_not_show_activation_lookup_ids(tmp_path: Path) -> None:
    """``sceau serve`` logs each request, but a lookup (which leads to the activation id)
    appears with its id blanked out."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SCEAU_PUBLIC_URL": url, "SCEAU_CHECKPOINT_INTERVAL": "0"}
    sceau = str(Path(sys.executable).with_name("sceau"))
    server = subprocess.Popen(
        [sceau, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{url}/openapi.json").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout=30, interval=0.1)
        lookup_id = ActivationCode.generate(os.urandom).lookup_id()
        assert httpx.get(f"{url}/v1/device/activation/{lookup_id}").status_code == 404
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=20)
    assert "GET /v1/device/activation/… HTTP/1.1" in output
    assert lookup_id not in output


# --- 8. the deployment's maximum time to live binds relying parties -----------------------------


def test_the_deployments_maximum_ttl_binds_relying_parties(make_server: Any) -> None:
    """``SCEAU_MAX_TTL=120``: an RP asking for a one-hour operation is refused with 422 and
    nothing is created; 120 s is accepted."""
    server = make_server(max_ttl=120, operation_ttl=60)
    bank = server.relying_party()
    server.enrol(bank, "tom")
    before = server.snapshot()
    body = problem(
        bank.create_operation(user="tom", type="login", data={}, ttl=3600), 422, "invalid-request"
    )
    assert body["errors"][0]["loc"] == ["body", "ttl"]
    assert server.snapshot() == before
    created = bank.create_operation(user="tom", type="login", data={}, ttl=120).json()
    assert created["expires_at"] - created["created_at"] == 120


def test_a_default_ttl_above_the_maximum_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="SCEAU_MAX_TTL"):
        Settings.from_env({"SCEAU_MAX_TTL": "120", "SCEAU_TTL_TRANSFER": "600"})


# --- 9. a registration must be committed before the activation code expires ---------------------


def test_a_registration_cannot_be_committed_after_the_activation_code_expired(
    make_server: Any,
) -> None:
    """Registered near the end of the code's validity, the ceremony cannot be finished once
    the code has expired (however recent the registration): the OPRF evaluation and the
    commit are refused, the activation stays uncommitted."""
    server = make_server(activation_ttl=6, sms_code_ttl=6)
    bank = server.relying_party()
    phone = "+33655557777"
    bank.put_user("paul", phone=phone)
    created = bank.create_activation("paul")
    code = ActivationCode.parse(created["code"])
    device = server.device("tardif")
    found = device.http.get(f"{server.url}/v1/device/activation/{code.lookup_id()}").json()
    device.activation_id = found["activation_id"]
    wait_until(lambda: server.ctx.now() >= created["expires_at"] - 2, timeout=10)
    assert device.register(code, server.sms_code(phone)).status_code == 200
    wait_until(lambda: server.ctx.now() > created["expires_at"], timeout=10)

    evaluation = start_code_evaluation("7391", rng=os.urandom)
    answer = device.call(
        "POST",
        "/v1/device/activation/oprf",
        {"blinded_element": b64url_encode(evaluation.blinded_element)},
    )
    problem(answer, 401, "authentication-failed")
    knowledge = generate_private_key(os.urandom)
    commit = device.call(
        "POST",
        "/v1/device/activation/commit",
        {
            "knowledge_public_key": encode_public_key(knowledge.public_key()),
            "knowledge_signature": sign_key_registration(
                knowledge, activation_id=device.activation_id
            ),
        },
    )
    problem(commit, 401, "authentication-failed")
    (row,) = server.rows("SELECT status, knowledge_public_key FROM activations")
    assert row.status in ("registered", "expired")
    assert row.knowledge_public_key is None


def test_the_right_sms_code_is_refused_once_it_expired(make_server: Any) -> None:
    """Brief L1: the SMS code is short-lived on its own, though the activation code still runs;
    its registration is refused and registers nothing."""
    server = make_server(activation_ttl=600, sms_code_ttl=3)
    bank = server.relying_party()
    phone = "+33655557778"
    bank.put_user("rose", phone=phone)
    created = bank.create_activation("rose")
    code = ActivationCode.parse(created["code"])
    device = server.device("lent")
    found = device.http.get(f"{server.url}/v1/device/activation/{code.lookup_id()}").json()
    device.activation_id = found["activation_id"]
    (row,) = server.rows("SELECT sms_expires_at FROM activations")
    wait_until(lambda: server.ctx.now() >= row.sms_expires_at, timeout=10)
    assert server.ctx.now() < created["expires_at"]
    problem(device.register(code, server.sms_code(phone)), 401, "authentication-failed")
    (after,) = server.rows("SELECT status, device_public_key FROM activations")
    assert (after.status, after.device_public_key) == ("pending", None)


# --- 10. forged requests and evaluations during a lock leave an audit trace ----------------------


def test_forged_device_signatures_are_audited_without_flooding_the_log(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """Twenty requests in a device's name signed with another key: each is refused, and the
    audit log records the forgery against that activation (once a minute at most, with a
    count), without any part of the forged requests."""
    victim = server.enrol(bank, "yann")
    created = transfer(bank, "yann")
    forger = TestDevice(
        base_url=victim.base_url,
        device_key=generate_private_key(os.urandom),
        activation_id=victim.activation_id,
        counter=victim.counter + 10,
    )
    server.clients.append(forger.http)
    before = server.snapshot()
    for _ in range(20):  # bounded
        response = forger.call(
            "POST", f"/v1/device/operations/{created['id']}/evaluate", {"blinded_element": "A" * 43}
        )
        problem(response, 401, "authentication-failed")
    assert server.snapshot() == before
    rows = server.rows(
        "SELECT subject, data FROM audit_entries WHERE event = 'device.signature_refused'"
    )
    assert [row.subject for row in rows] == [victim.activation_id]
    assert json.loads(rows[0].data) == {"reason": "InvalidSignature", "refused": 1}
    assert victim.call("GET", "/v1/device/status").status_code == 200  # the device is unharmed


def test_evaluations_refused_during_a_lock_are_audited(make_server: Any) -> None:
    """While an activation is locked, each further evaluation (a clone still guessing) is
    refused and audited with the lock's end; nothing else changes."""
    server = make_server(max_failures=1)
    bank = server.relying_party()
    device = server.enrol(bank, "zoe")
    created = transfer(bank, "zoe")
    response, _ = device.evaluate(created["id"], "1397")
    locked_until = response.json()["locked_until"]
    assert locked_until is not None
    for _ in range(3):
        response, _ = device.evaluate(created["id"], "1398")
        assert problem(response, 401, "authentication-failed")["locked_until"] == locked_until
    rows = server.rows("SELECT data FROM audit_entries WHERE event = 'code.refused_while_locked'")
    assert [json.loads(row.data) for row in rows] == [
        {"reason": "locked", "locked_until": locked_until}
    ] * 3


# --- 11. a failure names no factor (K4) ---------------------------------------------------------


def test_a_failure_names_no_factor_in_the_answer_or_the_sms(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """Two refused approvals: the right code with a wrong possession signature, and a wrong
    code with the right one. The device gets the same answer for both (only the count of
    tries left moves), and the customer's SMS name neither the code nor the device."""
    phone = "+33612120001"
    device = server.enrol(bank, "dora", phone=phone)
    answers = []
    for pin, device_key in (("4826", generate_private_key(os.urandom)), ("1397", None)):
        created = transfer(bank, "dora")
        operation = device.operation(created["id"])
        _, knowledge = device.evaluate(created["id"], pin)
        signed = device.sign(
            operation,
            knowledge_key=knowledge,
            counter=device.next_counter(),
            device_key=device_key,
        )
        answers.append(
            problem(
                device.send(device.decision_call(created["id"], signed)),
                401,
                "authentication-failed",
            )
        )
    wrong_possession, wrong_code = answers
    assert set(wrong_possession) == set(wrong_code)
    assert (wrong_possession["attempts_left"], wrong_code["attempts_left"]) == (4, 3)
    assert wrong_possession["message_fr"].replace("4", "3") == wrong_code["message_fr"]

    def alerts() -> list[str]:
        return [m for k, m in server.outbox(phone) if k == "code_failure"]

    wait_until(lambda: len(alerts()) >= 2)
    for message in alerts():
        assert "code" not in message.lower()
        assert "appareil" not in message.lower()
        assert "a échoué" in message


def test_a_wrong_code_and_a_wrong_device_signature_get_the_same_problem_but_the_count(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    # Brief K4, field by field: nothing in the answer but the tries left may tell them apart.
    device = server.enrol(bank, "dina", phone="+33612120002")
    answers = []
    for pin, device_key in (("4826", generate_private_key(os.urandom)), ("1397", None)):
        created = transfer(bank, "dina")
        _, knowledge = device.evaluate(created["id"], pin)
        signed = device.sign(
            device.operation(created["id"]),
            knowledge_key=knowledge,
            counter=device.next_counter(),
            device_key=device_key,
        )
        response = device.send(device.decision_call(created["id"], signed))
        answers.append(problem(response, 401, "authentication-failed"))
    wrong_possession, wrong_code = answers
    assert (wrong_possession.pop("attempts_left"), wrong_code.pop("attempts_left")) == (4, 3)
    for name in ("message_fr", "message_en"):
        assert wrong_possession.pop(name).replace("4", "3") == wrong_code.pop(name)
    assert wrong_possession == wrong_code


# --- 12. no one plants entries in another operation's evidence ----------------------------------


def test_an_rp_cannot_plant_entries_in_another_operations_evidence(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """A user named after an operation id (or any id the server makes) is refused with 422 and
    nothing is created, so the operation's dispute bundle holds only its own entries."""
    from sceau_server.audit import export_evidence

    server.enrol(bank, "anna")
    created = transfer(bank, "anna")
    before = server.snapshot()
    for external_id in (created["id"], "act_x", "RP_x", "rst_x", "msg_x"):
        response = bank.http.put(
            f"/v1/users/{external_id}",
            json={"phone": "+33600000042", "display_name": "Client"},
        )
        assert problem(response, 422, "invalid-request")["errors"][0]["loc"] == [
            "path",
            "external_id",
        ]
    assert server.snapshot() == before
    with server.ctx.read() as session:
        bundle = export_evidence(
            session, operation_id=created["id"], public_key=server.ctx.public_key
        )
    chain = {entry["seq"]: entry for entry in bundle["chain"]}
    assert all(chain[seq]["event"].startswith("operation.") for seq in bundle["entries"])
    assert bank.put_user("op-anna")["external_id"] == "op-anna"  # other ids are fine


def test_a_device_named_like_a_server_id_is_refused_without_spending_an_attempt(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """The device name lands in the audit log too: one that starts like an operation id is
    refused with 422 at registration, and the customer's SMS attempts are untouched."""
    phone = "+33655550077"
    bank.put_user("noor", phone=phone)
    code = ActivationCode.parse(bank.create_activation("noor")["code"])
    device = server.device("op_AAAAAAAAAAAAAAAAAAAAAA")
    device.activation_id = device.http.get(
        f"{server.url}/v1/device/activation/{code.lookup_id()}"
    ).json()["activation_id"]
    problem(device.register(code, server.sms_code(phone)), 422, "invalid-request")
    (row,) = server.rows("SELECT status, sms_attempts FROM activations")
    assert tuple(row) == ("pending", 0)
