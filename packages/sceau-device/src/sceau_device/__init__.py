# SPDX-License-Identifier: Apache-2.0
"""The Sceau authenticator: device SDK and command line."""
