"""Shared fixtures: no proxies, and a real news site on 127.0.0.1."""

from __future__ import annotations

import pytest
from aiohttp import web

from tests.support import PROXY_VARIABLES, NewsSite


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback servers must be reached directly, whatever the machine's proxy settings."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def news_site():
    site = NewsSite()
    app = web.Application()
    app.router.add_get("/{tail:.*}", site.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    site.base = f"http://127.0.0.1:{tcp._server.sockets[0].getsockname()[1]}"
    yield site
    await runner.cleanup()
