# SPDX-License-Identifier: Apache-2.0
"""Pilot tests of the Sceau Pro desktop application (brief B3), on the simulated bank.

Keys cost about 40 ms each under the pilot: where the keystrokes are not what is tested, the
tests set ``Input.value`` directly and press Enter once.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Static

from sceau_core.approval import Decision
from sceau_core.money import Amount
from sceau_core.operations import Operation, OperationType, RequestContext, TransferData
from sceau_device.desktop.app import (
    PAGE_SIZE,
    BatchScreen,
    ConfirmScreen,
    HistoryScreen,
    OperationScreen,
    PendingScreen,
    SceauDesktop,
)
from sceau_device.desktop.simulation import DEMO_CODE, SimulatedDesk
from tests.desktop.doubles import NOW, Clock, RecordingDesk, make_desk

Scenario = Callable[[SceauDesktop, Pilot[None]], Awaitable[None]]


def run_app(
    desk: SimulatedDesk,
    scenario: Scenario,
    *,
    decider: RecordingDesk | None = None,
    locale: str = "fr",
) -> None:
    """Run the application on ``desk`` under the pilot and play ``scenario``."""

    async def main() -> None:
        app = SceauDesktop(desk, decider or desk, locale=locale)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())


async def settle(app: SceauDesktop, pilot: Pilot[None]) -> None:
    """Let worker threads finish and their results reach the screen."""
    await app.workers.wait_for_complete()
    await pilot.pause()


def shown(widget: Static) -> str:
    """The text a static widget shows."""
    return str(widget.visual)


def cells(table: DataTable[object], row: int) -> list[str]:
    return [str(cell) for cell in table.get_row_at(row)]


async def open_operation(
    app: SceauDesktop, pilot: Pilot[None], operation_id: str
) -> OperationScreen:
    table = app.screen.query_one("#pending", DataTable)
    table.move_cursor(row=table.get_row_index(operation_id))
    await pilot.press("enter")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, OperationScreen)
    assert screen.operation.id == operation_id
    return screen


async def approve_with(app: SceauDesktop, pilot: Pilot[None], code: str) -> str:
    """Type ``code`` (set directly), press Enter once, return the outcome line."""
    app.screen.query_one("#code", Input).value = code
    app.screen.query_one("#code", Input).focus()
    await pilot.press("enter")
    await settle(app, pilot)
    return shown(app.screen.query_one("#outcome", Static))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(clock: Clock) -> SimulatedDesk:
    return make_desk(clock)


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_pending_operations_live(desk: SimulatedDesk, clock: Clock) -> None:
    async def scenario(app: SceauDesktop, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, PendingScreen)
        table = app.screen.query_one("#pending", DataTable)
        assert table.row_count == 3
        assert cells(table, 0) == [
            "Ajout d’un bénéficiaire",
            "Bénéficiaire\u00a0: Transports Nguyen",
            "5 min 00 s",
        ]
        assert [cells(table, row)[0] for row in (1, 2)] == ["Virement", "Virements groupés"]
        assert not app.screen.query_one("#empty", Static).display
        reminder = shown(app.screen.query_one("#reminder", Static))
        assert reminder == (
            "Votre banque ne vous demandera jamais de valider une opération par téléphone."
        )
        assert app.sub_title == "Ordinateur de démonstration (simulation)"
        # A new operation arrives while the list is open; another one is withdrawn.
        new = Operation.create(
            id="op_new",
            type=OperationType.TRANSFER,
            data=TransferData(
                amount=Amount.parse("80.00", "EUR"),
                payee_name="Atelier Lefèvre",
                payee_iban="FR7630002056781234567890168",
            ),
            context=RequestContext(),
            locale="fr",
            now=NOW,
            ttl=120,
            rng=lambda size: b"\x01" * size,
        )
        desk.add(new)
        await pilot.pause()
        assert table.row_count == 4
        assert cells(table, 0)[:2] == ["Virement", "Montant\u00a0: 80,00\u00a0€"]
        desk.remove("op_demo_3")
        await pilot.pause()
        assert table.row_count == 3
        # Time passes: the time left ticks, an expired operation leaves the list.
        clock.now += 125
        app.tick()
        await pilot.pause()
        assert table.row_count == 2
        assert cells(table, 0)[2] == "7 min 55 s"

    run_app(desk, scenario)


def test_an_empty_list_says_so(clock: Clock) -> None:
    async def scenario(app: SceauDesktop, _pilot: Pilot[None]) -> None:
        empty = app.screen.query_one("#empty", Static)
        assert empty.display
        assert shown(empty) == "Aucune opération en attente."
        assert not app.screen.query_one("#pending", DataTable).display

    run_app(SimulatedDesk(clock=clock), scenario)


# --- the detail ---------------------------------------------------------------------------------


def test_opening_an_operation_shows_every_signed_line(desk: SimulatedDesk) -> None:
    async def scenario(app: SceauDesktop, pilot: Pilot[None]) -> None:
        screen = await open_operation(app, pilot, "op_demo_2")
        title = shown(screen.query_one("#op-title", Static))
        lines = [shown(widget) for widget in screen.query(".signed-line").results(Static)]
        assert (title, *lines) == screen.operation.display
        assert lines[:3] == [
            "Montant\u00a0: 12\u202f500,00\u00a0€",
            "Bénéficiaire\u00a0: Société Bretonne de Nettoyage",
            "IBAN\u00a0: FR76 •••• •••• 0168",
        ]
        assert "Cette opération nécessite 2 signatures" in lines
        assert shown(screen.query_one("#time-left", Static)) == (
            "Temps restant\u00a0: 10 min 00 s · Opération op_demo_2"
        )
        code = screen.query_one("#code", Input)
        assert code.password
        assert app.focused is code
        labels = [str(button.label) for button in screen.query(Button).results(Button)]
        assert labels[-4:] == ["Valider", "Refuser", "Ce n’est pas moi", "Retour"]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PendingScreen)

    run_app(desk, scenario)


def test_signed_lines_are_never_read_as_markup(clock: Clock) -> None:
    desk = SimulatedDesk(clock=clock)
    operation = Operation.create(
        id="op_markup",
        type=OperationType.TRANSFER,
        data=TransferData(
            amount=Amount.parse("10.00", "EUR"),
            payee_name="[b]ACME[/b] [link=https://evil.example]SARL[/link]",
            payee_iban="FR7630002056781234567890168",
        ),
        context=RequestContext(),
        locale="fr",
        now=NOW,
        ttl=300,
        rng=lambda size: b"\x02" * size,
    )
    desk.add(operation)

    async def scenario(app: SceauDesktop, pilot: Pilot[None]) -> None:
        table = app.screen.query_one("#pending", DataTable)
        assert cells(table, 0)[1] == "Montant\u00a0: 10,00\u00a0€"
        screen = await open_operation(app, pilot, "op_markup")
        lines = [shown(widget) for widget in screen.query(".signed-line").results(Static)]
        assert "Bénéficiaire\u00a0: [b]ACME[/b] [link=https://evil.example]SARL[/link]" in lines

    run_app(desk, scenario)


# --- the batch ----------------------------------------------------------------------------------


def test_paging_through_a_120_line_batch(desk: SimulatedDesk) -> None:
    lines = desk.lines["op_demo_1"]

    async def scenario(app: SceauDesktop, pilot: Pilot[None]) -> None:
        await open_operation(app, pilot, "op_demo_1")
        await pilot.press("l")  # the code field has the focus: L still reaches the screen
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, BatchScreen)
        table = screen.query_one("#batch-lines", DataTable)
        page = screen.query_one("#page", Static)
        assert shown(screen.query_one("#batch-status", Static)).startswith("Lignes vérifiées")
        assert shown(screen.query_one("#batch-summary", Static)) == (
            "Virements groupés · Nombre\u00a0: 120 virements · Total\u00a0: 230\u202f919,40\u00a0€"
            " · Compte débité\u00a0: FR76 •••• •••• 2178"
            " · Date d’exécution\u00a0: vendredi 13 mars 2026"
        )
        assert shown(page) == "Page 1 sur 3 · lignes 1 à 50 sur 120"
        assert table.row_count == PAGE_SIZE
        first = lines[0]
        assert cells(table, 0) == [
            "1",
            first.payee_name,
            f"{first.payee_iban[:4]} •••• •••• {first.payee_iban[-4:]}",
            first.amount.format("fr_FR"),
            "Facture F2026-00001",
        ]
        await pilot.press("n")
        assert shown(page) == "Page 2 sur 3 · lignes 51 à 100 sur 120"
        assert cells(table, 0)[0] == "51"
        await pilot.press("pagedown")
        assert shown(page) == "Page 3 sur 3 · lignes 101 à 120 sur 120"
        assert table.row_count == 20
        assert cells(table, 19)[0] == "120"
        assert cells(table, 19)[4] == lines[119].reference
        await pilot.press("n")  # no page after the last
        assert shown(page) == "Page 3 sur 3 · lignes 101 à 120 sur 120"
        await pilot.press("p")
        assert cells(table, 0)[0] == "51"
        await pilot.press("home")
        assert cells(table, 0)[0] == "1"
        await pilot.press("end")
        assert cells(table, 0)[0] == "101"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, OperationScreen)

    run_app(desk, scenario)


def test_batch_lines_that_do_not_match_the_signed_digest_are_not_shown(
    desk: SimulatedDesk,
) -> None:
    lines = list(desk.lines["op_demo_1"])
    lines[41] = dataclasses.replace(lines[41], payee_iban="FR7630004012340098765432178")
    desk.lines["op_demo_1"] = tuple(lines)

    async def scenario(app: SceauDesktop, pilot: Pilot[None]) -> None:
        await open_operation(app, pilot, "op_demo_1")
        screen = app.screen
        screen.query_one("#show-lines", Button).press()
        await settle(app, pilot)
        assert isinstance(app.screen, BatchScreen)
        status = app.screen.query_one("#batch-status", Static)
        assert shown(status).startswith("Une opération reçue n’est pas signée par votre banque")
        assert app.screen.query_one("#batch-lines", DataTable).row_count == 0

    run_app(desk, scenario)


# --- decisions ----------------------------------------------------------------------------------


def test_approve_with_the_code_calls_the_decider_and_shows_success(desk: SimulatedDesk) -> None:
    decider = RecordingDesk(desk)

    async def scenario(app: SceauDesktop, pilot: Pilot[None]) -> None:
        screen = await open_operation(app, pilot, "op_demo_2")
        code = screen.query_one("#code", Input)
        # The code is typed for real once: digits only, masked.
        await pilot.press("4", "x", "8", "2", "6")
        assert code.value == DEMO_CODE
        await pilot.press("enter")
        await settle(app, pilot)
        assert decider.calls == [("approve", "op_demo_2", DEMO_CODE)]
        assert shown(screen.query_one("#outcome", Static)) == "Opération validée."
        assert code.value == ""
        assert screen.query_one("#approve", Button).disabled
        assert screen.query_one("#reject", Button).disabled
        assert "op_demo_2" not in app.pending
        assert [(entry.operation_id, entry.status) for entry in app.history] == [
            ("op_demo_2", "approved")
        ]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.query_one("#pending", DataTable).row_count == 2

    run_app(desk, scenario, decider=decider)


def test_an_approval_that_waits_for_other_signatories_says_so(desk: SimulatedDesk) -> None:
    desk.awaiting_signatures.add("op_demo_2")

    async def scenario(app: SceauDesktop, pilot: Pilot[None]) -> None:
        await open_operation(app, pilot, "op_demo_2")
        assert (await approve_with(app, pilot, DEMO_CODE)).startswith(
            "Votre signature est enregistrée. D’autres signatures sont attendues"
        )
        assert app.history[0].status == "pending"

    run_app(desk, scenario)


def test_a_wrong_code_shows_the_attempts_left_then_the_lock(desk: SimulatedDesk) -> None:
    decider = RecordingDesk(desk)

    async def scenario(app: SceauDesktop, pilot: Pilot[None]) -> None:
        screen = await open_operation(app, pilot, "op_demo_2")
        outcome = await approve_with(app, pilot, "1111")
        assert outcome == "Authentification refusée. Il vous reste 4 essais."
        assert screen.query_one("#code", Input).value == ""
        assert not screen.query_one("#approve", Button).disabled
        assert app.focused is screen.query_one("#code", Input)
        for left in ("3 essais", "2 essais", "1 essai"):
            assert (await approve_with(app, pilot, "1111")).endswith(f"Il vous reste {left}.")
        locked = await approve_with(app, pilot, "1111")
        assert locked.startswith("Authentification bloquée après trop d’essais, jusqu’au ")
        assert screen.query_one("#approve", Button).disabled
        assert screen.query_one("#code", Input).disabled
        # Refusing needs no code and stays possible.
        assert not screen.query_one("#reject", Button).disabled
        assert len(decider.calls) == 5
        assert app.history == []

    run_app(desk, scenario, decider=decider)


def test_a_code_that_is_not_four_digits_is_not_sent(desk: SimulatedDesk) -> None:
    decider = RecordingDesk(desk)

    async def scenario(app: SceauDesktop, pilot: Pilot[None]) -> None:
        await open_operation(app, pilot, "op_demo_2")
        assert await approve_with(app, pilot, "12") == "Le code Sceau est fait de 4 chiffres."
        assert decider.calls == []

    run_app(desk, scenario, decider=decider)


@pytest.mark.parametrize(
    ("key", "decision", "message"),
    [
        ("r", Decision.REJECT, "Opération refusée."),
        (
            "c",
            Decision.NOT_ME,
            "Opération refusée et signalée à votre banque comme une fraude possible.",
        ),
    ],
)
def test_refuse_and_not_me_after_a_confirmation(
    desk: SimulatedDesk, key: str, decision: Decision, message: str
) -> None:
    decider = RecordingDesk(desk)

    async def scenario(app: SceauDesktop, pilot: Pilot[None]) -> None:
        screen = await open_operation(app, pilot, "op_demo_3")
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        # "No" has the focus: a stray Enter refuses nothing.
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen_stack[-1] is screen
        assert decider.calls == []
        await pilot.press(key)
        await pilot.pause()
        app.screen.query_one("#yes", Button).press()
        await settle(app, pilot)
        assert app.screen_stack[-1] is screen
        assert decider.calls == [(decision.value, "op_demo_3", None)]
        assert shown(screen.query_one("#outcome", Static)).startswith(message)
        assert desk.decided == {"op_demo_3": decision}
        assert app.history[0].decision is decision

    run_app(desk, scenario, decider=decider)


def test_history_lists_decided_operations(desk: SimulatedDesk) -> None:
    async def scenario(app: SceauDesktop, pilot: Pilot[None]) -> None:
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        assert shown(app.screen.query_one("#no-history", Static)) == (
            "Aucune opération traitée pour l’instant."
        )
        await pilot.press("escape")
        await pilot.pause()
        await open_operation(app, pilot, "op_demo_2")
        await approve_with(app, pilot, DEMO_CODE)
        await pilot.press("escape")
        await pilot.pause()
        await open_operation(app, pilot, "op_demo_3")
        await pilot.press("c")
        await pilot.pause()
        app.screen.query_one("#yes", Button).press()
        await settle(app, pilot)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("h")
        await pilot.pause()
        table = app.screen.query_one("#history-table", DataTable)
        assert table.row_count == 2
        assert [cells(table, row)[1:] for row in (0, 1)] == [
            [
                "Ajout d’un bénéficiaire",
                "Bénéficiaire\u00a0: Transports Nguyen",
                "Signalée comme frauduleuse",
            ],
            ["Virement", "Montant\u00a0: 12\u202f500,00\u00a0€", "Validée"],
        ]

    run_app(desk, scenario)


def test_an_operation_decided_elsewhere_can_no_longer_be_decided(desk: SimulatedDesk) -> None:
    decider = RecordingDesk(desk)

    async def scenario(app: SceauDesktop, pilot: Pilot[None]) -> None:
        screen = await open_operation(app, pilot, "op_demo_2")
        desk.remove("op_demo_2")
        await pilot.pause()
        assert shown(screen.query_one("#outcome", Static)).startswith(
            "Cette opération n’est plus en attente"
        )
        assert screen.query_one("#approve", Button).disabled
        await pilot.press("r")
        await pilot.pause()
        assert app.screen is screen
        assert decider.calls == []

    run_app(desk, scenario, decider=decider)


def test_an_expired_operation_can_no_longer_be_approved(desk: SimulatedDesk, clock: Clock) -> None:
    async def scenario(app: SceauDesktop, pilot: Pilot[None]) -> None:
        screen = await open_operation(app, pilot, "op_demo_3")
        clock.now += 300
        app.tick()
        await pilot.pause()
        assert shown(screen.query_one("#outcome", Static)) == "Opération expirée"
        assert screen.query_one("#approve", Button).disabled

    run_app(desk, scenario)


def test_english(desk: SimulatedDesk) -> None:
    async def scenario(app: SceauDesktop, pilot: Pilot[None]) -> None:
        assert shown(app.screen.query_one("#heading", Static)) == (
            "Operations waiting for your approval"
        )
        screen = await open_operation(app, pilot, "op_demo_3")
        labels = [str(button.label) for button in screen.query(Button).results(Button)]
        assert labels == ["Approve", "Decline", "This wasn’t me", "Back"]
        assert await approve_with(app, pilot, "0000") == "Authentication failed. 4 attempts left."
        assert shown(screen.query_one("#reminder", Static)) == (
            "Your bank will never ask you to approve an operation over the phone."
        )

    run_app(desk, scenario, locale="en")
