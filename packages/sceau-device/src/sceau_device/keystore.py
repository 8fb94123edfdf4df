# SPDX-License-Identifier: Apache-2.0
"""The device keystore: one JSON file, readable only by its owner, holding one profile per bank.

File format (``mode 0600``, written atomically)::

    {"format": "sceau-device-keystore", "v": 1,
     "id": "<16 random bytes, b64url>",          # names the wrapping key in the keyring
     "wrapping": "keyring" | "insecure-file",
     "default": "<profile name>" | null,
     "profiles": {
       "<name>": {"state": "activating" | "active",
                  "server_url": …, "activation_id": …,
                  "server_public_key": …, "oprf_public_key": …,    # pinned (brief P4, K6)
                  "device_public_key": …, "device_name": …,
                  "inherence": null | "<platform authenticator name>",
                  "created_at": 1767225600, "counter": 42,        # the last counter used (P3)
                  "sealed": "<b64url(nonce || AES-256-GCM ciphertext)>"}}}

``sealed`` holds, as RFC 8785 JSON, the device private key (the 32-byte P-256 scalar) and the
32-byte device secret ``s``. It is encrypted with a 32-byte wrapping key kept in the operating
system's keyring (``keyring``: Secret Service, KWallet, macOS Keychain, Windows Credential
Manager), with associated data binding it to this keystore, this profile and every pinned value,
so that a file edited to pin another server key no longer opens. With
``insecure_file_key=True`` the wrapping key is kept instead in ``<keystore>.key`` (mode 0600),
for tests and headless machines only; the command line says so loudly.

Never stored (brief K1): the customer's code, the OPRF output, the knowledge private key.

Every change happens under one lock (a thread lock plus an exclusive ``flock`` on
``<keystore>.lock``), re-reading the file first, so that several threads and several
``sceau-device`` processes share one strictly increasing counter (brief P3).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sceau_core.approval import MAX_COUNTER
from sceau_core.encoding import b64url_decode, b64url_encode, canonical_json
from sceau_core.errors import SceauError
from sceau_core.knowledge import DEVICE_SECRET_LENGTH
from sceau_device.errors import (
    KeystoreError,
    KeystoreUnreadable,
    NoKeyring,
    ProfileNotFound,
)

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = [
    "KEYRING_SERVICE",
    "InsecureFileWrappingKeys",
    "KeyringWrappingKeys",
    "Keystore",
    "Profile",
    "ProfileSecrets",
    "WrappingKeys",
    "default_keystore_path",
]

FORMAT: Final = "sceau-device-keystore"
KEYRING_SERVICE: Final = "sceau-device"
WRAPPING_KEY_LENGTH: Final = 32
_NONCE_LENGTH: Final = 12
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}")
_PROFILE_FIELDS: Final = frozenset(
    {
        "state",
        "server_url",
        "activation_id",
        "server_public_key",
        "oprf_public_key",
        "device_public_key",
        "device_name",
        "inherence",
        "created_at",
        "counter",
        "sealed",
    }
)

ProfileState = Literal["activating", "active"]


def default_keystore_path(env: Mapping[str, str] | None = None) -> Path:
    """``$SCEAU_DEVICE_KEYSTORE``, else ``$XDG_DATA_HOME/sceau/device-keystore.json``.

    Without ``XDG_DATA_HOME`` the data directory is ``~/.local/share``.
    """
    env = os.environ if env is None else env
    explicit = env.get("SCEAU_DEVICE_KEYSTORE")
    if explicit:
        return Path(explicit).expanduser()
    data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "sceau" / "device-keystore.json"


@dataclass(frozen=True)
class Profile:
    """One activation of this device with one bank's Sceau server: everything but secrets."""

    name: str
    state: ProfileState
    server_url: str
    activation_id: str
    server_public_key: str
    oprf_public_key: str
    device_public_key: str
    device_name: str
    created_at: int
    counter: int = 0
    inherence: str | None = None

    def __post_init__(self) -> None:
        if not _PROFILE_NAME.fullmatch(self.name):
            raise KeystoreError(
                f"Nom de profil invalide : « {self.name} » (lettres, chiffres, . _ : @ -).",
                f"Invalid profile name: “{self.name}” (letters, digits, . _ : @ -).",
            )
        if type(self.counter) is not int or not 0 <= self.counter <= MAX_COUNTER:
            raise KeystoreError(
                "Le compteur de ce profil est corrompu.",
                "This profile's counter is corrupt.",
                detail=f"counter {self.counter!r}",
            )

    def pinned(self) -> dict[str, Any]:
        """The values the sealed secrets are bound to: a change to any of them is detected."""
        return {
            "activation_id": self.activation_id,
            "device_public_key": self.device_public_key,
            "oprf_public_key": self.oprf_public_key,
            "profile": self.name,
            "server_public_key": self.server_public_key,
            "server_url": self.server_url,
        }

    def to_json(self, sealed: str) -> dict[str, Any]:
        """The profile's JSON object in the file (its name is the key)."""
        return {
            "state": self.state,
            "server_url": self.server_url,
            "activation_id": self.activation_id,
            "server_public_key": self.server_public_key,
            "oprf_public_key": self.oprf_public_key,
            "device_public_key": self.device_public_key,
            "device_name": self.device_name,
            "inherence": self.inherence,
            "created_at": self.created_at,
            "counter": self.counter,
            "sealed": sealed,
        }

    @classmethod
    def from_json(cls, name: str, value: object) -> tuple[Profile, str]:
        """Parse a profile object; return it with its sealed secrets."""
        if not isinstance(value, dict) or set(value) != _PROFILE_FIELDS:
            raise _corrupt(f"profile {name!r} has the wrong fields")
        texts = (
            "server_url",
            "activation_id",
            "server_public_key",
            "oprf_public_key",
            "device_public_key",
            "device_name",
            "sealed",
        )
        if not all(isinstance(value[k], str) for k in texts):
            raise _corrupt(f"profile {name!r} has a non-text field")
        if value["state"] not in ("activating", "active"):
            raise _corrupt(f"profile {name!r} has an unknown state")
        if value["inherence"] is not None and not isinstance(value["inherence"], str):
            raise _corrupt(f"profile {name!r} has a malformed inherence")
        if type(value["created_at"]) is not int or type(value["counter"]) is not int:
            raise _corrupt(f"profile {name!r} has a malformed number")
        profile = cls(
            name=name,
            state=value["state"],
            server_url=value["server_url"],
            activation_id=value["activation_id"],
            server_public_key=value["server_public_key"],
            oprf_public_key=value["oprf_public_key"],
            device_public_key=value["device_public_key"],
            device_name=value["device_name"],
            created_at=value["created_at"],
            counter=value["counter"],
            inherence=value["inherence"],
        )
        return profile, value["sealed"]


@dataclass(frozen=True)
class ProfileSecrets:
    """The secrets of one profile, in memory only while they are used; the repr hides them."""

    device_key: ec.EllipticCurvePrivateKey = field(repr=False)
    device_secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.device_key.curve, ec.SECP256R1):
            raise KeystoreError("Clé d’appareil invalide.", "Invalid device key.")
        if len(self.device_secret) != DEVICE_SECRET_LENGTH:
            raise KeystoreError("Secret d’appareil invalide.", "Invalid device secret.")

    def to_bytes(self) -> bytes:
        """The RFC 8785 JSON that is sealed."""
        scalar = self.device_key.private_numbers().private_value.to_bytes(32, "big")
        return canonical_json(
            {
                "device_key": b64url_encode(scalar),
                "device_secret": b64url_encode(self.device_secret),
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ProfileSecrets:
        """Parse what :meth:`to_bytes` wrote."""
        try:
            value = json.loads(data)
            scalar = b64url_decode(value["device_key"], length=32, field="device_key")
            secret = b64url_decode(
                value["device_secret"], length=DEVICE_SECRET_LENGTH, field="device_secret"
            )
            key = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
        except (ValueError, KeyError, TypeError, SceauError) as error:
            raise _corrupt("sealed secrets are malformed") from error
        return cls(device_key=key, device_secret=secret)


def _corrupt(detail: str) -> KeystoreError:
    return KeystoreError(
        "Le fichier de clés Sceau de cet ordinateur est illisible ou a été modifié.",
        "This computer's Sceau keystore file is unreadable or was modified.",
        detail=detail,
    )


class WrappingKeys(Protocol):
    """Where a keystore's 32-byte wrapping key lives."""

    kind: str

    def store(self, keystore_id: str, key: bytes) -> None:
        """Keep ``key`` for the keystore ``keystore_id``."""

    def load(self, keystore_id: str) -> bytes:
        """The key of ``keystore_id``; :class:`KeystoreUnreadable` when it is not here."""

    def delete(self, keystore_id: str) -> None:
        """Forget the key of ``keystore_id`` (nothing happens if it is not there)."""


class KeyringWrappingKeys:
    """The wrapping key in the OS keyring (``keyring``), service ``sceau-device``."""

    kind = "keyring"

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._explicit = backend

    def backend(self) -> KeyringBackend:
        """The keyring backend in use; :class:`NoKeyring` when none is really available."""
        try:
            import keyring
            from keyring.backends import chainer, fail, null
        except ImportError as error:  # pragma: no cover - keyring is a dependency
            raise NoKeyring("the keyring package is not installed") from error
        backend = self._explicit if self._explicit is not None else keyring.get_keyring()
        if isinstance(backend, fail.Keyring | null.Keyring):
            raise NoKeyring(f"keyring backend {type(backend).__name__} stores nothing")
        if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
            raise NoKeyring("the keyring chainer has no backend")
        if self._explicit is None and "PYTHON_KEYRING_BACKEND" not in os.environ:
            # keyring falls back, unasked, to backends such as keyrings.alt's plain-text file
            # (priority below 1): the wrapping key would then sit in clear beside the keystore.
            writer = backend.backends[0] if isinstance(backend, chainer.ChainerBackend) else backend
            if writer.priority < 1:
                raise NoKeyring(
                    f"keyring backend {type(writer).__name__} keeps keys in a plain file"
                )
        return backend

    def store(self, keystore_id: str, key: bytes) -> None:
        """Put the key in the keyring."""
        backend = self.backend()
        with _keyring_errors():
            backend.set_password(KEYRING_SERVICE, keystore_id, b64url_encode(key))

    def load(self, keystore_id: str) -> bytes:
        """Read the key from the keyring."""
        backend = self.backend()
        with _keyring_errors():
            text = backend.get_password(KEYRING_SERVICE, keystore_id)
        if text is None:
            raise KeystoreUnreadable(f"no wrapping key {keystore_id} in {type(backend).__name__}")
        try:
            return b64url_decode(text, length=WRAPPING_KEY_LENGTH, field="wrapping key")
        except SceauError as error:
            raise KeystoreUnreadable("the keyring entry is not a wrapping key") from error

    def delete(self, keystore_id: str) -> None:
        """Remove the key from the keyring."""
        from keyring.errors import PasswordDeleteError

        backend = self.backend()
        with contextlib.suppress(PasswordDeleteError), _keyring_errors():
            backend.delete_password(KEYRING_SERVICE, keystore_id)


@contextlib.contextmanager
def _keyring_errors() -> Iterator[None]:
    from keyring.errors import InitError, KeyringError, KeyringLocked, NoKeyringError

    try:
        yield
    except (NoKeyringError, InitError) as error:
        raise NoKeyring(f"{type(error).__name__}: {error}") from error
    except KeyringLocked as error:
        raise KeystoreError(
            "Le trousseau de clés du système est verrouillé : déverrouillez-le et réessayez.",
            "The system keyring is locked: unlock it and try again.",
            detail=str(error),
        ) from error
    except KeyringError as error:
        raise KeystoreError(
            "Le trousseau de clés du système a refusé l’accès à la clé de Sceau.",
            "The system keyring refused access to Sceau's key.",
            detail=f"{type(error).__name__}: {error}",
        ) from error


class InsecureFileWrappingKeys:
    """The wrapping key in a separate 0600 file: no protection beyond file permissions.

    For tests and headless machines only; whoever copies both files holds every secret.
    """

    kind = "insecure-file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def store(self, keystore_id: str, key: bytes) -> None:
        """Write the key file, refusing to overwrite one."""
        content = json.dumps({"id": keystore_id, "key": b64url_encode(key)}).encode()
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as error:
            raise KeystoreError(
                f"Le fichier {self.path} existe déjà.",
                f"The file {self.path} already exists.",
            ) from error
        with os.fdopen(descriptor, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())

    def load(self, keystore_id: str) -> bytes:
        """Read the key file."""
        try:
            value = json.loads(self.path.read_bytes())
            if value["id"] != keystore_id:
                raise KeystoreUnreadable(f"{self.path} belongs to another keystore")
            return b64url_decode(value["key"], length=WRAPPING_KEY_LENGTH, field="wrapping key")
        except FileNotFoundError as error:
            raise KeystoreUnreadable(f"no wrapping key file {self.path}") from error
        except (ValueError, KeyError, TypeError, SceauError) as error:
            raise KeystoreUnreadable(f"{self.path} is not a wrapping key file") from error

    def delete(self, keystore_id: str) -> None:
        """Delete the key file."""
        del keystore_id
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


_THREAD_LOCKS: dict[Path, threading.RLock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(path: Path) -> threading.RLock:
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(path, threading.RLock())


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            msvcrt.locking(descriptor, msvcrt.LK_LOCK, 1)
            try:
                yield
            finally:
                msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


class Keystore:
    """The keystore file at ``path``; see the module docstring.

    ``keyring_backend`` replaces the default OS keyring (tests pass a ``keyrings.alt`` file
    backend); ``insecure_file_key`` chooses the plain-file wrapping key when the keystore is
    created (an existing keystore keeps the kind it was created with).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        keyring_backend: KeyringBackend | None = None,
        insecure_file_key: bool = False,
        rng: Callable[[int], bytes] = os.urandom,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path).expanduser().absolute()
        self._keyring_backend = keyring_backend
        self._insecure_file_key = insecure_file_key
        self._rng = rng
        self._clock = clock
        self._wrapping_key: bytes | None = None
        self._thread_lock = _thread_lock(self.path)

    # --- reading -------------------------------------------------------------------------

    @property
    def key_file(self) -> Path:
        """Where an insecure-file keystore keeps its wrapping key."""
        return self.path.with_name(self.path.name + ".key")

    @property
    def exists(self) -> bool:
        """Whether the keystore file exists."""
        return self.path.exists()

    @property
    def wrapping_kind(self) -> str | None:
        """``"keyring"`` or ``"insecure-file"``; ``None`` before the file exists."""
        data = self._read()
        return None if data is None else str(data["wrapping"])

    def profiles(self) -> list[Profile]:
        """Every profile, sorted by name."""
        data = self._read()
        if data is None:
            return []
        return [
            Profile.from_json(name, value)[0] for name, value in sorted(data["profiles"].items())
        ]

    def default_name(self) -> str | None:
        """The profile used when none is named."""
        data = self._read()
        return None if data is None else data["default"]

    def get(self, name: str | None = None) -> Profile:
        """The profile ``name``; without a name, the default or the only one."""
        data = self._read()
        profiles = {} if data is None else data["profiles"]
        if name is None:
            default = None if data is None else data["default"]
            if default in profiles:
                name = default
            elif len(profiles) == 1:
                name = next(iter(profiles))
        if name is None or name not in profiles:
            raise self._not_found(name, sorted(profiles))
        return Profile.from_json(name, profiles[name])[0]

    def secrets(self, name: str) -> ProfileSecrets:
        """Unseal the secrets of profile ``name``.

        Raises :class:`KeystoreUnreadable` when the wrapping key is not available here or does
        not open them (a file copied to another machine, or edited).
        """
        data = self._read()
        if data is None or name not in data["profiles"]:
            raise self._not_found(name, [] if data is None else sorted(data["profiles"]))
        profile, sealed = Profile.from_json(name, data["profiles"][name])
        key = self._load_wrapping_key(data)
        try:
            raw = b64url_decode(sealed, field="sealed")
            plain = AESGCM(key).decrypt(
                raw[:_NONCE_LENGTH], raw[_NONCE_LENGTH:], self._aad(data, profile)
            )
        except (SceauError, InvalidTag, ValueError) as error:
            raise KeystoreUnreadable(f"profile {name!r}: the sealed secrets do not open") from error
        return ProfileSecrets.from_bytes(plain)

    def check_available(self) -> None:
        """Raise :class:`NoKeyring` or :class:`KeystoreUnreadable` now if the secrets could not
        be sealed or opened here, so an activation stops before the customer types anything."""
        data = self._read()
        if data is not None:
            self._load_wrapping_key(data)
        elif not self._insecure_file_key:
            KeyringWrappingKeys(self._keyring_backend).backend()

    # --- writing -------------------------------------------------------------------------

    def create_profile(self, profile: Profile, secrets: ProfileSecrets) -> Profile:
        """Add ``profile`` with its sealed ``secrets``; an unfinished one of that name is replaced.

        The first profile creates the keystore file and its wrapping key. The first active
        profile becomes the default.
        """
        with self._locked():
            data = self._read()
            if data is None:
                data = self._new_keystore()
            existing = data["profiles"].get(profile.name)
            if existing is not None and existing.get("state") != "activating":
                raise KeystoreError(
                    f"Un profil « {profile.name} » existe déjà. Choisissez un autre nom avec "
                    "--profile, ou retirez d’abord cet appareil avec « sceau-device remove ».",
                    f"A profile “{profile.name}” already exists. Choose another name with "
                    "--profile, or remove that device first with “sceau-device remove”.",
                )
            key = self._load_wrapping_key(data)
            data["profiles"][profile.name] = profile.to_json(
                self._seal(key, data, profile, secrets)
            )
            self._write(data)
        return profile

    def update(self, name: str, **changes: Any) -> Profile:
        """Change the unsealed fields ``state``, ``device_name`` or ``inherence`` of a profile.

        Making a profile active makes it the default when there is none yet.
        """
        allowed = {"state", "device_name", "inherence"}
        if not set(changes) <= allowed:
            raise ValueError(f"only {sorted(allowed)} can change")
        with self._locked():
            data = self._require(name)
            profile, sealed = Profile.from_json(name, data["profiles"][name])
            updated = replace(profile, **changes)
            data["profiles"][name] = updated.to_json(sealed)
            if updated.state == "active" and data["default"] not in data["profiles"]:
                data["default"] = name
            self._write(data)
        return updated

    def set_default(self, name: str) -> None:
        """Use profile ``name`` when a command names none."""
        with self._locked():
            data = self._require(name)
            data["default"] = name
            self._write(data)

    def remove_profile(self, name: str) -> None:
        """Delete profile ``name`` and its secrets; the last one takes the file and key along."""
        with self._locked():
            data = self._require(name)
            del data["profiles"][name]
            if data["default"] == name:
                data["default"] = next(iter(sorted(data["profiles"])), None)
            if data["profiles"]:
                self._write(data)
                return
            self._wrapping(data).delete(data["id"])
            self._wrapping_key = None
            self.path.unlink()

    @contextlib.contextmanager
    def reserve_counter(self, name: str) -> Iterator[int]:
        """Reserve the next counter of ``name`` and hold the lock while the caller uses it.

        The counter is written to disk *before* it is handed out, so a crash never makes the
        device reuse one, and the lock is held until the ``with`` block ends, so the signed
        messages of every thread and process leave in counter order (brief P3).
        """
        with self._locked():
            data = self._require(name)
            profile, sealed = Profile.from_json(name, data["profiles"][name])
            counter = profile.counter + 1
            if counter > MAX_COUNTER:
                raise KeystoreError(
                    "Le compteur de cet appareil est épuisé : activez-le à nouveau.",
                    "This device's counter is exhausted: activate it again.",
                )
            data["profiles"][name] = replace(profile, counter=counter).to_json(sealed)
            self._write(data)
            yield counter

    # --- internals -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            self._ensure_directory()
            with _file_lock(self.path.with_name(self.path.name + ".lock")):
                yield

    def _ensure_directory(self) -> None:
        directory = self.path.parent
        if not directory.exists():
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _not_found(self, name: str | None, names: list[str]) -> ProfileNotFound:
        if not names:
            return ProfileNotFound(
                "Aucun appareil n’est activé ici : lancez d’abord « sceau-device activate ».",
                "No device is activated here: run “sceau-device activate” first.",
                detail=f"no profile in {self.path}",
            )
        listed = ", ".join(names)
        if name is None:
            return ProfileNotFound(
                f"Plusieurs profils existent ({listed}) : choisissez-en un avec --profile.",
                f"Several profiles exist ({listed}): choose one with --profile.",
            )
        return ProfileNotFound(
            f"Aucun profil « {name} ». Profils existants : {listed}.",
            f"No profile “{name}”. Existing profiles: {listed}.",
        )

    def _require(self, name: str) -> dict[str, Any]:
        data = self._read()
        if data is None or name not in data["profiles"]:
            raise self._not_found(name, [] if data is None else sorted(data["profiles"]))
        return data

    def _read(self) -> dict[str, Any] | None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        if sys.platform != "win32" and stat.S_IMODE(info.st_mode) & 0o077:
            mode = f"{stat.S_IMODE(info.st_mode):04o}"
            raise KeystoreError(
                f"Le fichier {self.path} est lisible par d’autres utilisateurs (mode {mode}). "
                f"Corrigez avec : chmod 600 {self.path}",
                f"The file {self.path} can be read by other users (mode {mode}). "
                f"Fix it with: chmod 600 {self.path}",
            )
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError) as error:
            raise _corrupt(f"{self.path}: {error}") from error
        expected = {"format", "v", "id", "wrapping", "default", "profiles"}
        if (
            not isinstance(data, dict)
            or set(data) != expected
            or data["format"] != FORMAT
            or data["v"] != 1
            or not isinstance(data["id"], str)
            or data["wrapping"] not in ("keyring", "insecure-file")
            or not isinstance(data["profiles"], dict)
            or not (data["default"] is None or isinstance(data["default"], str))
        ):
            raise _corrupt(f"{self.path} is not a v1 Sceau keystore")
        return data

    def _write(self, data: dict[str, Any]) -> None:
        content = (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
        temporary = self.path.with_name(f".{self.path.name}.{b64url_encode(self._rng(6))}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise
        if sys.platform != "win32":
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def _wrapping(self, data: Mapping[str, Any]) -> WrappingKeys:
        if data["wrapping"] == "insecure-file":
            return InsecureFileWrappingKeys(self.key_file)
        return KeyringWrappingKeys(self._keyring_backend)

    def _new_keystore(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": FORMAT,
            "v": 1,
            "id": b64url_encode(self._rng(16)),
            "wrapping": "insecure-file" if self._insecure_file_key else "keyring",
            "default": None,
            "profiles": {},
        }
        key = self._rng(WRAPPING_KEY_LENGTH)
        self._wrapping(data).store(data["id"], key)
        self._wrapping_key = key
        return data

    def _load_wrapping_key(self, data: Mapping[str, Any]) -> bytes:
        if self._wrapping_key is None:
            self._wrapping_key = self._wrapping(data).load(data["id"])
        return self._wrapping_key

    @staticmethod
    def _aad(data: Mapping[str, Any], profile: Profile) -> bytes:
        return canonical_json({"keystore": data["id"], "v": 1, **profile.pinned()})

    def _seal(
        self, key: bytes, data: Mapping[str, Any], profile: Profile, secrets: ProfileSecrets
    ) -> str:
        nonce = self._rng(_NONCE_LENGTH)
        sealed = AESGCM(key).encrypt(nonce, secrets.to_bytes(), self._aad(data, profile))
        return b64url_encode(nonce + sealed)
