# SPDX-License-Identifier: Apache-2.0
"""Sceau Pro on a computer (brief B3): a Textual application for business users.

Screens, French first:

- the live list of operations waiting for this user (fed by the source's subscription, the time
  left ticking each second, an expired operation dropped);
- an operation's detail: every line the bank signed, exactly as received (never read as markup),
  the time left, the code (a masked input) and, for a sign-in, the number to type; Valider,
  Refuser, Ce n’est pas moi;
- a batch transfer's lines, 50 to a page: number, payee, masked IBAN, amount, reference, once
  the source has checked them against the signed count, total and digest (brief D4);
- the history of the operations decided here;
- the fixed anti-fraud reminder on every screen.

The application knows only :class:`~sceau_device.desktop.ports.OperationSource` and
:class:`~sceau_device.desktop.ports.Decider`; network calls run in worker threads, so the
screen never freezes. The code typed is handed to the decider and dropped at once (brief K1;
Python cannot wipe memory, the reference is not kept).
"""

from __future__ import annotations

import re
import time
from typing import Any, ClassVar, Final

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Header, Input, Label, Static

from sceau_core.approval import Decision
from sceau_core.display import BABEL_LOCALES, TEXT
from sceau_core.errors import SceauError
from sceau_core.money import mask_iban
from sceau_core.operations import BatchLine, BatchTransferData, Operation, OperationType
from sceau_device.authenticator import Decided
from sceau_device.desktop.ports import Decider, HistoryEntry, OperationSource, Unsubscribe
from sceau_device.desktop.words import lang_of, word
from sceau_device.errors import DeviceError, Locked, NetworkError, OperationUnavailable
from sceau_device.texts import format_duration, say

__all__ = [
    "PAGE_SIZE",
    "BatchScreen",
    "ConfirmScreen",
    "DigitsInput",
    "HistoryScreen",
    "OperationScreen",
    "PendingScreen",
    "SceauDesktop",
]

PAGE_SIZE: Final = 50
"""Batch lines shown on one page."""

_CODE = re.compile(r"[0-9]{4}")
_MATCH = re.compile(r"[0-9]{1,6}")

_KEYS: Final = {
    "fr": {
        "pending": "Entrée ouvrir · H historique · Q quitter",
        "operation": "Entrée valider avec le code · R refuser · C ce n’est pas moi · Échap retour",
        "operation_batch": (
            "L lignes · Entrée valider avec le code · R refuser · C ce n’est pas moi · Échap retour"
        ),
        "batch": "PgSuiv/N page suivante · PgPréc/P page précédente · Échap retour",
        "history": "Échap retour",
    },
    "en": {
        "pending": "Enter open · H history · Q quit",
        "operation": "Enter approve with the code · R decline · C not me · Esc back",
        "operation_batch": (
            "L lines · Enter approve with the code · R decline · C not me · Esc back"
        ),
        "batch": "PgDn/N next page · PgUp/P previous page · Esc back",
        "history": "Esc back",
    },
}


def _text(value: str, *, justify: str | None = None) -> Text:
    """A cell or line shown exactly as given: Rich never reads it as markup."""
    return Text(value, justify=justify)  # type: ignore[arg-type]


def _bottom(lang: str, keys: str) -> Vertical:
    """The key hints and the fixed anti-fraud reminder, at the bottom of every screen."""
    return Vertical(
        Static(keys, id="keys", markup=False),
        Static(TEXT[lang]["reminder"], id="reminder", markup=False),
        id="bottom",
    )


def _detail(operation: Operation) -> str:
    return operation.display[1] if len(operation.display) > 1 else ""


class DigitsInput(Input):
    """An input of digits that lets every other key reach the screen's bindings (R, C, L)."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Consume digits only (and what a plain input consumes that is not a character)."""
        if character is None:
            return super().check_consume_key(key, character)
        return character.isdigit()


class OperationArrived(Message):
    """A pending operation reached the application (from any thread)."""

    def __init__(self, operation: Operation) -> None:
        super().__init__()
        self.operation = operation


class OperationGone(Message):
    """An operation stopped being pending."""

    def __init__(self, operation_id: str) -> None:
        super().__init__()
        self.operation_id = operation_id


class SourceProblem(Message):
    """The source reported an error (a lost connection, a refused operation, a revocation)."""

    def __init__(self, error: DeviceError) -> None:
        super().__init__()
        self.error = error


class SceauDesktop(App[None]):
    """The application; ``source`` feeds it, ``decider`` carries out the customer's choices."""

    TITLE = "Sceau Pro"
    CSS = """
    Screen { layout: vertical; }
    #heading { padding: 1 2 0 2; text-style: bold; }
    .caption { padding: 1 0 0 0; text-style: bold; }
    #pending, #batch-lines, #history-table { margin: 1 2; height: 1fr; }
    #empty, #no-history { padding: 0 2; color: $text-muted; }
    #detail { padding: 0 2; height: 1fr; }
    #op-title { text-style: bold; padding: 1 0 0 0; }
    .signed-line { padding: 0 0 0 2; }
    #time-left { padding: 1 0 0 0; color: $text-muted; }
    #code-row, #match-row { height: auto; padding: 1 0 0 0; }
    #code-row Label, #match-row Label { padding: 1 1 0 0; }
    #code { width: 16; }
    #match { width: 16; }
    #actions { height: auto; padding: 1 0 0 0; }
    #actions Button { margin: 0 1 0 0; }
    #show-lines { margin: 1 0 0 0; }
    #outcome { padding: 1 0; }
    #outcome.error { color: $error; text-style: bold; }
    #outcome.success { color: $success; text-style: bold; }
    #batch-summary { padding: 1 2 0 2; }
    #batch-status { padding: 0 2; color: $text-muted; }
    #batch-status.error { color: $error; text-style: bold; }
    #page { padding: 0 2; }
    #bottom { dock: bottom; height: auto; }
    #reminder { padding: 0 2; background: $warning 20%; color: $text; }
    #keys { padding: 0 2; background: $panel; color: $text-muted; }
    ConfirmScreen { align: center middle; }
    #confirm {
        width: 64; height: auto; padding: 1 2; border: thick $warning; background: $surface;
    }
    #confirm-buttons { height: auto; padding: 1 0 0 0; }
    #confirm-buttons Button { margin: 0 1 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "history", show=False),
        Binding("q", "quit", show=False),
    ]

    def __init__(self, source: OperationSource, decider: Decider, *, locale: str = "fr") -> None:
        super().__init__()
        self.source = source
        self.decider = decider
        self.lang = lang_of(locale)
        self.pending: dict[str, Operation] = {}
        self.history: list[HistoryEntry] = []
        self._unsubscribe: Unsubscribe | None = None
        self.pending_screen = PendingScreen()

    def get_default_screen(self) -> Screen[None]:
        """The list of pending operations is the base screen."""
        return self.pending_screen

    def on_mount(self) -> None:
        """Subscribe to the source and start the one-second clock."""
        self.sub_title = self.source.device_name
        self._unsubscribe = self.source.subscribe(self._arrived, self._gone, self._problem)
        self.set_interval(1.0, self.tick)

    # The source's callbacks may come from any thread: post_message is thread-safe.

    def _arrived(self, operation: Operation) -> None:
        self.post_message(OperationArrived(operation))

    def _gone(self, operation_id: str) -> None:
        self.post_message(OperationGone(operation_id))

    def _problem(self, error: DeviceError) -> None:
        self.post_message(SourceProblem(error))

    def on_unmount(self) -> None:
        """Stop the subscription."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def now(self) -> int:
        """The source's clock."""
        return self.source.now()

    # --- the live list ------------------------------------------------------------------------

    def on_operation_arrived(self, message: OperationArrived) -> None:
        """Add a new pending operation, unless it was decided here already."""
        operation = message.operation
        if any(entry.operation_id == operation.id for entry in self.history):
            return
        known = operation.id in self.pending
        self.pending[operation.id] = operation
        self.pending_screen.sync()
        if not known and self.screen is not self.pending_screen:
            self.notify(word("new_operation", self.lang, title=operation.display[0]), markup=False)

    def on_operation_gone(self, message: OperationGone) -> None:
        """Drop an operation that is no longer pending; tell its open detail screen."""
        self.pending.pop(message.operation_id, None)
        self.pending_screen.sync()
        for screen in self.screen_stack:
            if isinstance(screen, OperationScreen) and screen.operation.id == message.operation_id:
                screen.mark_gone()

    def on_source_problem(self, message: SourceProblem) -> None:
        """Show the source's problem without stopping the application."""
        error = message.error
        text = (
            word("connection_lost", self.lang)
            if isinstance(error, NetworkError)
            else error.message(self.lang)
        )
        self.notify(text, severity="warning", markup=False)

    def tick(self) -> None:
        """Each second: drop expired operations, refresh the time left everywhere."""
        now = self.now()
        expired = [key for key, operation in self.pending.items() if operation.expires_at <= now]
        for key in expired:
            del self.pending[key]
        if expired:
            self.pending_screen.sync()
        else:
            self.pending_screen.refresh_times()
        for screen in self.screen_stack:
            if isinstance(screen, OperationScreen):
                screen.refresh_time()

    def record(self, entry: HistoryEntry) -> None:
        """Keep a decision in the history and take its operation off the list."""
        self.history.append(entry)
        self.pending.pop(entry.operation_id, None)
        self.pending_screen.sync()

    def time_left(self, operation: Operation) -> str:
        """The time left before ``operation`` expires, in words."""
        return format_duration(operation.expires_at - self.now(), self.lang)

    # --- actions ------------------------------------------------------------------------------

    def action_history(self) -> None:
        """Show the history of decided operations."""
        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen())

    def open_operation(self, operation_id: str) -> None:
        """Open the detail of a pending operation."""
        operation = self.pending.get(operation_id)
        if operation is not None:
            self.push_screen(OperationScreen(operation))


def _desk(screen: Screen[Any]) -> SceauDesktop:
    app = screen.app
    if not isinstance(app, SceauDesktop):
        raise TypeError("the Sceau screens run inside SceauDesktop")
    return app


class PendingScreen(Screen[None]):
    """The live list of operations waiting for this user."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "open", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.ready = False

    def compose(self) -> ComposeResult:
        """Heading, table, empty-state line, reminder, key hints."""
        lang = _desk(self).lang
        yield Header()
        yield Static(word("pending_heading", lang), id="heading", markup=False)
        yield DataTable(id="pending", cursor_type="row", zebra_stripes=True)
        yield Static(word("no_pending", lang), id="empty", markup=False)
        yield _bottom(lang, _KEYS[lang]["pending"])

    def on_mount(self) -> None:
        """Set up the columns and show what is pending."""
        lang = _desk(self).lang
        table = self.query_one("#pending", DataTable)
        table.add_column(word("column_operation", lang), key="operation")
        table.add_column(word("column_detail", lang), key="detail")
        table.add_column(word("column_time_left", lang), key="time")
        self.ready = True
        self.sync()

    def sync(self) -> None:
        """Rebuild the table from the application's pending operations, keeping the cursor."""
        if not self.ready:
            return
        app = _desk(self)
        try:
            table = self.query_one("#pending", DataTable)
        except NoMatches:  # called while the application was closing
            return
        selected = self.selected_id()
        table.clear()
        operations = sorted(app.pending.values(), key=lambda operation: operation.expires_at)
        for operation in operations:
            table.add_row(
                _text(operation.display[0]),
                _text(_detail(operation)),
                _text(app.time_left(operation)),
                key=operation.id,
            )
        ids = [operation.id for operation in operations]
        if selected in ids:
            table.move_cursor(row=ids.index(selected))
        self.query_one("#empty", Static).display = not operations
        table.display = bool(operations)

    def refresh_times(self) -> None:
        """Update the time-left column only."""
        if not self.ready:
            return
        app = _desk(self)
        try:
            table = self.query_one("#pending", DataTable)
        except NoMatches:  # the clock ticked while the application was closing
            return
        for operation in app.pending.values():
            if operation.id in table.rows:
                table.update_cell(operation.id, "time", _text(app.time_left(operation)))

    def selected_id(self) -> str | None:
        """The id of the operation under the cursor."""
        table = self.query_one("#pending", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return None if key.value is None else str(key.value)

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        """Open the operation chosen with Enter or a click."""
        if message.row_key.value is not None:
            _desk(self).open_operation(str(message.row_key.value))

    def action_open(self) -> None:
        """Open the operation under the cursor."""
        selected = self.selected_id()
        if selected is not None:
            _desk(self).open_operation(selected)


class OperationScreen(Screen[None]):
    """One operation: its signed lines, the code, and the three decisions."""

    # Priority: the fields would otherwise swallow the letters (they take digits only).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", show=False),
        Binding("r", "reject", show=False, priority=True),
        Binding("c", "not_me", show=False, priority=True),
        Binding("l", "lines", show=False, priority=True),
    ]

    def __init__(self, operation: Operation) -> None:
        super().__init__()
        self.operation = operation
        self.finished = False
        self.busy = False
        self.locked = False
        self.ready = False

    @property
    def is_batch(self) -> bool:
        """Whether the operation is a batch transfer, with lines to page through."""
        return isinstance(self.operation.data, BatchTransferData)

    @property
    def is_login(self) -> bool:
        """Whether the operation is a sign-in, which needs the number shown on the web page."""
        return self.operation.type is OperationType.LOGIN

    def compose(self) -> ComposeResult:
        """Every signed line as received, the code, the decisions, the outcome."""
        lang = _desk(self).lang
        operation = self.operation
        yield Header()
        with VerticalScroll(id="detail"):
            yield Static(word("signed_lines", lang), classes="caption", markup=False)
            yield Static(_text(operation.display[0]), id="op-title")
            for line in operation.display[1:]:
                yield Static(_text(line), classes="signed-line")
            yield Static("", id="time-left", markup=False)
            data = operation.data
            if isinstance(data, BatchTransferData):
                yield Button(word("show_lines", lang, n=data.count), id="show-lines")
            if self.is_login:
                with Horizontal(id="match-row"):
                    yield Label(word("match_label", lang), markup=False)
                    yield DigitsInput(id="match", restrict=r"[0-9]*", max_length=6)
            with Horizontal(id="code-row"):
                yield Label(word("code_label", lang), markup=False)
                yield DigitsInput(
                    id="code", password=True, restrict=r"[0-9]*", max_length=4, placeholder="••••"
                )
            with Horizontal(id="actions"):
                yield Button(TEXT[lang]["approve"], id="approve", variant="success")
                yield Button(TEXT[lang]["decline"], id="reject", variant="error")
                yield Button(TEXT[lang]["not_me"], id="not-me", variant="warning")
                yield Button(word("back", lang), id="back")
            yield Static("", id="outcome", markup=False)
        keys = _KEYS[lang]["operation_batch" if self.is_batch else "operation"]
        yield _bottom(lang, keys)

    def on_mount(self) -> None:
        """Show the time left and put the cursor in the code field."""
        self.ready = True
        self.refresh_time()
        first = "#match" if self.is_login else "#code"
        self.query_one(first, Input).focus()
        if self.operation.id not in _desk(self).pending:
            self.mark_gone()

    # --- state ----------------------------------------------------------------------------------

    def show_outcome(self, text: str, *, kind: str = "") -> None:
        """Show ``text`` in the outcome line; ``kind`` is ``error`` or ``success``."""
        outcome = self.query_one("#outcome", Static)
        outcome.update(_text(text))
        outcome.set_classes(kind)

    def _enable(self) -> None:
        open_ = not (self.finished or self.busy)
        for selector in ("#reject", "#not-me"):
            self.query_one(selector, Button).disabled = not open_
        self.query_one("#approve", Button).disabled = not open_ or self.locked
        self.query_one("#code", Input).disabled = not open_ or self.locked
        if self.is_login:
            self.query_one("#match", Input).disabled = not open_ or self.locked

    def refresh_time(self) -> None:
        """Update the time left; an expired operation can no longer be decided."""
        if not self.ready or self.finished:
            return
        app = _desk(self)
        try:
            time_left = self.query_one("#time-left", Static)
        except NoMatches:  # the clock ticked while the application was closing
            return
        time_left.update(
            _text(
                f"{say('time_left', app.lang, duration=app.time_left(self.operation))}"
                f" · {say('operation_id', app.lang, id=self.operation.id)}"
            )
        )
        if self.operation.expires_at <= app.now():
            self.finished = True
            self.show_outcome(word("expired", app.lang), kind="error")
            self._enable()

    def mark_gone(self) -> None:
        """The operation stopped being pending elsewhere: nothing can be decided here."""
        if self.finished or not self.ready:
            return
        self.finished = True
        self.show_outcome(word("gone", _desk(self).lang), kind="error")
        self._enable()

    # --- decisions ------------------------------------------------------------------------------

    def on_input_submitted(self, message: Input.Submitted) -> None:
        """Enter in the number field moves to the code; Enter in the code field approves."""
        if message.input.id == "match":
            self.query_one("#code", Input).focus()
        elif message.input.id == "code":
            self.approve()

    def on_button_pressed(self, message: Button.Pressed) -> None:
        """The buttons: approve, refuse, not me, back, show the lines."""
        actions = {
            "approve": self.approve,
            "reject": self.action_reject,
            "not-me": self.action_not_me,
            "back": self.action_back,
            "show-lines": self.action_lines,
        }
        action = actions.get(message.button.id or "")
        if action is not None:
            action()

    def approve(self) -> None:
        """Approve with the code typed (and the number, for a sign-in)."""
        if self.finished or self.busy or self.locked:
            return
        lang = _desk(self).lang
        field = self.query_one("#code", Input)
        code = field.value
        field.value = ""
        if not _CODE.fullmatch(code):
            self.show_outcome(word("code_format", lang), kind="error")
            field.focus()
            return
        match = None
        if self.is_login:
            match = self.query_one("#match", Input).value.strip()
            if not _MATCH.fullmatch(match):
                self.show_outcome(word("match_format", lang), kind="error")
                self.query_one("#match", Input).focus()
                return
        self._start(Decision.APPROVE, code, match)

    def action_reject(self) -> None:
        """Refuse, after a confirmation."""
        self._confirm(Decision.REJECT, "confirm_reject")

    def action_not_me(self) -> None:
        """Refuse and report as fraud, after a confirmation."""
        self._confirm(Decision.NOT_ME, "confirm_not_me")

    def _confirm(self, decision: Decision, question: str) -> None:
        if self.finished or self.busy:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._start(decision, None, None)

        self.app.push_screen(ConfirmScreen(word(question, _desk(self).lang)), answered)

    def _start(self, decision: Decision, code: str | None, match: str | None) -> None:
        self.busy = True
        self._enable()
        self.show_outcome(word("working", _desk(self).lang))
        self._decide(decision, code, match)

    @work(thread=True, exclusive=True, group="decision")
    def _decide(self, decision: Decision, code: str | None, match: str | None) -> None:
        """Carry out the decision in a worker thread; the result comes back to the screen."""
        decider = _desk(self).decider
        try:
            if decision is Decision.APPROVE:
                decided = decider.approve(self.operation, code or "", match=match)
            elif decision is Decision.REJECT:
                decided = decider.reject(self.operation)
            else:
                decided = decider.not_me(self.operation)
        except DeviceError as error:
            self.app.call_from_thread(self._failed, error)
            return
        self.app.call_from_thread(self._succeeded, decided)

    def _succeeded(self, decided: Decided) -> None:
        app = _desk(self)
        self.busy = False
        self.finished = True
        waiting = decided.decision is Decision.APPROVE and decided.status == "pending"
        key = {
            Decision.APPROVE: "approved_pending" if waiting else "approved",
            Decision.REJECT: "rejected",
            Decision.NOT_ME: "not_me_done",
        }[decided.decision]
        self.show_outcome(word(key, app.lang), kind="success")
        self._enable()
        self.query_one("#back", Button).focus()
        app.record(
            HistoryEntry(
                operation_id=self.operation.id,
                title=self.operation.display[0],
                detail=_detail(self.operation),
                decision=decided.decision,
                status=decided.status,
                decided_at=app.now(),
            )
        )

    def _failed(self, error: DeviceError) -> None:
        self.busy = False
        self.show_outcome(error.message(_desk(self).lang), kind="error")
        if isinstance(error, Locked):
            self.locked = True
        if isinstance(error, OperationUnavailable):
            self.finished = True
        self._enable()
        if not (self.finished or self.locked):
            self.query_one("#code", Input).focus()

    # --- navigation -----------------------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the list."""
        self.app.pop_screen()

    def action_lines(self) -> None:
        """Page through a batch's lines."""
        if self.is_batch:
            self.app.push_screen(BatchScreen(self.operation))


class BatchScreen(Screen[None]):
    """A batch transfer's lines, :data:`PAGE_SIZE` to a page, once checked by the source."""

    # Priority: the table would otherwise take these keys to scroll within the page.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("pagedown,n", "next_page", show=False, priority=True),
        Binding("pageup,p", "previous_page", show=False, priority=True),
        Binding("home", "first_page", show=False, priority=True),
        Binding("end", "last_page", show=False, priority=True),
        Binding("escape", "back", show=False),
    ]

    def __init__(self, operation: Operation) -> None:
        super().__init__()
        self.operation = operation
        self.lines: tuple[BatchLine, ...] = ()
        self.page = 0

    @property
    def pages(self) -> int:
        """The number of pages."""
        return max(1, -(-len(self.lines) // PAGE_SIZE))

    def compose(self) -> ComposeResult:
        """The signed summary, the status of the check, the table, the page line."""
        lang = _desk(self).lang
        yield Header()
        yield Static(word("batch_heading", lang), id="heading", markup=False)
        # The title, count, total, debtor and (sceau_core.display puts it next) execution date
        # lines, as signed, on one line.
        data = self.operation.data
        dated = isinstance(data, BatchTransferData) and data.execution_date is not None
        summary = self.operation.display[: 5 if dated else 4]
        yield Static(_text(" · ".join(summary)), id="batch-summary")
        yield Static(word("batch_loading", lang), id="batch-status", markup=False)
        yield DataTable(id="batch-lines", cursor_type="row", zebra_stripes=True)
        yield Static("", id="page", markup=False)
        yield _bottom(lang, _KEYS[lang]["batch"])

    def on_mount(self) -> None:
        """Set up the columns and fetch the lines."""
        lang = _desk(self).lang
        table = self.query_one("#batch-lines", DataTable)
        table.add_column(word("column_number", lang), key="number")
        table.add_column(word("column_payee", lang), key="payee")
        table.add_column(word("column_iban", lang), key="iban")
        table.add_column(word("column_amount", lang), key="amount")
        table.add_column(word("column_reference", lang), key="reference")
        self._load()

    @work(thread=True, exclusive=True, group="lines")
    def _load(self) -> None:
        """Fetch and check the lines in a worker thread."""
        try:
            lines = tuple(_desk(self).source.batch_lines(self.operation))
        except DeviceError as error:
            self.app.call_from_thread(self._failed, error)
            return
        self.app.call_from_thread(self._loaded, lines)

    def _loaded(self, lines: tuple[BatchLine, ...]) -> None:
        self.lines = lines
        self.query_one("#batch-status", Static).update(word("batch_verified", _desk(self).lang))
        self.show_page(0)
        self.query_one("#batch-lines", DataTable).focus()

    def _failed(self, error: DeviceError) -> None:
        status = self.query_one("#batch-status", Static)
        status.update(_text(error.message(_desk(self).lang)))
        status.set_classes("error")

    def show_page(self, page: int) -> None:
        """Show page ``page`` (0-based, clamped)."""
        app = _desk(self)
        self.page = min(max(page, 0), self.pages - 1)
        first = self.page * PAGE_SIZE
        shown = self.lines[first : first + PAGE_SIZE]
        table = self.query_one("#batch-lines", DataTable)
        table.clear()
        babel = BABEL_LOCALES[app.lang]
        for number, line in enumerate(shown, start=first + 1):
            try:
                iban = mask_iban(line.payee_iban)
                amount = line.amount.format(babel)
            except SceauError:  # the lines were checked; this cannot happen
                iban, amount = "?", "?"
            table.add_row(
                _text(str(number), justify="right"),
                _text(line.payee_name),
                _text(iban),
                _text(amount, justify="right"),
                _text(line.reference or "—"),
                key=str(number),
            )
        self.query_one("#page", Static).update(
            word(
                "batch_page",
                app.lang,
                page=self.page + 1,
                pages=self.pages,
                first=first + 1 if shown else 0,
                last=first + len(shown),
                count=len(self.lines),
            )
        )

    def action_next_page(self) -> None:
        """The next page."""
        self.show_page(self.page + 1)

    def action_previous_page(self) -> None:
        """The previous page."""
        self.show_page(self.page - 1)

    def action_first_page(self) -> None:
        """The first page."""
        self.show_page(0)

    def action_last_page(self) -> None:
        """The last page."""
        self.show_page(self.pages - 1)

    def action_back(self) -> None:
        """Back to the operation."""
        self.app.pop_screen()


class HistoryScreen(Screen[None]):
    """The operations decided from this application since it was opened."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", show=False),
        Binding("h", "back", show=False),
    ]

    def compose(self) -> ComposeResult:
        """Heading, table or empty-state line, reminder."""
        lang = _desk(self).lang
        yield Header()
        yield Static(word("history_heading", lang), id="heading", markup=False)
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Static(word("no_history", lang), id="no-history", markup=False)
        yield _bottom(lang, _KEYS[lang]["history"])

    def on_mount(self) -> None:
        """Fill the table, most recent first."""
        app = _desk(self)
        lang = app.lang
        table = self.query_one("#history-table", DataTable)
        table.add_column(word("column_time", lang), key="time")
        table.add_column(word("column_operation", lang), key="operation")
        table.add_column(word("column_detail", lang), key="detail")
        table.add_column(word("column_decision", lang), key="decision")
        for entry in reversed(app.history):
            waiting = entry.decision is Decision.APPROVE and entry.status == "pending"
            decision = "approve_pending" if waiting else entry.decision.value
            table.add_row(
                _text(time.strftime("%H:%M:%S", time.localtime(entry.decided_at))),
                _text(entry.title),
                _text(entry.detail),
                _text(word(f"decision_{decision}", lang)),
                key=entry.operation_id,
            )
        table.display = bool(app.history)
        self.query_one("#no-history", Static).display = not app.history

    def action_back(self) -> None:
        """Back to the list."""
        self.app.pop_screen()


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question before a refusal."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "no", show=False)]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        """The question and two buttons, "No" focused."""
        lang = _desk(self).lang
        with VerticalScroll(id="confirm"):
            yield Static(self.question, markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button(word("yes", lang), id="yes", variant="error")
                yield Button(word("no", lang), id="no", variant="primary")

    def on_mount(self) -> None:
        """Focus "No": a stray Enter never refuses."""
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, message: Button.Pressed) -> None:
        """Answer."""
        self.dismiss(message.button.id == "yes")

    def action_no(self) -> None:
        """Escape answers no."""
        self.dismiss(False)
