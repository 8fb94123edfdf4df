# SPDX-License-Identifier: Apache-2.0
"""The command line's own behaviour without a server: usage, exit codes, plain sentences."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from sceau_core.activation import ActivationCode
from sceau_device.cli import main
from tests.device.conftest import file_keyring


def _run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def use_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[KeyringBackend], None]]:
    """Make a backend this process's keyring, as if the user chose it, for one test."""
    previous = keyring.get_keyring()

    def use(backend: KeyringBackend) -> None:
        kind = type(backend)
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", f"{kind.__module__}.{kind.__name__}")
        keyring.set_keyring(backend)

    yield use
    keyring.set_keyring(previous)


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for command in ("activate", "approve", "reject", "not-me", "listen", "change-code", "remove"):
        assert command in out
    assert "4  authentification bloquée" in out


def test_a_wrong_command_is_a_usage_error_in_french(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["valider"])
    assert caught.value.code == 2
    assert "commande incorrecte" in capsys.readouterr().err


def test_no_profile_yet(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    keystore = str(tmp_path / "keystore.json")
    code, out, _ = _run(capsys, monkeypatch, "profiles", "--keystore", keystore)
    assert code == 0
    assert "Aucun profil" in out
    code, out, err = _run(capsys, monkeypatch, "status", "--keystore", keystore, "--json")
    assert code == 6
    assert json.loads(out)["error"] == "profile_not_found"
    assert "sceau-device activate" in err
    assert "Traceback" not in err


def test_a_typo_in_the_activation_code_fails_before_the_network(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = ActivationCode.generate(lambda n: bytes(range(n))).text
    typo = ("7" if text[0] != "7" else "8") + text[1:]
    code, out, err = _run(
        capsys,
        monkeypatch,
        "--json",
        "activate",
        typo,
        "--server",
        "https://sceau.invalid",
        "--sms-code",
        "123456",
        "--code-stdin",
        "--keystore",
        str(tmp_path / "keystore.json"),
        stdin="4826\n",
    )
    assert code == 2
    assert json.loads(out)["error"] == "invalid_input"
    assert "faute de frappe" in err
    assert not (tmp_path / "keystore.json").exists()


def test_a_trivial_code_is_refused_with_its_reason_before_the_network(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, _, err = _run(
        capsys,
        monkeypatch,
        "activate",
        "sceau://activate?v=1",
        "--code-stdin",
        "--keystore",
        str(tmp_path / "keystore.json"),
        stdin="1234\n",
    )
    assert code == 2
    assert "Code refusé : Ce code est une suite de chiffres." in err


def test_plain_http_off_loopback_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = ActivationCode.generate(lambda n: bytes(range(n))).text
    code, _, err = _run(
        capsys,
        monkeypatch,
        "--lang",
        "en",
        "activate",
        text,
        "--server",
        "http://sceau.ma-banque.fr",
        "--sms-code",
        "123456",
        "--code-stdin",
        "--keystore",
        str(tmp_path / "keystore.json"),
        stdin="4826\n",
    )
    assert code == 2
    assert "is not protected by HTTPS" in err


def test_masked_input_needs_a_terminal(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    use_keyring: Callable[[KeyringBackend], None],
) -> None:
    use_keyring(file_keyring(tmp_path))
    text = ActivationCode.generate(lambda n: bytes(range(n))).text
    code, _, err = _run(
        capsys,
        monkeypatch,
        "activate",
        text,
        "--server",
        "https://sceau.invalid",
        "--keystore",
        str(tmp_path / "keystore.json"),
        "--sms-code",
        "123456",
    )
    # The lookup fails first here (no such server), which is a network error (3), or, offline
    # resolvers aside, the masked prompt cannot run without a terminal (2).
    assert code in (2, 3)
    assert "Traceback" not in err


def test_no_keyring_is_said_before_any_question_or_network_call(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    use_keyring: Callable[[KeyringBackend], None],
) -> None:
    use_keyring(fail.Keyring())
    text = ActivationCode.generate(lambda n: bytes(range(n))).text
    code, out, err = _run(
        capsys,
        monkeypatch,
        "--json",
        "activate",
        text,
        "--server",
        "https://sceau.invalid",  # never looked up: the keyring is checked first
        "--keystore",
        str(tmp_path / "keystore.json"),
    )
    assert code == 6, err
    assert json.loads(out)["error"] == "no_keyring"
    assert "Aucun trousseau de clés sécurisé" in err
    assert "Nom de cet appareil" not in err
    assert not (tmp_path / "keystore.json").exists()


class _InterruptedInput(io.StringIO):
    """Standard input on which the customer presses Ctrl+C."""

    def readline(self, _size: int | None = -1) -> str:
        raise KeyboardInterrupt


def _one_json_failure(out: str, err: str, code: int) -> dict[str, object]:
    """The single JSON document on stdout, checked against the sentence and the exit code."""
    failure: dict[str, object] = json.loads(out)  # two documents would be "extra data"
    assert failure["ok"] is False
    assert failure["exit_code"] == code != 0
    message = failure["message"]
    assert isinstance(message, str)
    assert message.strip()
    assert message.strip() in err
    assert "Traceback" not in err
    return failure


@pytest.mark.parametrize(
    "words",
    [
        ["--json", "valider"],
        ["approve", "--json"],
        ["--json", "listen", "--count", "zéro"],
    ],
)
def test_with_json_a_usage_error_is_one_json_document_on_stdout(
    capsys: pytest.CaptureFixture[str], words: list[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(words)
    assert caught.value.code == 2
    captured = capsys.readouterr()
    failure = _one_json_failure(captured.out, captured.err, 2)
    assert failure["error"] == "usage"
    assert "commande incorrecte" in captured.err


def test_without_json_a_usage_error_leaves_stdout_empty(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["valider"])
    assert capsys.readouterr().out == ""


def test_with_json_an_interruption_is_one_json_document_on_stdout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("sys.stdin", _InterruptedInput())
    text = ActivationCode.generate(lambda n: bytes(range(n))).text
    keystore = tmp_path / "keystore.json"
    code = main(
        [
            "--json",
            "--lang",
            "en",
            "activate",
            text,
            "--server",
            "https://sceau.invalid",
            "--sms-code",
            "123456",
            "--code-stdin",
            "--keystore",
            str(keystore),
        ]
    )
    captured = capsys.readouterr()
    assert code == 130
    failure = _one_json_failure(captured.out, captured.err, 130)
    assert failure == {
        "ok": False,
        "error": "interrupted",
        "message": "Interrupted.",
        "exit_code": 130,
    }
    assert not keystore.exists()


def test_with_json_a_command_error_is_one_json_document_on_stdout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, out, err = _run(
        capsys, monkeypatch, "--json", "status", "--keystore", str(tmp_path / "keystore.json")
    )
    assert code == 6
    assert _one_json_failure(out, err, 6)["error"] == "profile_not_found"


def test_with_an_abbreviated_json_option_a_usage_error_is_still_one_json_document(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--js", "status", "--bogus"])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert _one_json_failure(captured.out, captured.err, 2)["error"] == "usage"


def test_a_usage_error_is_said_in_english_when_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--json", "--lang", "en", "status", "--bogus"])
    captured = capsys.readouterr()
    failure = _one_json_failure(captured.out, captured.err, 2)
    assert "wrong command line" in str(failure["message"])
    assert "commande incorrecte" not in str(failure["message"])
    assert "wrong command line" in captured.err
    assert "commande incorrecte" not in captured.err


def test_a_usage_error_is_said_in_french_by_default_and_in_english_from_sceau_lang(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCEAU_LANG", raising=False)
    with pytest.raises(SystemExit):
        main(["status", "--bogus"])
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "commande incorrecte (unrecognized arguments: --bogus)" in captured.err
    monkeypatch.setenv("SCEAU_LANG", "en")
    with pytest.raises(SystemExit):
        main(["status", "--json", "--bogus"])
    captured = capsys.readouterr()
    assert "wrong command line" in _one_json_failure(captured.out, captured.err, 2)["message"]
