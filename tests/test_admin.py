"""Changing watchlists and sources from chat (bot/admin.py): admins only; the YAML file is edited
in place (every untouched line byte for byte, comments kept), validated before it is saved,
replaced atomically and never over a hand edit; then the reload hook runs once."""

from __future__ import annotations

import asyncio
import io
import os
import stat
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from adapters.console import ConsoleAdapter
from bot import messages
from bot.admin import Admin, split_words
from bot.yamledit import Document, indentation, replace_file
from bot.app import company_names
from bot.commands import Commands
from bot.config import load_config, load_default_config, parse_config
from bot.errors import CommandError, ConfigError
from bot.models import Command
from bot.query import CompanyIndex
from bot.store import Store
from tests.support import NOW
from tests.test_slack import adapter_for, slack  # noqa: F401 (slack: the fake Slack fixture)

CONFIG = """\
# intelbot for the rivals desk
storage:
  path: intel.db
fetch:
  allow_private_networks: false

sources:
  - name: Wire
    url: https://wire.example.com/feed.xml
    every: 15m
  - name: Herald
    url: https://herald.example.com/rss
    every: 20m

# Companies we follow.
companies:
  # Europe
  - name: Globex
    aliases: [Globex Corp, "Globex AG"]
    # the villain of the quarter
    context: [Scorpio]
  - name: Initech
    aliases: [Initech Inc]
  # Asia
  - name: Hooli
    aliases: [胡利]

watchlists:
  - name: rivals
    companies: [Globex, Initech]
    channels: [console]
  - name: china
    companies: [Hooli]   # just one for now
    keywords: [china, 中国]
    channels: [console]

# Who may change watchlists and sources from chat.
admins: [slack:U0ALICE, "discord:123456789012345678"]
"""

ALICE = "slack:U0ALICE"


class Running:
    """The running config and its reload hook, as the App keeps them."""

    def __init__(self, path: Path):
        self.path = path
        self.config = load_config(path)
        self.reloads = 0

    async def reload(self) -> str | None:
        self.reloads += 1
        self.config = load_config(self.path)
        return None


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "intelbot.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def running(config_file: Path) -> Running:
    return Running(config_file)


async def no_dns(host: str) -> list[str]:
    raise AssertionError(f"no name should be resolved, got {host}")


@pytest.fixture
def admin(running: Running) -> Admin:
    return Admin(lambda: running.config, reload=running.reload, resolve=no_dns)


async def say(admin: Admin, text: str, user: str = ALICE) -> str:
    return (await admin.handle(Command(text, user), split_words(text))).text


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def saved(done: str) -> str:
    return messages.saved(done, None)


# --- watchlists -------------------------------------------------------------------------------


async def test_an_admin_adds_a_company_with_aliases_to_a_named_watchlist(admin, running, config_file):
    before = lines(config_file)
    reply = await say(admin, 'watch add "Acme Robotics" Acme 阿克米 to china')

    assert reply == "Added Acme Robotics (aliases Acme, 阿克米) to watchlist china. Config saved; reloaded."
    last_company = before.index("    aliases: [胡利]")
    china = before.index("    companies: [Hooli]   # just one for now")
    assert lines(config_file) == [
        *before[: last_company + 1],
        "  - name: Acme Robotics",
        "    aliases: [Acme, 阿克米]",
        *before[last_company + 1 : china],
        "    companies: [Hooli, Acme Robotics]   # just one for now",
        *before[china + 1 :],
    ]
    assert running.reloads == 1
    assert running.config.company("阿克米").name == "Acme Robotics"
    assert running.config.watchlists[1].companies == ("Hooli", "Acme Robotics")


async def test_a_known_company_gets_its_missing_aliases_and_the_first_watchlist(admin, running, config_file):
    before = lines(config_file)
    reply = await say(admin, 'watch add hooli "Hooli XYZ" 胡利 HOOLI')

    assert reply == saved("Added Hooli to watchlist rivals, with the new alias Hooli XYZ.")
    changed = {i: line for i, line in enumerate(lines(config_file)) if line != before[i]}
    assert changed == {before.index("    aliases: [胡利]"): "    aliases: [胡利, Hooli XYZ]",
                       before.index("    companies: [Globex, Initech]"): "    companies: [Globex, Initech, Hooli]"}
    assert running.reloads == 1


async def test_aliases_alone_are_added_to_a_company_already_watched(admin, running, config_file):
    reply = await say(admin, "watch add Initech Initrode to rivals")
    assert reply == saved("Added alias Initrode to Initech.")
    assert "    aliases: [Initech Inc, Initrode]" in lines(config_file)


async def test_nothing_to_change_writes_nothing(admin, running, config_file):
    before = config_file.read_bytes()
    assert await say(admin, 'watch add "globex corp"') == "Globex is already in watchlist rivals. Nothing was changed."
    assert await say(admin, 'watch add Globex "Globex AG" to rivals') == (
        "Globex is already in watchlist rivals with those aliases. Nothing was changed.")
    assert config_file.read_bytes() == before and running.reloads == 0


async def test_an_admin_removes_a_company_from_one_watchlist(admin, running, config_file):
    before = lines(config_file)
    reply = await say(admin, "watch remove initech inc from RIVALS")

    assert reply == saved("Removed Initech from watchlist rivals. It is in no watchlist now but still recognised "
                          "in lookups; `/intel watch remove Initech` stops tracking it.")
    rivals = before.index("    companies: [Globex, Initech]")
    assert lines(config_file) == [*before[:rivals], "    companies: [Globex]", *before[rivals + 1 :]]
    assert running.config.company("Initech") is not None and running.reloads == 1


async def test_an_admin_stops_tracking_a_company_everywhere(admin, running, config_file):
    before = lines(config_file)
    reply = await say(admin, "watch remove Globex Corp")  # by an alias, no quotes needed

    assert reply == saved("Stopped tracking Globex: removed it from watchlist rivals and from the companies.")
    globex = before.index("  - name: Globex")
    rivals = before.index("    companies: [Globex, Initech]")
    # Its own lines go, the comment inside it too; the section comment above it stays.
    assert lines(config_file) == [*before[:globex], *before[globex + 4 : rivals], "    companies: [Initech]",
                                  *before[rivals + 1 :]]
    assert before[globex - 1] == "  # Europe"
    assert running.config.company("Globex") is None


async def test_a_section_comment_stays_when_the_company_under_it_goes(admin, config_file):
    await say(admin, "watch add Acme to china")
    before = lines(config_file)
    assert await say(admin, "watch remove Initech") == saved(
        "Stopped tracking Initech: removed it from watchlist rivals and from the companies.")
    assert await say(admin, "watch remove Hooli") == saved(
        "Stopped tracking Hooli: removed it from watchlist china and from the companies.")
    after = lines(config_file)
    assert after[after.index("  # Asia") + 1] == "  - name: Acme"  # the heading now heads what follows
    assert [line for line in before if line not in after] == [
        "  - name: Initech", "    aliases: [Initech Inc]", "  - name: Hooli", "    aliases: [胡利]",
        "    companies: [Globex, Initech]", "    companies: [Hooli, Acme]   # just one for now"]


async def test_removing_the_last_company_of_a_watchlist_is_refused(admin, running, config_file):
    before = config_file.read_bytes()
    reply = await say(admin, "watch remove Hooli")
    assert reply.startswith("Hooli is the only company of watchlist china, and a watchlist needs at least one.")
    assert config_file.read_bytes() == before and running.reloads == 0


async def test_unknown_names_are_answered_with_what_exists(admin, config_file):
    before = config_file.read_bytes()
    assert await say(admin, "watch remove Globx") == (
        "I don't track a company called Globx. Did you mean Globex? Nothing was changed.")
    assert await say(admin, "watch add Acme to europe") == (
        "There is no watchlist called europe. The watchlists are: rivals, china. Nothing was changed.")
    assert await say(admin, "source remove Gazette") == (
        "There is no source called Gazette. The sources are: Wire, Herald. Nothing was changed.")
    assert config_file.read_bytes() == before


async def test_an_edit_that_would_make_the_config_invalid_is_not_saved(admin, running, config_file):
    before = config_file.read_bytes()
    reply = await say(admin, 'watch add Acme "Initech Inc" to china')

    assert reply.startswith("That change would make the config invalid, so nothing was saved:\n")
    assert (f"{config_file}:28:15: companies[3].aliases[0]: alias 'Initech Inc' of 'Acme' is already a name "
            "or alias of 'Initech' (at companies[1].aliases[0], line 23)") in reply
    reply = await say(admin, "source add http://93.184.216.34/feed.xml every 5s")
    assert reply.endswith("sources[2].every: must be at least 10s, got 5s")
    assert config_file.read_bytes() == before and running.reloads == 0


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["slack:U0BOB", "discord:987654321098765432", "slack:", "discord:"])
@pytest.mark.parametrize("text", ['watch add "Acme Robotics" to china', "watch remove Initech from rivals",
                                  "watch remove Globex", "source add http://93.184.216.34/feed.xml",
                                  "source remove Wire"])
async def test_anyone_else_is_refused_politely_and_nothing_changes(admin, running, config_file, user, text):
    before = config_file.read_bytes()
    assert await say(admin, text, user) == messages.not_an_admin(user)
    assert config_file.read_bytes() == before and running.reloads == 0


async def test_anyone_may_list_the_watchlists(admin):
    assert await say(admin, "watch list", "slack:U0BOB") == (
        "2 watchlists:\n"
        "• rivals → console\n"
        "  companies: Globex, Initech\n"
        "• china → console\n"
        "  companies: Hooli\n"
        "  keywords: china, 中国")


async def test_the_console_is_an_admin_and_so_are_listed_discord_users(admin, config_file):
    assert await say(admin, "watch add Acme", "console") == saved("Added Acme to watchlist rivals.")
    assert await say(admin, "watch remove Acme", "discord:123456789012345678") == saved(
        "Stopped tracking Acme: removed it from watchlist rivals and from the companies.")
    assert config_file.read_text(encoding="utf-8") == CONFIG


@pytest.mark.parametrize(("value", "problem"), [
    ("[slack:@alice]", "1:10: admins[0]: invalid Slack user 'slack:@alice': write slack:U0123ABCD"),
    ("[discord:42]", "1:10: admins[0]: invalid Discord user 'discord:42': write discord:<user id>"),
    ("[alice]", "1:10: admins[0]: unknown user 'alice': write slack:<member ID>, discord:<user id> or console"),
    ("\n  - slack: U0ALICE", "2:5: admins[0]: write the user as one word, no space after the colon"),
])
def test_admins_are_checked_with_their_position(value, problem):
    with pytest.raises(ConfigError) as caught:
        parse_config(f"admins: {value}\n", filename="intelbot.yaml", base_dir=Path("."))
    assert str(caught.value).startswith(f"intelbot.yaml:{problem}")


def test_admins_may_be_one_user_or_a_list():
    base = Path(".")
    assert parse_config("admins: slack:U0ALICE\n", filename="x", base_dir=base).admins == ("slack:U0ALICE",)
    assert parse_config("admins: [console, slack:W0ALICE]\n", filename="x", base_dir=base).admins == (
        "console", "slack:W0ALICE")


# --- sources ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "reason"), [
    ("http://10.0.0.1/feed", "10.0.0.1 is a private address"),
    ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
    ("http://[::1]:8080/feed", "::1 is a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
])
async def test_a_source_on_a_private_address_is_refused(admin, running, config_file, url, reason):
    before = config_file.read_bytes()
    reply = await say(admin, f"source add {url}")
    assert reply == messages.refused_source(f"{reason} (set fetch.allow_private_networks: true to allow)")
    assert config_file.read_bytes() == before and running.reloads == 0


async def test_a_source_on_a_public_address_is_added_in_the_files_style(admin, running, config_file):
    before = lines(config_file)
    reply = await say(admin, "source add <http://93.184.216.34/feed.xml|feed.xml> every 30m")  # as Slack wraps links

    assert reply == saved("Added source 93.184.216.34: http://93.184.216.34/feed.xml, polled every 30m.")
    herald = before.index("    every: 20m")
    assert lines(config_file) == [*before[: herald + 1], "  - name: 93.184.216.34",
                                  "    url: http://93.184.216.34/feed.xml", "    every: 30m", *before[herald + 1 :]]
    reply = await say(admin, "source add http://93.184.216.34/other.xml")
    assert reply == saved("Added source 93.184.216.34 2: http://93.184.216.34/other.xml, polled every 15m.")
    assert await say(admin, "source add http://93.184.216.34/other.xml") == (
        "Source 93.184.216.34 2 already polls http://93.184.216.34/other.xml. Nothing was changed.")
    assert [s.name for s in running.config.sources] == ["Wire", "Herald", "93.184.216.34", "93.184.216.34 2"]
    assert running.reloads == 2


async def test_a_host_name_is_checked_by_the_addresses_it_resolves_to(running, config_file):
    async def resolve(host: str) -> list[str]:
        return {"feeds.example.net": ["93.184.216.34", "10.1.2.3"], "www.news.example.org": ["93.184.216.34"]}[host]

    admin = Admin(lambda: running.config, reload=running.reload, resolve=resolve)
    assert await say(admin, "source add https://feeds.example.net/rss") == messages.refused_source(
        "feeds.example.net resolves to 10.1.2.3, a private address (set fetch.allow_private_networks: true to allow)")
    assert await say(admin, "source add https://www.news.example.org/rss") == saved(
        "Added source news.example.org: https://www.news.example.org/rss, polled every 15m.")


async def test_a_host_that_does_not_resolve_is_refused(running, config_file):
    async def resolve(host: str) -> list[str]:
        raise OSError("no such host")

    admin = Admin(lambda: running.config, reload=running.reload, resolve=resolve)
    before = config_file.read_bytes()
    assert await say(admin, "source add https://nowhere.example/rss") == messages.cannot_resolve("nowhere.example")
    assert config_file.read_bytes() == before


async def test_private_addresses_are_accepted_when_the_config_allows_them(tmp_path):
    path = tmp_path / "intelbot.yaml"
    path.write_text(CONFIG.replace("allow_private_networks: false", "allow_private_networks: true"), encoding="utf-8")
    running = Running(path)
    admin = Admin(lambda: running.config, reload=running.reload, resolve=no_dns)
    assert await say(admin, "source add http://127.0.0.1:8080/feed.xml") == saved(
        "Added source 127.0.0.1: http://127.0.0.1:8080/feed.xml, polled every 15m.")


async def test_an_admin_removes_a_source_and_the_comment_after_it_stays(admin, running, config_file):
    before = lines(config_file)
    reply = await say(admin, "source remove herald")

    assert reply == saved("Removed source Herald (https://herald.example.com/rss); its stories stay searchable.")
    herald = before.index("  - name: Herald")
    assert lines(config_file) == [*before[:herald], *before[herald + 3 :]]
    assert before[herald + 3 : herald + 5] == ["", "# Companies we follow."]
    assert [s.name for s in running.config.sources] == ["Wire"]


# --- the file ---------------------------------------------------------------------------------


async def test_a_hand_edit_since_loading_is_never_overwritten(admin, running, config_file):
    hand_edited = CONFIG.replace("[Initech Inc]", "[Initech Inc, Initech GmbH]")
    config_file.write_text(hand_edited, encoding="utf-8")

    assert await say(admin, "watch add Acme") == messages.CHANGED_ON_DISK
    assert config_file.read_text(encoding="utf-8") == hand_edited and running.reloads == 0

    await running.reload()  # what the file watcher does
    assert await say(admin, "watch add Acme") == saved("Added Acme to watchlist rivals.")
    assert "    aliases: [Initech Inc, Initech GmbH]" in lines(config_file)


async def test_a_hand_edit_of_comments_only_is_kept(admin, running, config_file):
    config_file.write_text(CONFIG.replace("# Asia", "# Asia and the Pacific"), encoding="utf-8")
    assert await say(admin, "watch add Acme") == saved("Added Acme to watchlist rivals.")
    assert "  # Asia and the Pacific" in lines(config_file)


async def test_a_file_with_errors_on_disk_is_not_touched(admin, config_file):
    broken = CONFIG.replace("every: 15m", "every: soon")
    config_file.write_text(broken, encoding="utf-8")
    reply = await say(admin, "watch add Acme")
    assert reply.startswith("The config file on disk has errors, so I did not change it. Fix them first:\n")
    assert f"{config_file}:10:12: sources[0].every: invalid duration 'soon'" in reply
    assert config_file.read_text(encoding="utf-8") == broken


async def test_the_file_is_replaced_atomically_keeping_its_permissions(admin, config_file, tmp_path):
    os.chmod(config_file, 0o640)
    inode = config_file.stat().st_ino
    await say(admin, "watch add Acme")
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o640
    assert config_file.stat().st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["intelbot.yaml"]  # no temporary file left


async def test_a_symlinked_config_stays_a_link_to_the_edited_file(tmp_path):
    target = tmp_path / "real.yaml"
    target.write_text(CONFIG, encoding="utf-8")
    link = tmp_path / "intelbot.yaml"
    link.symlink_to(target)
    running = Running(link)
    admin = Admin(lambda: running.config, reload=running.reload)
    assert await say(admin, "watch add Acme") == saved("Added Acme to watchlist rivals.")
    assert link.is_symlink() and "  - name: Acme" in lines(target)


async def test_edits_at_the_same_time_are_made_one_after_the_other(admin, running):
    replies = await asyncio.gather(*(say(admin, f"watch add Acme{n} to china") for n in range(4)))
    assert sorted(replies) == [saved(f"Added Acme{n} to watchlist china.") for n in range(4)]
    assert running.config.watchlists[1].companies == ("Hooli", "Acme0", "Acme1", "Acme2", "Acme3")


async def test_a_file_whose_layout_ruamel_cannot_keep_is_saved_with_a_note(tmp_path):
    path = tmp_path / "intelbot.yaml"
    path.write_text("sources: []\ncompanies:\n  - name: Globex\nwatchlists:\n- name: rivals\n"
                    "  companies: [Globex]\n", encoding="utf-8")
    running = Running(path)
    reply = await say(Admin(lambda: running.config, reload=running.reload), "watch add Acme", "console")
    assert reply == saved("Added Acme to watchlist rivals.") + "\n" + messages.reformatted(2)


def test_an_edit_that_would_lose_a_comment_is_caught():
    text = "companies:\n  - name: Globex\n    # the villain\n    aliases: [G]\n# Watchlists\nwatchlists: []\n"
    document = Document(YAML().load(text), parse_config(text, filename="x", base_dir=Path(".")), text)
    assert document.kept_comments(text)
    assert not document.kept_comments(text.replace("# Watchlists\n", ""))
    assert not document.kept_comments(text + "# new\n")
    document.delete(document.root["companies"], 0, "companies")
    assert document.kept_comments("companies: []\n# Watchlists\nwatchlists: []\n")  # its own comment may go


def test_a_change_in_the_last_moment_stops_the_rename(tmp_path):
    path = tmp_path / "intelbot.yaml"
    path.write_bytes(b"by hand\n")
    with pytest.raises(CommandError, match="changed on disk"):
        replace_file(path, expected=b"as read\n", data=b"from chat\n")
    assert path.read_bytes() == b"by hand\n" and [p.name for p in tmp_path.iterdir()] == ["intelbot.yaml"]


async def test_the_reload_hook_runs_once_per_saved_edit(admin, running):
    await say(admin, "watch add Acme")
    await say(admin, "watch add Acme")  # nothing to change
    await say(admin, "watch remove Acme", "slack:U0BOB")  # refused
    await say(admin, "source add http://93.184.216.34/feed.xml")
    await say(admin, "source remove 93.184.216.34")
    assert running.reloads == 3


async def test_without_a_reload_hook_edits_still_follow_one_another(running, config_file):
    admin = Admin(lambda: running.config)
    assert await say(admin, "watch add Acme") == (
        "Added Acme to watchlist rivals. Config saved, but it takes effect when intelbot loads it again.")
    # The running config is the old one, but the file is what the last edit wrote: no refusal.
    assert (await say(admin, 'watch add Acme "Acme Ltd"')).startswith("Added alias Acme Ltd to Acme.")


async def test_a_reload_that_does_not_apply_is_reported(running, config_file):
    async def reload() -> str:
        return "Did not reload intelbot.yaml: it has errors, so the running configuration stays."

    admin = Admin(lambda: running.config, reload=reload)
    assert await say(admin, "watch add Acme") == (
        "Added Acme to watchlist rivals. Config saved, but the running configuration did not change yet: "
        "Did not reload intelbot.yaml: it has errors, so the running configuration stays.")


async def test_the_built_in_config_cannot_be_edited(tmp_path):
    config = load_default_config(tmp_path)
    admin = Admin(lambda: config)
    assert await say(admin, "watch add Acme", "console") == messages.BUILT_IN_CONFIG
    assert (await say(admin, "watch list")).startswith("3 watchlists:\n• big-tech → console (only stories about them)")


async def test_a_block_style_file_gets_block_style_entries(tmp_path):
    text = ("sources:\n"
            "- name: Wire\n"
            "  url: https://wire.example.com/feed.xml\n"
            "companies:\n"
            "- name: Globex\n"
            "  aliases:\n"
            "  - Globex Corp   # the usual spelling\n"
            "# Watchlists\n"
            "watchlists:\n"
            "- name: rivals\n"
            "  companies:\n"
            "  - Globex\n"
            "  channels: [console]\n"
            "chat:\n"
            "    slack:\n"
            "        mode: socket\n")
    assert indentation(text) == (4, 2, 0)
    path = tmp_path / "intelbot.yaml"
    path.write_text(text.replace("\n", "\r\n"), encoding="utf-8")
    running = Running(path)
    admin = Admin(lambda: running.config, reload=running.reload)

    assert await say(admin, 'watch add Acme "Acme Ltd"', "console") == saved(
        "Added Acme (alias Acme Ltd) to watchlist rivals.")
    data = path.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n")  # the file's line endings
    before = text.splitlines()
    assert data.decode().splitlines() == [*before[:7], "- name: Acme", "  aliases:", "  - Acme Ltd", *before[7:12],
                                          "  - Acme", *before[12:]]
    assert (await say(admin, "source add http://93.184.216.34/feed.xml", "console")).startswith("Added source")
    assert data.decode().splitlines()[:3] == lines(path)[:3]
    assert lines(path)[3:5] == ["- name: 93.184.216.34", "  url: http://93.184.216.34/feed.xml"]  # no `every:` there


@pytest.mark.parametrize(("text", "words"), [
    ('watch add "Globex Corp" Globex to rivals', ["watch", "add", "Globex Corp", "Globex", "to", "rivals"]),
    ("watch add “Globex  Corp” 环球", ["watch", "add", "Globex Corp", "环球"]),  # smart quotes, as Slack types them
    ("watch add O'Neil 5\"", ["watch", "add", "O'Neil", '5"']),
    ('watch remove "Globex Corp', ["watch", "remove", "Globex Corp"]),
])
def test_words_in_quotes_stay_together(text, words):
    assert split_words(text) == words


async def test_usage_is_shown_for_anything_else(admin, config_file):
    assert await say(admin, "watch") == messages.admin_usage()
    assert await say(admin, "source list") == messages.admin_usage()
    assert (await say(admin, "source add feed.xml")).startswith(messages.SOURCE_ADD_USAGE)
    assert (await say(admin, "watch add")).startswith("Which company?")
    assert config_file.read_text(encoding="utf-8") == CONFIG


# --- through /intel and the adapters ----------------------------------------------------------


def commands_for(store: Store, running: Running, admin: Admin | None) -> Commands:
    return Commands(store, CompanyIndex(company_names(running.config)), clock=lambda: NOW, admin=admin)


async def test_without_an_admin_the_commands_say_editing_is_not_enabled(running, tmp_path):
    with Store(tmp_path / "intel.db") as store:
        reply = await commands_for(store, running, None).handle(Command("watch add Acme", "console"))
    assert reply.text == messages.EDITING_NOT_ENABLED


async def test_an_edit_typed_on_the_console(admin, running, config_file, tmp_path):
    out = io.StringIO()
    typed = io.StringIO('/intel watch add "Acme Robotics" Acme to china\n/intel watch list\n')
    with Store(tmp_path / "intel.db") as store:
        await ConsoleAdapter(out, color=False).read_commands(commands_for(store, running, admin).handle, typed)

    printed = out.getvalue()
    assert "Added Acme Robotics (alias Acme) to watchlist china. Config saved; reloaded." in printed
    assert "  companies: Hooli, Acme Robotics" in printed
    assert "  - name: Acme Robotics" in lines(config_file) and running.reloads == 1


async def test_edits_over_slack_for_an_admin_and_a_refusal_for_others(slack, admin, running, config_file, tmp_path):  # noqa: F811
    before = config_file.read_bytes()
    with Store(tmp_path / "intel.db") as store:
        adapter = adapter_for(slack, commands_for(store, running, admin).handle)
        await adapter.start()
        try:
            await asyncio.wait_for(slack.send("slash_commands", slack.slash_command(
                "watch remove Initech from rivals", user="U0BOB")), 5)
            refused = await slack.next_response()
            unchanged = config_file.read_bytes()
            await asyncio.wait_for(slack.send("slash_commands", slack.slash_command(
                "watch add “Acme Robotics” Acme to china", user="U0ALICE")), 5)
            answer = await slack.next_response()
        finally:
            await adapter.stop()

    assert refused["response_type"] == "ephemeral" and unchanged == before
    assert refused["text"] == messages.not_an_admin("slack:U0BOB")
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == "Added Acme Robotics (alias Acme) to watchlist china. Config saved; reloaded."
    assert "    companies: [Hooli, Acme Robotics]   # just one for now" in lines(config_file)
    assert running.reloads == 1
