# SPDX-License-Identifier: Apache-2.0
"""Storage: SQLAlchemy 2 tables, the database engine and the repository functions."""
