# SPDX-License-Identifier: Apache-2.0
"""Periodic audit checkpoints, signed with the key kept outside the database (brief L5)."""

from __future__ import annotations

from pathlib import Path

from sceau_server import audit
from sceau_server.services.context import ServerContext

__all__ = ["write_checkpoint"]


def write_checkpoint(ctx: ServerContext) -> audit.Checkpoint | None:
    """Sign the latest audit entry, store the checkpoint and append it to the journal file."""
    for path in (ctx.settings.checkpoint_key_path, ctx.settings.checkpoint_journal_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    key = audit.load_or_create_checkpoint_key(ctx.settings.checkpoint_key_path)
    with ctx.db.write() as session:
        checkpoint = audit.write_checkpoint(session, private_key=key, now=ctx.now())
    if checkpoint is not None:
        audit.append_checkpoint_journal(ctx.settings.checkpoint_journal_path, checkpoint)
    return checkpoint
