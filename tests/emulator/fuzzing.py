"""What both schemathesis tests check and how they generate, in one place."""

from __future__ import annotations

from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Not negative_data_rejection: the tests put real ids in the path and a valid key in the header
# of every case, so a case generated to be invalid there is sent valid and rightly accepted.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def config(examples: int) -> dict:
    """Repeatable fuzzing only: the coverage phase's boundary cases run into the hundreds per
    operation."""
    return {
        "generation": {"max-examples": examples, "deterministic": True, "database": "none"},
        "phases": {
            "examples": {"enabled": False},
            "coverage": {"enabled": False},
            "stateful": {"enabled": False},
        },
    }
