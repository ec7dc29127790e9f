from tests.auth.conftest import (  # noqa: F401 - the sign-in fixtures, for audit tests
    _identity_server,
    _keys,
    identity_server,
    proxy_mode,
    role_groups,
    signing_key,
)
