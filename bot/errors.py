"""The one exception tree of intelbot.

    IntelbotError                 anything intelbot raises on purpose
    ├── ConfigError               the YAML is invalid; `.problems` lists every problem found
    ├── FetchError                one HTTP request failed (status, timeout, size, refused address)
    │   └── RefusedAddressError   the host resolves to a private/loopback/link-local address
    ├── FeedError                 a document that claims to be a feed cannot be read as one
    ├── ExtractError              a page could not be turned into an article
    ├── StoreError                the database cannot be opened or migrated
    ├── DeliveryError             a chat platform did not take an alert; `.permanent` says if retrying helps
    └── CommandError              a chat command cannot be answered; the message is for the user

Catch at the boundaries: the CLI prints the message and exits 2 for `ConfigError`; a scheduled
poll records a `FetchError` against its source and goes on with the other sources; an adapter
turns a `CommandError` into a friendly reply. Messages never contain secrets.
"""

from __future__ import annotations

from dataclasses import dataclass


class IntelbotError(Exception):
    """Base of every error intelbot raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a config file, located as precisely as the YAML allows."""

    file: str
    line: int | None  # 1-based
    column: int | None  # 1-based
    path: str  # key path such as "watchlists[0].companies[1]"; "" for the whole document
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        key = f" {self.path}:" if self.path else ""
        return f"{where}:{key} {self.message}"


class ConfigError(IntelbotError):
    """The config is invalid. `str()` lists one problem per line, `file:line:col key: message`."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class FetchError(IntelbotError):
    """One HTTP request failed; the message says why in words a user understands."""

    def __init__(self, url: str, reason: str, *, status: int | None = None, retry_after: float | None = None):
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait (Retry-After), if it did
        super().__init__(f"{reason} ({url})")


class RefusedAddressError(FetchError):
    """The URL's host resolves to an address that `fetch.allow_private_networks` does not allow."""


class FeedError(IntelbotError):
    """A document that looks like a feed (RSS/Atom/RDF/JSON Feed) cannot be read as one."""


class ExtractError(IntelbotError):
    """A fetched page could not be turned into article text."""


class StoreError(IntelbotError):
    """The database could not be opened, migrated or written."""


class DeliveryError(IntelbotError):
    """A chat platform did not accept a message. Permanent errors (channel gone, no access) stop retries."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None):
        self.permanent = permanent
        self.retry_after = retry_after
        super().__init__(reason)


class CommandError(IntelbotError):
    """A chat or CLI command cannot be answered; the message is meant for the person who asked."""
