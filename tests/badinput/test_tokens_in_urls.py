"""A token typed into a platform's URL is refused, with where tokens go instead; it reaches
neither the database nor the audit log nor the network."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.errors import InvalidInput, PlatformError
from shieldrec.platforms import Egress
from shieldrec.store import Store
from shieldrec.store.platform_configs import PlatformConfig

SECRET = "s3cr3t-T0KEN-9x"
URLS = [
    f"https://alice:{SECRET}@api.example/rec",
    f"https://{SECRET}@api.example/rec",
    f"https://api.example/rec?api_key={SECRET}",
    f"https://api.example/rec?q={{query}}&access_token={SECRET}",
    f"https://api.example/rec?Token={SECRET}",
    f"https://api.example/feed.xml?key={SECRET}",
]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _file_text(store_path: Path) -> bytes:
    files = [store_path, *store_path.parent.glob(store_path.name + "-*")]
    return b"".join(f.read_bytes() for f in files if f.exists())


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("adapter", ["http-json", "rss"])
def test_platform_add_refuses_a_url_with_a_token(profiles_dir: Path, shieldrec_home: Path, url: str,
                                                  adapter: str) -> None:
    assert run("profile", "import", str(profiles_dir / "maya.toml"))[0] == 0
    code, out = run("platform", "add", "shop", "--adapter", adapter, "--set", f"url={url}")
    assert code == 1 and "shieldrec platform login shop" in out and "keyring" in out
    assert SECRET not in out  # the message does not repeat it either
    assert SECRET.encode() not in _file_text(shieldrec_home / "data" / "profiles.db")


def test_an_imported_profile_cannot_carry_one(store: Store) -> None:
    with pytest.raises(InvalidInput, match="platform login"):
        store.import_profile({"profile": {"name": "p"}, "platforms": [
            {"name": "shop", "adapter": "http-json", "settings": {"url": URLS[2]}}]})
    p = store.create_profile("q")
    with pytest.raises(InvalidInput, match="platform login"):
        store.platforms.save(p.id, PlatformConfig("feed", "rss", {"url": URLS[0]}))
    assert SECRET.encode() not in _file_text(store.path)


@pytest.mark.parametrize("url", URLS[:4])
async def test_egress_never_sends_or_records_one(store: Store, url: str) -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200, content=b"{}"))
    async with Egress(store, transport=transport) as egress:
        with pytest.raises(PlatformError, match="platform login"):
            await egress.send("shop", "GET", url.replace("{query}", "x"))
    assert sent == [] and store.audit.entries() == []


def test_ordinary_urls_still_work(profiles_dir: Path) -> None:
    assert run("profile", "import", str(profiles_dir / "maya.toml"))[0] == 0
    for n, url in enumerate(["https://api.example/rec?q={query}&n={limit}", "https://news.example/feed.xml?monkey=1",
                             "https://api.example/keys/list", "https://api.example/rec?tokenizer=word"]):
        code, out = run("platform", "add", f"p{n}", "--adapter", "http-json", "--set", f"url={url}")
        assert code == 0, out
