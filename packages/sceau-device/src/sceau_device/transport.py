# SPDX-License-Identifier: Apache-2.0
"""HTTP to the Sceau server: signed device requests (RFC 9421), problems, server-sent events.

:class:`DeviceClient` wraps one :class:`httpx.Client` (its transport is injectable, so tests use
:class:`httpx.MockTransport`). It refuses plain http except to this machine (127.0.0.0/8, ::1,
``localhost``), signs every device request with the device key and a counter that a
:class:`CounterSource` reserves and persists before the request leaves, keeps the counter's lock
until the answer (or the event stream's headers) arrives, and turns every failure into a typed
:class:`~sceau_device.errors.DeviceError`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from sceau_core.encoding import parse_json_object
from sceau_core.errors import SceauError
from sceau_core.httpsig import HttpRequest, sign_request
from sceau_device._httpx import httpx
from sceau_device.errors import (
    AuthenticationRefused,
    InputError,
    InsecureServer,
    Locked,
    NetworkError,
    OperationUnavailable,
    RequestRefused,
    ServerFailure,
)

__all__ = [
    "PROBLEM_PREFIX",
    "CounterSource",
    "DeviceClient",
    "DeviceIdentity",
    "MemoryCounter",
    "ServerEvent",
    "check_server_url",
    "is_loopback",
]

PROBLEM_PREFIX: Final = "urn:sceau:problem:"
USER_AGENT: Final = "sceau-device/0.1"
_TIMEOUT: Final = httpx.Timeout(15.0, connect=10.0)
# Longer than the server's 15-second keep-alive comments, so a silent stream means a dead one.
_STREAM_TIMEOUT: Final = httpx.Timeout(10.0, read=45.0)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost``, 127.0.0.0/8 or ``::1``."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_server_url(url: str) -> str:
    """Return the server's base URL without a trailing slash, refusing anything but https.

    Plain http is accepted only to this machine (brief: TLS in production; the SDK refuses
    plain HTTP except on loopback). Raises :class:`InsecureServer` or :class:`InputError`.
    """
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InputError(
            f"Adresse de serveur invalide : « {text} » (attendu : https://…).",
            f"Invalid server address: “{text}” (expected: https://…).",
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InputError(
            "L’adresse du serveur ne doit contenir ni paramètres, ni identifiants.",
            "The server address must not contain parameters or credentials.",
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InsecureServer(text)
    return text.rstrip("/")


class CounterSource(Protocol):
    """Hands out strictly increasing counters, persisted before use, under one lock."""

    def reserve(self) -> AbstractContextManager[int]:
        """Reserve the next counter and hold the lock until the ``with`` block ends."""


class MemoryCounter:
    """A counter kept in memory only (tests, and tools that persist nothing)."""

    def __init__(self, last: int = 0) -> None:
        self.last = last
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def reserve(self) -> Iterator[int]:
        """The next counter, under the lock."""
        with self._lock:
            self.last += 1
            yield self.last


@dataclass(frozen=True)
class DeviceIdentity:
    """What signs a device request: the activation id (``keyid``), the device key, the counter."""

    key_id: str
    private_key: ec.EllipticCurvePrivateKey
    counters: CounterSource


@dataclass(frozen=True)
class ServerEvent:
    """One server-sent event: its name (``message`` when unnamed) and its data."""

    name: str
    data: str


BodyFactory = Callable[[int], Mapping[str, Any]]


class DeviceClient:
    """The HTTP client of one Sceau server; see the module docstring."""

    def __init__(
        self,
        server_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.server_url = check_server_url(server_url)
        self._clock = clock
        self._rng = rng
        self._http = httpx.Client(
            transport=transport,
            timeout=_TIMEOUT,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> DeviceClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server (the URI that signatures cover)."""
        if not path.startswith("/"):
            raise ValueError("path must start with /")
        return self.server_url + path

    def get(self, path: str) -> dict[str, Any]:
        """An unsigned GET (the activation lookup); return the JSON object answered."""
        response = self._send(lambda: self._http.get(self.url(path)))
        return self._answer(response)

    def signed(
        self,
        method: str,
        path: str,
        identity: DeviceIdentity,
        body: Mapping[str, Any] | BodyFactory | None = None,
    ) -> dict[str, Any] | None:
        """Send a signed request and return its JSON answer (``None`` for 204 No Content).

        ``body`` may be a function of the counter, for messages that carry it (approvals): it
        is called under the counter's lock, with the counter this very request is signed with.
        """
        with identity.counters.reserve() as counter:
            request = self._signed_request(method, path, identity, counter, body)
            response = self._send(lambda: self._http.send(request))
        return self._answer(response)

    @contextlib.contextmanager
    def events(self, path: str, identity: DeviceIdentity) -> Iterator[Iterator[ServerEvent]]:
        """Open a signed server-sent-events stream; yield an iterator of its events.

        The counter's lock is released as soon as the server has answered the headers (it
        admits the request, counter included, before it starts streaming).
        """
        with identity.counters.reserve() as counter:
            request = self._signed_request("GET", path, identity, counter, None)
            request.headers["Accept"] = "text/event-stream"
            request.extensions["timeout"] = _STREAM_TIMEOUT.as_dict()
            response = self._send(lambda: self._http.send(request, stream=True))
        try:
            if response.status_code != 200:
                self._send(response.read)
                self._answer(response)
                raise ServerFailure(f"event stream answered {response.status_code}")
            yield _parse_events(response)
        finally:
            response.close()

    def _signed_request(
        self,
        method: str,
        path: str,
        identity: DeviceIdentity,
        counter: int,
        body: Mapping[str, Any] | BodyFactory | None,
    ) -> httpx.Request:
        payload = body(counter) if callable(body) else body
        content = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        url = self.url(path)
        try:
            signature = sign_request(
                HttpRequest(method=method, url=url, headers=headers, body=content),
                private_key=identity.private_key,
                key_id=identity.key_id,
                counter=counter,
                now=int(self._clock()),
                rng=self._rng,
            )
        except SceauError as error:
            raise ServerFailure(f"the request cannot be signed: {error}") from error
        return self._http.build_request(
            method, url, content=content, headers={**headers, **signature}
        )

    @staticmethod
    def _send(action: Callable[[], Any]) -> Any:
        try:
            return action()
        except httpx.TimeoutException as error:
            raise NetworkError(f"timeout: {type(error).__name__}") from error
        except httpx.TransportError as error:
            raise NetworkError(f"{type(error).__name__}: {error}") from error

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code == 204:
            return {}
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        try:
            value = parse_json_object(response.content, field="answer") if response.content else {}
        except SceauError:
            value = None
        if response.is_success:
            if value is None or content_type != "application/json":
                raise ServerFailure(
                    f"{response.status_code} answer is not a JSON object", status=200
                )
            return value
        if value is None or content_type != "application/problem+json":
            raise ServerFailure(
                f"HTTP {response.status_code} without problem details",
                status=response.status_code,
            )
        raise problem_error(response.status_code, value)


def problem_error(status: int, problem: Mapping[str, Any]) -> Exception:
    """The SDK error for an RFC 9457 problem the server answered."""
    problem_type = str(problem.get("type", ""))
    slug = problem_type.removeprefix(PROBLEM_PREFIX)
    detail = f"{status} {slug}: {problem.get('detail', '')}"
    if slug == "authentication-failed":
        locked_until = _int_or_none(problem.get("locked_until"))
        blocked = problem.get("blocked") is True
        if blocked or locked_until is not None:
            return Locked(locked_until=locked_until, blocked=blocked)
        fr, en = problem.get("message_fr"), problem.get("message_en")
        return AuthenticationRefused(
            attempts_left=_int_or_none(problem.get("attempts_left")),
            message_fr=fr if isinstance(fr, str) else None,
            message_en=en if isinstance(en, str) else None,
            detail=detail,
        )
    if slug == "operation-not-pending":
        status_text = problem.get("operation_status")
        return OperationUnavailable(
            str(problem.get("operation", "")),
            status_text if isinstance(status_text, str) else None,
        )
    if slug == "not-found":
        return OperationUnavailable("", None)
    if slug in ("reset-refused", "rate-limited"):
        fr, en = problem.get("message_fr"), problem.get("message_en")
        reason = problem.get("reason")
        return RequestRefused(
            reason if isinstance(reason, str) else slug.replace("-", "_"),
            fr if isinstance(fr, str) else "Demande refusée par votre banque.",
            en if isinstance(en, str) else "Request refused by your bank.",
            held_until=_int_or_none(problem.get("held_until")),
            detail=detail,
        )
    return ServerFailure(detail, status=status)


def _int_or_none(value: object) -> int | None:
    return value if type(value) is int else None


def _parse_events(response: httpx.Response) -> Iterator[ServerEvent]:
    """Parse ``text/event-stream`` (WHATWG HTML §9.2) into events; network errors are typed."""
    name, data = "", list[str]()
    lines = response.iter_lines()
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return
        except httpx.TimeoutException as error:
            raise NetworkError("the event stream went silent") from error
        except (httpx.TransportError, httpx.StreamError) as error:
            raise NetworkError(f"the event stream broke: {type(error).__name__}") from error
        if line == "":
            if data:
                yield ServerEvent(name=name or "message", data="\n".join(data))
            name, data = "", list[str]()
            continue
        if line.startswith(":"):
            continue
        field_name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field_name == "event":
            name = value
        elif field_name == "data":
            data.append(value)
