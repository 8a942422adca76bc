"""Decide which channels hear about an article: pure functions of watchlists and mentions.

A watchlist matches when the article mentions at least one of its companies (with
`require: about`, is about one of them, not naming it in passing) and, if the watchlist lists
keywords, contains at least one of them. Each matching watchlist sends the
article to each of its channels; a channel reached by two watchlists gets one alert, not two.

The watchlist's `mode` decides the tier: `realtime` posts at once, `digest` collects the story
for the watchlist's digest, `both` posts stories about a company at once and collects passing
mentions. Pings (user groups, roles) go only with realtime stories about a company.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.matcher import MatchResult, PhraseMatcher
from bot.models import Article, Route


@dataclass(frozen=True)
class Watchlist:
    """A watchlist as routing needs it (built from config by `compile_watchlists`)."""

    name: str
    companies: frozenset[str]
    channels: tuple[str, ...]
    keywords: PhraseMatcher | None  # None when the watchlist has no keywords
    require: str = "mention"  # "about": only stories about one of the companies
    mode: str = "realtime"  # "digest" | "both"
    ping: tuple[str, ...] = ()


def compile_watchlists(watchlists: Sequence[object]) -> tuple[Watchlist, ...]:
    """Compile config watchlists (objects with name, companies, keywords, channels) once."""
    return tuple(
        Watchlist(
            name=w.name,  # type: ignore[attr-defined]
            companies=frozenset(w.companies),  # type: ignore[attr-defined]
            channels=tuple(dict.fromkeys(w.channels)),  # type: ignore[attr-defined]
            keywords=PhraseMatcher((k, k) for k in w.keywords) if w.keywords else None,  # type: ignore[attr-defined]
            require=getattr(w, "require", "mention"),
            mode=getattr(w, "mode", "realtime"),
            ping=tuple(getattr(w, "ping", ())),
        )
        for w in watchlists
    )


def route(article: Article, match: MatchResult, watchlists: Sequence[Watchlist]) -> list[Route]:
    """One Route per channel that should hear about `article`, in watchlist order.

    Each route lists the watchlist's companies found in the article, most salient first.
    """
    ranked = tuple(c.company for c in match.companies)
    about = {c.company for c in match.companies if c.about}
    routes: dict[str, Route] = {}
    for watchlist in watchlists:
        named = tuple(
            c for c in ranked if c in watchlist.companies and (watchlist.require != "about" or c in about)
        )
        if not named or not _has_keyword(article, watchlist):
            continue
        is_about = any(c in about for c in named)
        realtime = watchlist.mode == "realtime" or (watchlist.mode == "both" and is_about)
        tier = "realtime" if realtime else "digest"
        ping = watchlist.ping if realtime and is_about else ()
        for channel in watchlist.channels:
            earlier = routes.get(channel)
            if earlier is None:
                routes[channel] = Route(watchlist.name, channel, named, tier, ping)
            else:
                # One alert per channel: realtime wins over digest, and its watchlist names it.
                merged = tuple(c for c in ranked if c in set(earlier.companies) | set(named))
                lead = earlier if earlier.tier == "realtime" or tier == "digest" else Route(watchlist.name, channel, ())
                routes[channel] = Route(lead.watchlist, channel, merged,
                                        "realtime" if "realtime" in (earlier.tier, tier) else "digest",
                                        tuple(dict.fromkeys(earlier.ping + ping)))
    return list(routes.values())


def _has_keyword(article: Article, watchlist: Watchlist) -> bool:
    if watchlist.keywords is None:
        return True
    return bool(watchlist.keywords.find(article.title) or watchlist.keywords.find(article.text))


def is_announceable(published: datetime, *, first_poll: bool, backlog: timedelta, now: datetime) -> bool:
    """On a source's first poll, only entries published within `backlog` of now are announced.

    Later polls announce every new entry: a source that publishes an old-dated entry after
    we started following it is still news to us.
    """
    return not first_poll or published >= now - backlog
