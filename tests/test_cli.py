"""The `intelbot` command as a user runs it: a real process, real output, real exit codes."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import signal
import sys
from pathlib import Path

from bot import cli
from tests.support import article_page, hours_ago, rss

INTELBOT = shutil.which("intelbot", path=str(Path(sys.executable).parent)) or "intelbot"

CONFIG = """\
storage:
  path: intel.db
fetch:
  allow_private_networks: true
  host_delay: 0s
sources:
  - name: Wire
    url: {feed}
companies:
  - name: Globex
    aliases: [Globex Corp]
  - name: Northwind
    aliases: [北风机器人]
watchlists:
  - name: rivals
    companies: [Globex, Northwind]
alerts:
  backlog: 2d
"""


async def intelbot(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the installed `intelbot` command without blocking the test's event loop.

    The environment is the test's, without proxies or Slack/Discord tokens, plus `env`.
    """
    env = {k: v for k, v in os.environ.items()
           if "proxy" not in k.lower() and not k.startswith(("SLACK_", "DISCORD_"))} | (env or {})
    process = await asyncio.create_subprocess_exec(
        INTELBOT, *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, out.decode(), err.decode()


def write_feed(news_site) -> str:
    page = news_site.put("/globex.html", article_page(
        "Globex opens a factory in Poland",
        ["Globex Corp said it will open its first European factory near Wrocław.",
         "The plant will make batteries and employ 400 people by next year."],
    ))
    cn = news_site.put("/beifeng.html", article_page(
        "北风机器人进入欧洲市场",
        ["北风机器人周一宣布，将在柏林设立欧洲总部。", "公司计划明年在德国招聘一百名工程师。"], lang="zh",
    ))
    return news_site.put("/feed.xml", rss([
        {"title": "Globex opens a factory in Poland", "link": page, "published": hours_ago(2)},
        {"title": "北风机器人进入欧洲市场", "link": cn, "published": hours_ago(1)},
    ]), "application/rss+xml")


async def test_poll_json_then_search_json(news_site, tmp_path):
    (tmp_path / "intelbot.yaml").write_text(CONFIG.format(feed=write_feed(news_site)), encoding="utf-8")

    code, out, err = await intelbot("poll", "--once", "--json", cwd=tmp_path)
    assert code == 0, err
    alerts = [json.loads(line) for line in out.splitlines()]
    assert [(a["companies"], a["title"]) for a in alerts] == [
        (["Globex"], "Globex opens a factory in Poland"),
        (["Northwind"], "北风机器人进入欧洲市场"),
    ]
    assert "polled 1 sources: 2 new stories, 2 alerts posted" in err

    code, out, err = await intelbot("search", "globex", "factory", "--json", cwd=tmp_path)
    assert code == 0, err
    answer = json.loads(out)
    assert answer["query"] == "globex factory"
    assert [r["title"] for r in answer["results"]] == ["Globex opens a factory in Poland"]
    assert set(answer["results"][0]) == {"title", "url", "source", "published", "companies", "snippet"}

    code, out, err = await intelbot("search", "北风机器人", cwd=tmp_path)
    assert code == 0 and "北风机器人进入欧洲市场" in out

    # A second poll in a new process repeats nothing.
    code, out, err = await intelbot("poll", "--once", "--json", cwd=tmp_path)
    assert code == 0 and out == ""


async def test_poll_once_shows_progress_on_a_terminal(news_site, tmp_path, monkeypatch):
    gone = news_site.url("/gone.xml")  # answers 404
    config = CONFIG.format(feed=write_feed(news_site)).replace(
        "sources:\n", f"sources:\n  - name: Gone\n    url: {gone}\n")
    (tmp_path / "intelbot.yaml").write_text(config, encoding="utf-8")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    code = await asyncio.to_thread(cli.main, ["poll", "--once", "--config", str(tmp_path / "intelbot.yaml")])
    assert code == 1  # a source failed
    shown = terminal.getvalue()
    # The last progress line counts everything, then is erased before the summary.
    assert "\r\033[Kpolling: 2 of 2 sources done, 2 new stories, 1 error\r\033[K" in shown
    assert "polled 2 sources: 2 new stories" in shown and "Gone: HTTP 404" in shown


async def test_poll_once_prints_no_progress_when_not_on_a_terminal(news_site, tmp_path):
    (tmp_path / "intelbot.yaml").write_text(CONFIG.format(feed=write_feed(news_site)), encoding="utf-8")
    code, out, err = await intelbot("poll", "--once", cwd=tmp_path)
    assert code == 0 and "polling:" not in err and "\r" not in err


async def test_match_json_on_a_local_file(tmp_path):
    page = tmp_path / "story.html"
    page.write_text(article_page("Northwind and Globex team up",
                                 ["Northwind said Globex Corp will supply motors.", "北风机器人 confirmed it."]),
                    encoding="utf-8")
    (tmp_path / "intelbot.yaml").write_text(CONFIG.format(feed="https://example.com/feed"), encoding="utf-8")
    code, out, err = await intelbot("match", str(page), "--json", cwd=tmp_path)
    assert code == 0, err
    result = json.loads(out)
    assert result["input"] == str(page)
    assert result["title"] == "Northwind and Globex team up"
    assert {c["name"]: c["mentions"] for c in result["companies"]} == {"Globex": 2, "Northwind": 3}
    assert {"company": "Globex", "alias": "Globex Corp", "field": "text"}.items() <= next(
        m for m in result["mentions"] if m["alias"] == "Globex Corp").items()
    assert {c["name"]: c["about"] for c in result["companies"]} == {"Globex": True, "Northwind": True}
    assert all(isinstance(c["score"], float) and c["score"] > 0 for c in result["companies"])
    assert not (tmp_path / "intel.db").exists()  # match stores nothing


async def test_match_explain_shows_kept_and_dropped_names(tmp_path):
    page = tmp_path / "story.html"
    page.write_text(article_page("Markets today", [
        "Globex said it would open a plant in Poland this year.",
        "Details are at https://globex.example.com/news for investors.",
    ]), encoding="utf-8")
    (tmp_path / "intelbot.yaml").write_text(CONFIG.format(feed="https://example.com/feed"), encoding="utf-8")
    code, out, err = await intelbot("match", "--explain", str(page), cwd=tmp_path)
    assert code == 0, err
    assert "• Globex (about, score" in out
    assert "+ text" in out and "'Globex' kept: a name of Globex" in out
    assert "- text" in out and "dropped: part of a link or domain" in out


async def test_check_reports_errors_with_line_and_column(tmp_path):
    broken = CONFIG.format(feed="https://example.com/feed").replace(
        "companies: [Globex, Northwind]", "companies: [Globex, Nortwind]")
    (tmp_path / "bad.yaml").write_text(broken, encoding="utf-8")
    code, out, err = await intelbot("check", "--config", "bad.yaml", cwd=tmp_path)
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "Nortwind" in text)
    column = broken.splitlines()[line - 1].index("Nortwind") + 1
    assert code == 2
    assert f"bad.yaml:{line}:{column}: watchlists[0].companies[1]: unknown company 'Nortwind'" in err
    assert "did you mean 'Northwind'?" in err


async def test_check_summarises_a_good_config(tmp_path):
    (tmp_path / "intelbot.yaml").write_text(CONFIG.format(feed="https://example.com/feed"), encoding="utf-8")
    code, out, err = await intelbot("check", cwd=tmp_path)
    assert code == 0, err
    assert "sources:    1" in out and "companies:  2 (4 names and aliases)" in out


async def test_check_on_embedded_defaults(tmp_path):
    code, out, err = await intelbot("check", cwd=tmp_path)
    assert code == 0, err
    assert "embedded defaults: OK" in out


# From bot/data/demo/README.md: the stories that name a tracked company in their text, and
# those that do not (one names a company only in its "Related stories" sidebar).
DEMO_ALERTED = [
    "lumenfold-series-c", "brindlewave-tessaline-voice-payments", "brindlewave-new-ceo",
    "datacenter-power-demand", "corvantis-european-expansion", "tessaline-fined-card-data",
    "ottermile-layoffs", "jadepeak-warehouse-robot", "waveguide-suppliers",
]
DEMO_SILENT = ["container-freight-rates", "battery-recycling-rules"]


async def test_demo_end_to_end(tmp_path):
    code, out, err = await intelbot("demo", cwd=tmp_path)
    assert code == 0, out + err
    alerts, lookup = out.split("Sample lookup: /intel corvantis expansion")
    for slug in DEMO_ALERTED:
        assert alerts.count(f"/articles/{slug}.html") == 1, slug
    for slug in DEMO_SILENT:
        assert f"/articles/{slug}.html" not in out
    assert "Stored 11 stories from 3 sources; 9 alerts posted above." in alerts
    assert "[Jadepeak Robotics] 玉峰机器人发布新一代仓储机器人" in alerts
    assert "[Brindlewave, Tessaline Payments]" in alerts
    assert "why: Brindlewave: 'Brindlewave' in the title" in alerts
    assert "/articles/corvantis-european-expansion.html" in lookup
    assert "skipped feed entry 2: no link and no title" in err  # the broken item is reported, not fatal
    assert not list(tmp_path.iterdir())  # the demo leaves nothing behind


async def test_run_polls_on_schedule_and_stops_cleanly_on_ctrl_c(news_site, tmp_path):
    (tmp_path / "intelbot.yaml").write_text(CONFIG.format(feed=write_feed(news_site)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    process = await asyncio.create_subprocess_exec(
        INTELBOT, "run", cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        seen = ""
        while "北风机器人进入欧洲市场" not in seen:  # the second alert: both were delivered
            line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            assert line, "intelbot run exited before alerting"
            seen += line.decode()
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0, err.decode()
    assert "[Globex] Globex opens a factory in Poland" in seen
    assert "intelbot stopped." in err.decode()
    # The database is consistent after the stop: a one-off poll finds nothing new to say.
    code, out, err = await intelbot("poll", "--once", "--json", cwd=tmp_path)
    assert code == 0 and out == "", err
