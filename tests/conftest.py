"""Shared fixtures: no proxies, and a real news site on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.support import PROXY_VARIABLES, NewsSite, loopback_server


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback servers must be reached directly, whatever the machine's proxy settings."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def news_site():
    site = NewsSite()
    async with loopback_server(site.handle) as site.base:
        yield site
