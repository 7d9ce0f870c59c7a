"""nbgitpuller links: one click on a JupyterHub gives a student the course and opens a lecture.

nbgitpuller (installed in the hub's user image) serves ``/hub/user-redirect/git-pull``: it clones
the repository into the user's home on the first click, merges new commits on later clicks
without overwriting the student's edits, then opens ``urlpath``. ``make links HUB=... REPO=...
BRANCH=...`` prints one link per lecture and exercise. Point ``REPO`` at the repository that
holds the *student release* (``make release``, docs/deploy.md), not at the course's own.

Every link names the folder to clone into (nbgitpuller's ``targetpath``) and opens a notebook in
that same folder: without it nbgitpuller picks the folder itself (for ``.../course.git`` it
clones into ``course.git``), and a link that guessed ``course`` opened a missing file.

Examples
--------
>>> gitpuller_link("https://hub.example.edu", "https://github.com/acme/init-course",
...                "main", "notebooks/03_lecun.ipynb")  # doctest: +NORMALIZE_WHITESPACE
'https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Facme%2Finit-course&branch=main&targetpath=init-course&urlpath=lab%2Ftree%2Finit-course%2Fnotebooks%2F03_lecun.ipynb'
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

__all__ = ["course_notebooks", "gitpuller_link", "main", "repo_folder"]


def repo_folder(repo: str) -> str:
    """The folder nbgitpuller clones ``repo`` into: the last path part, without ``.git``."""
    path = urlsplit(repo).path.rstrip("/")
    name = path.rsplit("/", 1)[-1]
    if name.endswith(".git"):
        name = name[:-4]
    if not name:
        raise ValueError(
            f"repo must be a repository URL such as https://github.com/o/r, got {repo!r}"
        )
    return name


def gitpuller_link(
    hub: str,
    repo: str,
    branch: str,
    notebook: str,
    *,
    interface: str = "lab",
    targetpath: str | None = None,
) -> str:
    """The nbgitpuller link that clones ``repo`` at ``branch`` into the folder ``targetpath`` of
    the student's home (default :func:`repo_folder`: the repository's name without ``.git``) and
    opens ``notebook`` (a path inside the repository) there, in JupyterLab (``interface="lab"``)
    or the classic tree (``"tree"``).

    Raises
    ------
    ValueError
        ``hub`` or ``repo`` is not an http(s) URL, ``branch`` or ``notebook`` is empty,
        ``interface`` is not ``"lab"`` or ``"tree"``, or ``targetpath`` is not a plain relative
        folder name.
    """
    for name, url in (("hub", hub), ("repo", repo)):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{name} must be an http(s) URL, got {url!r}")
    if not branch:
        raise ValueError("branch must be a non-empty branch name")
    if not notebook or notebook.startswith("/"):
        raise ValueError(f"notebook must be a path inside the repository, got {notebook!r}")
    if interface not in ("lab", "tree"):
        raise ValueError(f"interface must be 'lab' or 'tree', got {interface!r}")
    folder = repo_folder(repo) if targetpath is None else targetpath
    parts = folder.split("/")
    if not folder or folder.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(
            f"targetpath must be a relative folder such as 'init-course', got {targetpath!r}"
        )
    target = f"{folder}/{notebook}"
    urlpath = f"lab/tree/{target}" if interface == "lab" else f"tree/{target}"
    query = urlencode(
        {"repo": repo, "branch": branch, "targetpath": folder, "urlpath": urlpath},
        quote_via=quote,
        safe="",
    )
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def course_notebooks(root: str | os.PathLike = ".") -> list[str]:
    """The lectures and student exercises of the course at ``root``, as repository paths.

    Raises
    ------
    ValueError
        ``root`` has no ``notebooks/*.ipynb``.
    """
    base = Path(root)
    found = [
        p.relative_to(base).as_posix()
        for folder in ("notebooks", "exercises")
        for p in sorted((base / folder).glob("*.ipynb"))
    ]
    if not any(p.startswith("notebooks/") for p in found):
        raise ValueError(f"root must be the course folder; no notebooks/*.ipynb under {base}")
    return found


def main(argv: list[str] | None = None) -> int:
    """``python -m course_utils.links --hub URL --repo URL [--branch main] [--root .]``."""
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.links",
        description="Print an nbgitpuller link per lecture and exercise (for a JupyterHub).",
    )
    parser.add_argument("--hub", required=True, help="the hub's URL, e.g. https://hub.example.edu")
    parser.add_argument("--repo", required=True, help="the course repository's clone URL")
    parser.add_argument("--branch", default="main", help="branch to pull (default main)")
    parser.add_argument("--root", default=".", help="the course folder (default: current folder)")
    parser.add_argument("--interface", default="lab", choices=("lab", "tree"))
    parser.add_argument(
        "--targetpath",
        default=None,
        help="folder in the student's home to clone into (default: the repository's name)",
    )
    args = parser.parse_args(argv)
    try:
        paths = course_notebooks(args.root)
        links = [
            gitpuller_link(
                args.hub,
                args.repo,
                args.branch,
                p,
                interface=args.interface,
                targetpath=args.targetpath,
            )  # fmt: skip
            for p in paths
        ]
    except ValueError as err:
        parser.error(str(err))
    for path, link in zip(paths, links, strict=True):
        print(f"{path}\t{link}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
