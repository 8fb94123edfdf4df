# SPDX-License-Identifier: Apache-2.0
"""Low-level primitives (RFC 9497 OPRF, P-256 scalar derivation).

These are easy to misuse: call them through :mod:`sceau_core.knowledge` and the other
top-level modules, which bind them to a protocol context.
"""
