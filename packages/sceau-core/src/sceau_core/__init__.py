# SPDX-License-Identifier: Apache-2.0
"""Sceau protocol core: pure functions and frozen values, no I/O."""
