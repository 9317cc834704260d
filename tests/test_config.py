"""Settings: packaged defaults, a user file, environment overrides, clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.errors import ConfigError


def test_defaults_need_no_file_and_no_env():
    s = load_settings(env={})
    assert s.source_url == "https://ticdata.treasury.gov/resource-center/data-chart-center/tic/Documents/"
    assert s.bot_token is None
    assert [g.name for g in s.groups][:1] == ["Japan + China"]
    assert s.groups[0].members == ("Japan", "China, Mainland")


def test_environment_overrides(tmp_path: Path):
    s = load_settings(
        env={
            "TIC_ALERT_SOURCE_URL": "http://127.0.0.1:8000/docs",
            "TIC_ALERT_DB": str(tmp_path / "x.db"),
            "TIC_ALERT_BOT_TOKEN": "123:SECRET",
        }
    )
    assert s.source_url == "http://127.0.0.1:8000/docs/"
    assert s.db_path == str(tmp_path / "x.db")
    assert s.bot_token == "123:SECRET"
    assert "SECRET" not in repr(s)


def test_a_postgresql_url_selects_postgresql_and_its_password_is_never_printed():
    url = "postgresql://tic:s3cret@db.internal:5432/tic"
    s = load_settings(env={"TIC_ALERT_DB": url})
    assert s.db_path == url  # as given: not a path
    assert s.effective["store"]["db_path"] == "postgresql://tic:****@db.internal:5432/tic"
    assert load_settings(env={"TIC_ALERT_DB": "~/tic.db"}).db_path == str(Path.home() / "tic.db")


def test_user_file_is_laid_over_defaults(tmp_path: Path):
    f = tmp_path / "mine.toml"
    f.write_text('[source]\ntimeout_seconds = 5\n[groups]\n"Asia" = ["japan", "china", "taiwan"]\n')
    s = load_settings(f, env={})
    assert s.timeout_seconds == 5.0
    assert s.source_url.startswith("https://ticdata.treasury.gov/")
    asia = next(g for g in s.groups if g.name == "Asia")
    assert asia.members == ("Japan", "China, Mainland", "Taiwan")  # checked and canonical at startup
    assert load_settings(env={"TIC_ALERT_CONFIG": str(f)}).timeout_seconds == 5.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[source]\ntimeout = 5\n", "[source] timeout = 5: unknown setting (did you mean timeout_seconds?)"),
        ("[source]\ntimeout_seconds = 'soon'\n", '[source] timeout_seconds = "soon": expected a number'),
        ("[source]\nbase_url = 'ftp://x/'\n", '[source] base_url = "ftp://x/": expected an http(s) URL'),
        ("[sauce]\nx = 1\n", "[sauce]: unknown section"),
        ("[groups]\nsolo = ['Japan']\n", '[groups] solo = ["Japan"]: must list at least two countries'),
        ("[source\n", "not valid TOML"),
    ],
)
def test_bad_settings_fail_with_the_key_named(tmp_path: Path, text: str, message: str):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(f, env={})


def test_missing_config_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read it"):
        load_settings(tmp_path / "nope.toml", env={})


def test_a_misspelt_group_member_stops_startup_naming_member_and_group(tmp_path: Path):
    f = tmp_path / "mine.toml"
    f.write_text('[groups]\n"Asia" = ["japan", "chyna"]\n')
    with pytest.raises(
        ConfigError, match=r'^\[groups\] Asia = \["japan", "chyna"\]: unknown country "chyna"'
    ):
        load_settings(f, env={})
