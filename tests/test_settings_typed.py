"""config.toml is checked against the settings' types: a misspelt, mistyped or out-of-range setting is
refused with a message that names the key and what it accepts, never replaced by a default in silence.

Real files, read by the real loader (`Settings.load`) and by CLI commands that read the settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.errors import InvalidInput, ShieldRecError
from shieldrec.paths import get_paths
from shieldrec.settings import (
    DEFAULT_WEIGHTS,
    RANKERS,
    LlmSettings,
    PrivacySettings,
    RankingSettings,
    ServeSettings,
    Settings,
    TuiSettings,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(InvalidInput) as caught:
        Settings.load(path)
    message = str(caught.value)
    assert str(path) in message  # which file
    return message


# --- Refused, through the loader.


def test_an_unknown_ranker_is_refused_with_the_allowed_values(tmp_path: Path) -> None:
    message = refusal(tmp_path, '[ranking]\nranker = "lerned"\n')
    assert "ranking.ranker" in message
    assert '"lerned"' in message
    assert "learned" in message.split('"lerned"')[1] and "fusion" in message
    assert 'did you mean "learned"' in message
    assert RANKERS == ("learned", "fusion")


def test_a_word_for_diversity_is_refused_as_not_a_number_between_0_and_1(tmp_path: Path) -> None:
    message = refusal(tmp_path, '[ranking]\ndiversity = "high"\n')
    assert "ranking.diversity" in message
    assert '"high"' in message
    assert "a number between 0 and 1" in message


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan", "inf", '"0.3"', "true"])
def test_diversity_outside_0_and_1_or_not_a_number_is_refused(tmp_path: Path, value: str) -> None:
    message = refusal(tmp_path, f"[ranking]\ndiversity = {value}\n")
    assert "ranking.diversity" in message and "a number between 0 and 1" in message


def test_an_unknown_key_is_named_with_the_closest_known_one(tmp_path: Path) -> None:
    message = refusal(tmp_path, "[ranking]\ndiversty = 0.2\n")
    assert "unknown setting ranking.diversty" in message
    assert "did you mean ranking.diversity?" in message


def test_an_unknown_section_and_top_level_key_are_named(tmp_path: Path) -> None:
    message = refusal(tmp_path, 'profil = "maya"\n[rankng]\ndiversity = 0.2\n')
    assert "2 problems" in message
    assert "unknown setting profil (did you mean profile?)" in message
    assert "unknown setting rankng (did you mean ranking?)" in message


def test_an_unknown_key_with_nothing_close_lists_the_known_ones(tmp_path: Path) -> None:
    message = refusal(tmp_path, "[llm]\nbanana = 1\n")
    assert "unknown setting llm.banana" in message
    assert "did you mean" not in message
    assert all(f.name in message for f in dataclasses.fields(LlmSettings))


@pytest.mark.parametrize(("text", "key", "accepts"), [
    ('[privacy]\nquery_review = "loud"\n', "privacy.query_review", "one of ask, show, silent"),
    ("[llm]\nenabled = 1\n", "llm.enabled", "true or false"),
    ('[llm]\nenabled = "yes"\n', "llm.enabled", "true or false"),
    ("[llm]\nn_ctx = 2048.5\n", "llm.n_ctx", "a whole number"),
    ("[llm]\nn_ctx = 0\n", "llm.n_ctx", "a whole number of at least 1"),
    ("[llm]\ntimeout_s = 0\n", "llm.timeout_s", "a number above 0"),
    ('[llm]\ndevice = "gpu"\n', "llm.device", "one of auto, cpu, cuda"),
    ('embedding_device = "cdua"\n', "embedding_device", "one of auto, cpu, cuda"),
    ("profile = 3\n", "profile", "a string"),
    ("[ranking]\nsponsored_penalty = -1\n", "ranking.sponsored_penalty", "a number of at least 0"),
    ("[ranking]\npopularity = 2\n", "ranking.popularity", "a number between 0 and 1"),
    ('[ranking.weights]\nllm = "high"\n', "ranking.weights.llm", "a number"),
    ('[tui.keys]\n"card.like" = 1\n', 'tui.keys."card.like"', "a string"),
    ("[tui]\ndemo_port = 70000\n", "tui.demo_port", "a whole number between 0 and 65535"),
    ('[serve]\nallowed_origins = "https://reader.example"\n', "serve.allowed_origins", "a list of strings"),
    ('[serve]\nallowed_origins = ["https://reader.example", 3]\n', "serve.allowed_origins[1]", "a string"),
    ("ranking = 3\n", "ranking", "a table"),
])
def test_a_wrong_type_names_the_key_and_what_it_accepts(tmp_path: Path, text: str, key: str, accepts: str) -> None:
    message = refusal(tmp_path, text)
    assert f"{key} = " in message
    assert accepts in message


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    message = refusal(tmp_path, '[ranking]\nranker = "lerned"\ndiversity = "high"\n[privacy]\nquery_review = "x"\n')
    assert "3 problems" in message
    assert all(k in message for k in ("ranking.ranker", "ranking.diversity", "privacy.query_review"))


def test_a_query_review_it_cannot_read_is_refused_not_replaced(tmp_path: Path) -> None:
    """It used to become "ask" in silence; now the user hears of it."""
    assert "privacy.query_review" in refusal(tmp_path, '[privacy]\nquery_review = "ASK"\n')


def test_the_refusal_is_the_projects_own_error() -> None:
    with pytest.raises(ShieldRecError):
        Settings.from_dict({"ranking": {"ranker": "lerned"}})


def test_a_file_that_is_not_toml_is_still_refused_as_unreadable(tmp_path: Path) -> None:
    assert "cannot be read" in refusal(tmp_path, "[ranking\n")


# --- Accepted, exactly as before.


def test_no_file_and_an_empty_file_give_the_defaults(tmp_path: Path) -> None:
    assert Settings.load(tmp_path / "absent.toml") == Settings()
    assert Settings.load(write(tmp_path, "")) == Settings()


def test_the_defaults_are_unchanged() -> None:
    s = Settings()
    assert (s.profile, s.embedding_device) == ("", "auto")
    assert s.ranking == RankingSettings("learned", 0.5, 0.3, 0.3, 2.0, False, True, dict(DEFAULT_WEIGHTS))
    assert DEFAULT_WEIGHTS == {"instruction": 1.0, "history": 1.0, "avoid": 1.0, "lexical": 0.3,
                               "popularity": 0.15, "llm": 0.05}
    assert s.llm == LlmSettings(True, "bundled", "auto", 2048, 10, 3, False, 60.0)
    assert s.privacy == PrivacySettings("show")
    assert s.tui == TuiSettings("textual-dark", {}, False, 8765)
    assert s.serve == ServeSettings(8731, [], 4 * 1024 * 1024, 1000)


def test_a_valid_file_loads_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, """\
profile = "maya"
embedding_device = "cuda:1"

[ranking]
ranker = "fusion"
popularity = 1          # a whole number is a number
diversity = 0.0
sponsored_penalty = 1.5
injection_penalty = 3
include_consumed = true
passage_check = false

[ranking.weights]
lexical = 0.5
my_plugin = 2            # a plug-in scorer's weight

[llm]
enabled = false
model = "/models/own.gguf"
device = "cpu"
n_ctx = 4096
listwise_top_k = 5
listwise_passes = 1
repack_weights = true
timeout_s = 30

[privacy]
query_review = "ask"

[tui]
theme = "nord"
compact = true
demo_port = 0

[tui.keys]
"card.like" = "plus"

[serve]
port = 9000
allowed_origins = ["https://reader.example"]
max_body_bytes = 1024
max_items = 10
""")
    s = Settings.load(path)
    assert s == Settings(
        profile="maya", embedding_device="cuda:1",
        ranking=RankingSettings("fusion", 1.0, 0.0, 1.5, 3.0, True, False,
                                {**DEFAULT_WEIGHTS, "lexical": 0.5, "my_plugin": 2.0}),
        llm=LlmSettings(False, "/models/own.gguf", "cpu", 4096, 5, 1, True, 30.0),
        privacy=PrivacySettings("ask"),
        tui=TuiSettings("nord", {"card.like": "plus"}, True, 0),
        serve=ServeSettings(9000, ["https://reader.example"], 1024, 10),
    )
    # Numbers are floats where the setting is one, as the old loader made them.
    assert type(s.ranking.popularity) is float and type(s.llm.timeout_s) is float
    assert all(type(w) is float for w in s.ranking.weights.values())


def test_a_partial_file_keeps_every_other_default(tmp_path: Path) -> None:
    s = Settings.load(write(tmp_path, "[ranking]\ndiversity = 0.6\n[ranking.weights]\nllm = 0\n"))
    assert s.ranking == dataclasses.replace(RankingSettings(), diversity=0.6, weights={**DEFAULT_WEIGHTS, "llm": 0.0})
    assert dataclasses.replace(s, ranking=RankingSettings()) == Settings()


def test_saved_settings_load_back_equal(tmp_path: Path) -> None:
    s = Settings()
    s.ranking.ranker, s.ranking.diversity, s.privacy.query_review = "fusion", 0.9, "silent"
    s.serve.allowed_origins = ["https://a.example"]
    s.tui.keys = {"app.help": "f1"}
    path = s.save(tmp_path / "config.toml")
    assert Settings.load(path) == s


def test_the_objects_stay_plain_dataclasses() -> None:
    """Callers copy and mutate them: dataclasses.replace, asdict and assignment still work."""
    s = Settings.from_dict({"ranking": {"diversity": 0.5}})
    changed = dataclasses.replace(s.ranking, diversity=0.0)
    assert changed.diversity == 0.0 and s.ranking.diversity == 0.5
    assert dataclasses.asdict(s)["ranking"]["diversity"] == 0.5
    s.ranking.ranker = "fusion"
    assert "__pydantic_config__" not in dataclasses.asdict(s)


# --- Through the CLI: the refusal is a click error naming the key, exit status 1, no traceback.


def write_config(text: str) -> None:
    config = get_paths().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text, "utf-8")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_the_cli_refuses_a_misspelt_ranker() -> None:
    write_config('[ranking]\nranker = "lerned"\n')
    code, output = run("platform", "review")
    assert code == 1
    assert "Error:" in output and "ranking.ranker" in output and '"lerned"' in output
    assert "learned" in output and "fusion" in output
    assert "Traceback" not in output


def test_rerank_refuses_a_wrong_diversity_before_it_reads_anything() -> None:
    write_config('[ranking]\ndiversity = "high"\n')
    result = CliRunner().invoke(cli, ["rerank"], input="")
    assert result.exit_code == 1, result.output
    assert "ranking.diversity" in result.output and "a number between 0 and 1" in result.output


def test_the_cli_names_an_unknown_key() -> None:
    write_config("[ranking]\ndiversty = 0.2\n")
    code, output = run("platform", "review")
    assert code == 1
    assert "unknown setting ranking.diversty" in output and "did you mean ranking.diversity?" in output


def test_the_cli_reads_and_writes_a_valid_file() -> None:
    write_config('[ranking]\ndiversity = 0.2\n[privacy]\nquery_review = "silent"\n')
    assert run("platform", "review") == (0, "query review: silent\n")
    assert run("platform", "review", "ask") == (0, "query review: ask\n")
    again = Settings.load()
    assert again.privacy.query_review == "ask" and again.ranking.diversity == 0.2
