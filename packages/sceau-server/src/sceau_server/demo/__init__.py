# SPDX-License-Identifier: Apache-2.0
"""``sceau demo``: a demo bank, a phone in the browser and an operator console, on loopback.

The demo runs, in one process, the real Sceau server (its own port, a SQLite file under the data
directory) and a small web site on another port that plays three parties over real HTTP:

- **Ma Banque**, a bank (relying party) that logs its customer in, has her activate Sceau, and
  asks Sceau to validate transfers, new payees, e-signatures, logins (number matching) and the
  card payments of a demo merchant (a 3-D Secure style challenge page). It verifies every result
  JWS with Sceau's JWKS before acting on it.
- **Téléphone**, the customer's phone *simulated in the browser*: the Python device SDK runs in
  this process with a keystore under the data directory; the code typed there reaches only that
  simulated device object (the SDK blinds it for the OPRF), never the server or a log.
- **Back-office**, the operator console: users, devices, operations with their result JWS and
  evidence export, unlock and revoke, the audit log and its verification. The operator approves
  their own login with their own (simulated) Sceau device.

:func:`main` is the entry point of ``sceau demo``.
"""

from __future__ import annotations

from sceau_server.demo.runner import main

__all__ = ["main"]
