"""Which publication a measured run comes from: the unit of leave-one-source-out and of the evidence rule (a
family's fit needs rows of at least two publications)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["publication"]

_ARXIV = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?", re.IGNORECASE)
_GITHUB = re.compile(
    r"(?:github\.com/([^/\s]+)/([^/\s]+)(?:/(?:blob|tree|raw|commit)/([0-9a-f]{7,40}))?"
    r"|raw\.githubusercontent\.com/([^/\s]+)/([^/\s]+)/([0-9a-f]{7,40}))",
    re.IGNORECASE,
)


def publication(source: str) -> str:
    """The publication a row's ``source`` cites first: rows of one publication form one LOSO fold.

    The rule: the first word of the source (the primary citation; later URLs are supporting copies) is read as
    an arXiv paper (``arXiv:2104.04473``; ``abs`` and ``pdf`` links and versions are one paper), a GitHub
    repository (``github:owner/repo``; every file at every commit is one publication: the MLPerf Inference v4.1
    results of all submitters, or a framework's benchmark tables as they were updated, share their setup, so
    leaving out one commit while fitting on another would leak), or else any other URL without its query and
    fragment.
    A source that does not start with a URL is taken whole.
    """
    text = source.strip()
    first = text.split()[0] if text else ""
    if arxiv := _ARXIV.search(first):
        return f"arXiv:{arxiv.group(1)}"
    if github := _GITHUB.search(first):
        owner, repo = github.group(1, 2) if github.group(1) else github.group(4, 5)
        return f"github:{owner}/{repo.removesuffix('.git')}".lower()
    if "://" in first:
        url = urlsplit(first)
        return f"{url.netloc}{url.path}".rstrip("/").lower()
    return text or "(no source)"
