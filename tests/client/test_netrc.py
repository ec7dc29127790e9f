"""A ~/.netrc entry for Neon's host must not replace the dashboard's key."""


def test_netrc_entry_for_the_host_does_not_replace_the_bearer_key(
    make_client, tmp_path, monkeypatch
):
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password not-the-neon-key\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    client = make_client()
    # The emulator accepts only the test key: Basic auth from netrc would be a 401.
    assert client.get_auth_details().auth_method
    assert "not-the-neon-key" not in repr(client.transport.session.auth)
