"""A saved RSS or Atom feed on this machine is a platform: read by the `file` adapter exactly as the
`rss` adapter reads a feed from the web, with nothing sent anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.errors import PlatformError
from shieldrec.platforms import Egress, Query, build_adapter
from shieldrec.store import Store
from shieldrec.store.platform_configs import PlatformConfig

from .test_adapters import FEED

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Garden Notes</title>
<entry><title>Robots that weed</title><id>urn:g:1</id><link href="https://garden.example/1"/>
<author><name>June</name></author><summary type="html">&lt;p&gt;Small &lt;i&gt;robots&lt;/i&gt; at dawn.&lt;/p&gt;</summary>
<category term="gardening"/></entry>
<entry><title>Composting</title><id>urn:g:2</id><link href="https://garden.example/2"/><summary>Time.</summary></entry>
</feed>"""


async def test_local_rss_and_atom_files_are_read_like_a_feed_from_the_web(store: Store, tmp_path: Path) -> None:
    (tmp_path / "sky.rss").write_text(FEED, encoding="utf-8")
    (tmp_path / "garden.xml").write_text(ATOM, encoding="utf-8")
    (tmp_path / "saved-feed.txt").write_text(ATOM, encoding="utf-8")
    egress = Egress(store)
    sky = await build_adapter(PlatformConfig("sky", "file", {"path": str(tmp_path / "sky.rss")}), egress).recommend(
        Query("robots", 2))
    garden = await build_adapter(PlatformConfig("garden", "file", {"path": str(tmp_path / "garden.xml")}),
                                 egress).recommend(Query("robots", 5))
    named = await build_adapter(PlatformConfig("g2", "file", {"path": str(tmp_path / "saved-feed.txt"),
                                                              "format": "feed"}), egress).recommend(Query("", 5))
    assert [i.item_id for i in sky] == ["ep-12", "ep-10"]
    assert sky[0].text == "How rovers drive themselves." and sky[0].platforms == ["sky"]
    assert [i.title for i in garden] == ["Robots that weed", "Composting"]
    assert garden[0].creator == "June" and garden[0].text == "Small robots at dawn."
    assert garden[0].meta["tags"] == ["gardening"] and garden[0].url == "https://garden.example/1"
    assert len(named) == 2
    assert store.audit.entries() == []  # a file: nothing left the machine


async def test_a_file_that_is_not_a_feed_says_so(store: Store, tmp_path: Path) -> None:
    page = tmp_path / "page.xml"
    page.write_text("<html><body>hello</body></html>", encoding="utf-8")
    adapter = build_adapter(PlatformConfig("p", "file", {"path": str(page)}), Egress(store))
    with pytest.raises(PlatformError, match="p: the answer is not an RSS or Atom feed"):
        await adapter.recommend(Query("x"))


def test_a_file_url_in_the_rss_adapter_points_to_the_file_adapter(store: Store) -> None:
    with pytest.raises(PlatformError, match="read by the `file` adapter"):
        build_adapter(PlatformConfig("f", "rss", {"url": "file:///home/me/feed.xml"}), Egress(store))


def test_adding_and_testing_a_local_feed_from_the_command_line(profiles_dir: Path, tmp_path: Path) -> None:
    feed = tmp_path / "night-sky.rss"
    feed.write_text(FEED, encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["profile", "import", str(profiles_dir / "maya.toml")]).exit_code == 0
    res = runner.invoke(cli, ["platform", "add", "sky", "--adapter", "file", "--set", f"path={feed}"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["platform", "test", "sky", "robots", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["sent"] == [] and out["counts"] == {"sky": 3}
    res = runner.invoke(cli, ["platform", "add", "web", "--adapter", "rss", "--set", f"url=file://{feed}"])
    assert res.exit_code == 1 and "--adapter file --set path=" in res.output
