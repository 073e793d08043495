"""Tokens: kept by the keyring (or the environment), sent in a header, written nowhere by us."""

from __future__ import annotations

import json
from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner
from keyring.backends import fail

from shieldrec.cli import cli
from shieldrec.errors import CredentialError
from shieldrec.platforms import DemoServer, fan_out, plan_query
from shieldrec.platforms.credentials import (
    NoKeyringBackend,
    delete_token,
    env_var,
    get_token,
    set_token,
)
from shieldrec.platforms.demo_catalog import Catalog
from shieldrec.store import Store, load_profile_file
from shieldrec.store.platform_configs import PlatformConfig

TOKEN = "tok-4f9e2b7c1d-SECRET"


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


def test_keyring_round_trip(memory_keyring: object) -> None:
    assert get_token("shop") is None
    set_token("shop", f"  {TOKEN}\n")
    assert get_token("shop") == TOKEN
    assert delete_token("shop") is True and get_token("shop") is None
    assert delete_token("shop") is False


def test_environment_variable_wins_and_works_without_a_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        assert env_var("my-shop.eu") == "SHIELDREC_TOKEN_MY_SHOP_EU"
        assert get_token("my-shop.eu") is None
        monkeypatch.setenv("SHIELDREC_TOKEN_MY_SHOP_EU", TOKEN)
        assert get_token("my-shop.eu") == TOKEN
        with pytest.raises(NoKeyringBackend, match="Set the environment variable SHIELDREC_TOKEN_MY_SHOP_EU"):
            set_token("my-shop.eu", TOKEN)
    finally:
        keyring.set_keyring(previous)


def test_login_without_a_keyring_says_what_to_do_and_writes_nothing(shieldrec_home: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        code, out = run("platform", "login", "shop", "--stdin", input=TOKEN + "\n")
    finally:
        keyring.set_keyring(previous)
    assert code == 1 and "no keyring backend" in out and "SHIELDREC_TOKEN_SHOP" in out
    assert TOKEN not in out and "Traceback" not in out
    assert not any(TOKEN.encode() in p.read_bytes() for p in shieldrec_home.rglob("*") if p.is_file())


def test_bad_tokens_are_refused(memory_keyring: object) -> None:
    with pytest.raises(CredentialError, match="empty"):
        set_token("shop", "   ")
    with pytest.raises(CredentialError, match="line break"):
        set_token("shop", "a\nb")


def test_login_prompts_without_echo(memory_keyring: object) -> None:
    code, out = run("platform", "login", "shop", input=TOKEN + "\n")
    assert code == 0 and "stored in the system keyring" in out
    assert TOKEN not in out  # hidden input is not echoed back
    assert get_token("shop") == TOKEN


@pytest.mark.slow
async def test_token_is_sent_in_the_header_and_found_nowhere_else(
    store: Store, catalog: Catalog, memory_keyring: object, shieldrec_home: Path, profiles_dir: Path
) -> None:
    code, out = run("platform", "login", "members", "--stdin", input=TOKEN + "\n")
    assert code == 0, out
    profile = store.import_profile(load_profile_file(profiles_dir / "maya.toml"))
    with DemoServer(catalog=catalog, token=TOKEN) as server:
        store.platforms.save(profile.id, PlatformConfig(
            "members", "http-json",
            {"url": f"{server.url}/v1/recommend", "auth": "bearer", "params": {"q": "{query}", "limit": "{limit}"}},
        ))
        store.platforms.save(profile.id, PlatformConfig("anonymous", "demo", {"base_url": server.url}))
        result = await fan_out(store, profile, plan_query("robots", None, 5))
        log = server.request_log

    # The platform that needs the token got it and answered; the one that did not, did not get it.
    assert result.counts["members"] == 5
    assert "anonymous" in result.errors and "refused the request (HTTP 401)" in result.errors["anonymous"]
    assert sorted(e["auth"] for e in log) == ["none", "valid"]

    # ... and it is nowhere in what ShieldRec keeps or shows.
    code, listing = run("platform", "list", "--profile", "maya")
    assert code == 0 and "members" in listing and "keyring" in listing
    code, audit_out = run("audit", "--profile", "maya", "--format", "json")
    assert code == 0 and len(json.loads(audit_out)) == 2
    code, exported = run("profile", "export", "maya")
    assert code == 0 and "members" in exported
    store.close()
    for path in shieldrec_home.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    for text in (listing, audit_out, exported, json.dumps(result.to_dict()), json.dumps(log)):
        assert TOKEN not in text


def test_secret_settings_are_refused(memory_keyring: object) -> None:
    run("profile", "create", "ana")
    code, out = run("platform", "add", "shop", "--adapter", "http-json", "--set", "url=https://api.example/r",
                    "--set", 'params={"q": "{query}", "api_key": "abc123"}')
    assert code == 1 and "looks like a credential" in out and "platform login" in out
    code, out = run("platform", "list", "--format", "json")
    assert json.loads(out) == []
