# SPDX-License-Identifier: Apache-2.0
"""Services: the server's rules (activations, operations, attempts and locks, decisions,
results, webhooks), over the storage layer and the protocol core."""
