"""Joining a team repo: `clone URL [PATH]` and `init [PATH] --remote URL`.

Both leave the user config's `repo =` pointing at the joined repo, so every later
command finds it from anywhere.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from incidentctl.errors import IncidentctlError, RepoError, UsageError
from incidentctl.services.sync import Progress, SyncResult, _quiet
from incidentctl.store.locate import CONFIG_NAME, enclosing_work_tree

if TYPE_CHECKING:
    from incidentctl.services.workspace import Workspace
    from incidentctl.store.git import Git


@dataclass
class JoinResult:
    root: Path
    url: str
    remote: str
    how: str  # "cloned": took the team's repo; "published": pushed a new one; "joined": synced
    user_config: Path
    synced: SyncResult | None = None
    notes: list[str] = field(default_factory=list)  # what the user should know (warnings)

    def to_dict(self) -> dict:
        return {
            "repo": str(self.root),
            "url": self.url,
            "remote": self.remote,
            "how": self.how,
            "user_config": str(self.user_config),
            "sync": self.synced.to_dict() if self.synced else None,
            "notes": list(self.notes),
        }


_URL_HINT = (
    "give the team repo's URL (git@github.com:team/incidents.git, "
    "https://host/team/incidents.git) or the path of a bare repo"
)


def _check_url(url: str) -> str:
    """A git URL, an scp-like `host:path`, or a path. Anything else (blank, an option,
    control characters, spaces in what is no existing folder, a malformed scheme) is a
    usage error: git would only fail on it later, less clearly."""
    import re

    url = url.strip()
    bad = (
        not url
        or url.startswith("-")
        or any(ord(c) < 32 or c == "\x7f" for c in url)
        or ("://" in url and not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*://\S+", url))
        or (re.search(r"\s", url) is not None and not Path(url).expanduser().exists())
    )
    if bad:
        raise UsageError(f"not a git URL: {url!r}", hint=_URL_HINT)
    return url


def _default_timeout() -> float:
    import tomllib

    from incidentctl.domain.policy import build_config, merge_with_defaults
    from incidentctl.store.config import default_config_text

    config = build_config(merge_with_defaults(tomllib.loads(default_config_text()), {}))
    return config.sync.timeout.total_seconds()


def folder_name_for(url: str) -> str:
    """The folder `git clone` would pick: the URL's last part without `.git`."""
    tail = url.rstrip("/").replace("\\", "/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    tail = tail.removesuffix(".git")
    return tail or "incidents"


def _empty_or_missing(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def clone_repo(url: str, path: Path | None, progress: Progress = _quiet) -> JoinResult:
    from incidentctl.store import sparse
    from incidentctl.store.remote import clone
    from incidentctl.store.userconfig import check_user_config, point_user_config_at

    url = _check_url(url)
    check_user_config()
    target = (path if path is not None else Path(folder_name_for(url))).expanduser().resolve()
    if not _empty_or_missing(target):
        raise RepoError(
            f"{target} already exists and is not an empty folder",
            hint="clone into a new folder: incidentctl clone URL PATH",
        )
    existed = target.exists()
    progress(f"cloning {url} into {target}")
    as_sparse = sparse.default_mode() == "sparse"
    clone(url, target, "origin", timeout=None, sparse=as_sparse)
    try:
        branch, branches = _team_branch(target)
        if branch is None:
            if not branches:
                raise RepoError(
                    f"{url} is an empty repository",
                    hint=f"publish a new team repo there: incidentctl init PATH --remote {url}",
                )
            raise RepoError(
                f"{url} is not an incident repo (no {CONFIG_NAME} on any branch: "
                f"{', '.join(branches)})",
                hint=f"to make it one: incidentctl init PATH --remote {url}",
            )
        if as_sparse:
            _check_out_sparse(target, branch)
        else:
            _check_out(target, branch)
    except BaseException:
        _undo_clone(target, existed)
        raise
    progress("writing git's commit-graph (for log and pir generate)")
    graph_note = _write_commit_graph(target)
    remote = _name_remote_as_configured(target)
    config_path = point_user_config_at(target)
    result = JoinResult(target, url, remote, "cloned", config_path)
    if graph_note:
        result.notes.append(graph_note)
    return result


def _write_commit_graph(root: Path) -> str:
    """The commit-graph with changed-path filters for the history the clone fetched
    (store/commitgraph.py): 15 s once at 180,000 commits, then git keeps it. A clone
    without one still works, only its history reads are slower: `doctor --fix` writes
    it later."""
    from incidentctl.errors import GitError
    from incidentctl.store import commitgraph
    from incidentctl.store.git import Git

    try:
        commitgraph.write(Git(root))
    except GitError as exc:
        return f"could not write git's commit-graph ({exc.message}); doctor --fix writes it"
    return ""


def _team_branch(root: Path) -> tuple[str | None, list[str]]:
    """(the branch of a fresh clone that holds incidentctl.toml, every branch it has).
    Looked for on the remote's HEAD, then on the default branch (git's
    init.defaultBranch, else main), then on the only branch: a plain `git init --bare`
    points HEAD at master while the team pushed main."""
    from incidentctl.store.git import Git

    git = Git(root)
    prefix = "refs/remotes/origin/"
    refs = git.run_quiet("for-each-ref", "--format=%(refname)", prefix).split()
    branches = sorted(r.removeprefix(prefix) for r in refs if r != prefix + "HEAD")
    head = git.run_quiet("symbolic-ref", "-q", prefix + "HEAD").strip().removeprefix(prefix)
    default = git.run_quiet("config", "--get", "init.defaultBranch").strip() or "main"
    candidates = [head, default] + (branches if len(branches) == 1 else [])
    for name in candidates:
        if name in branches and git.call("cat-file", "-e", f"{prefix}{name}:{CONFIG_NAME}").ok:
            return name, branches
    return None, branches


def _check_out_sparse(root: Path, branch: str) -> None:
    """Check out `branch` of a clone that checked nothing out (`--no-checkout`) as a
    sparse work tree: a cone of the repo's own folders with a sparse index first, so
    that no step writes (or expands to) an index of every event file; then the open and
    recent incidents' folders, chosen from their states (a cold read of every incident,
    which fills the state cache). Then the repo is read once more, so the cache notes
    the folders now on disk: the first command after the clone makes a warm read."""
    import gc

    from incidentctl.store import sparse
    from incidentctl.store.git import Git
    from incidentctl.store.repo import IncidentRepo

    sparse.start(Git(root))
    _check_out(root, branch, fresh=True)
    _set_cone(root)
    gc.collect()  # what the cold read left in cycles, before the next read
    IncidentRepo(root).load_all()


def _set_cone(root: Path) -> None:
    from incidentctl.store import sparse
    from incidentctl.store.repo import IncidentRepo

    repo = IncidentRepo(root)
    sparse.refresh(repo, sparse.checkout_window(repo), sparse.clock())


def _check_out(root: Path, branch: str, *, fresh: bool = False) -> None:
    """Check out `branch` (tracking origin's) if the clone is on another, and drop the
    branch the clone made for the remote's HEAD: it is not the team's. `fresh`: the
    clone checked nothing out (`--no-checkout`), so check out `branch` even if it is the
    clone's."""
    from incidentctl.store.git import Git

    git = Git(root)
    current = git.run_quiet("symbolic-ref", "-q", "--short", "HEAD").strip()
    if current == branch:
        if fresh:
            git.run("checkout", "-q", branch)
        return
    git.run("checkout", "-q", "-B", branch, "--track", f"origin/{branch}")
    if current and git.call("rev-parse", "-q", "--verify", f"refs/heads/{current}").ok:
        git.run("branch", "-q", "-D", current)


def _undo_clone(target: Path, existed: bool) -> None:
    shutil.rmtree(target, ignore_errors=True)
    if existed:
        target.mkdir(exist_ok=True)


def _name_remote_as_configured(root: Path) -> str:
    """`clone` calls the remote `origin`; a team config may sync with another name."""
    from incidentctl.services.workspace import load_config
    from incidentctl.store.git import Git

    name = load_config(root / CONFIG_NAME).sync.remote
    if name != "origin":
        Git(root).run("remote", "rename", "origin", name)
    return name


def init_with_remote(
    path: Path, example: str | None, url: str, progress: Progress = _quiet
) -> JoinResult:
    """Join the team at `url` from `path`:

    - the remote is empty: create (or reuse) the incident repo at `path` and push it;
    - the remote holds the team's repo and `path` is new or empty: clone it there;
    - `path` is already an incident repo with history in common with the remote: sync.
    """
    from incidentctl.store.git import Git
    from incidentctl.store.remote import remote_heads
    from incidentctl.store.userconfig import check_user_config

    url = _check_url(url)
    check_user_config()
    root = path.expanduser().resolve()
    progress(f"checking {url}")
    heads, _default = remote_heads(url, _default_timeout())
    is_incident_repo = (root / CONFIG_NAME).is_file()
    is_git_repo = root.is_dir() and enclosing_work_tree(root) == root
    if is_git_repo:
        _check_existing_remote(Git(root), root, url)
    if heads:
        if example is not None:
            raise UsageError(
                f"{url} already holds a team repo; --example only starts a new one",
                hint=f"join it without --example: incidentctl init {path} --remote {url}",
            )
        if not is_incident_repo:
            if is_git_repo or not _empty_or_missing(root):
                raise RepoError(
                    f"{url} already holds a team repo, and {root} is not empty",
                    hint=f"join it in a new folder: incidentctl clone {url} PATH",
                )
            return clone_repo(url, root, progress)
        return _join_existing(root, url, heads, progress)
    return _publish(root, example, url, progress)


def _configured_remote(root: Path) -> str:
    from incidentctl.services.workspace import load_config

    if (root / CONFIG_NAME).is_file():
        return load_config(root / CONFIG_NAME).sync.remote
    return "origin"


def _check_existing_remote(git: Git, root: Path, url: str) -> None:
    name = _configured_remote(root)
    current = git.run_quiet("remote", "get-url", name).strip()
    if current and current != url:
        raise RepoError(
            f"{root} already has a remote {name!r} at {current}",
            hint=f"to change it: git -C {root} remote set-url {name} {url}",
        )


def _open(root: Path) -> Workspace:
    from incidentctl.services.workspace import Workspace
    from incidentctl.store.locate import Located
    from incidentctl.store.repo import IncidentRepo

    return Workspace(IncidentRepo(root), Located(root, "--repo"))


def _ensure_remote(root: Path, url: str) -> tuple[str, bool]:
    from incidentctl.store.git import Git

    name = _configured_remote(root)
    git = Git(root)
    current = git.run_quiet("remote", "get-url", name).strip()
    if not current:
        git.run("remote", "add", name, url)
        return name, True
    return name, False


def _publish(root: Path, example: str | None, url: str, progress: Progress) -> JoinResult:
    from incidentctl.services.setup import init_repo
    from incidentctl.services.sync import sync
    from incidentctl.store.userconfig import point_user_config_at

    init = init_repo(root, example)
    if init.config_written:
        progress(f"created the incident repo {init.root}")
    name, _added = _ensure_remote(root, url)
    config_path = point_user_config_at(root)
    try:
        synced = sync(_open(root), progress)
    except IncidentctlError as exc:
        raise RepoError(
            f"{root} is ready, but publishing it to {url} failed: {exc.message}",
            hint="fix access to the remote, then run: incidentctl sync",
        ) from None
    joined = JoinResult(root, url, name, "published", config_path, synced)
    _point_remote_head(joined, url, synced.branch, progress)
    return joined


def _point_remote_head(joined: JoinResult, url: str, branch: str, progress: Progress) -> None:
    """A bare remote made by `git init --bare` points HEAD at master, a branch that does
    not exist once the team pushed main: point it at the pushed branch where we may (a
    repo on a path), and say how where we may not (a server)."""
    from incidentctl.store.git import Git
    from incidentctl.store.remote import RemoteError, remote_heads

    try:
        heads, default = remote_heads(url, _default_timeout())
    except RemoteError:
        return
    if branch not in heads or (default and default in heads):
        return
    bare = _local_bare_repo(url)
    if bare is not None:
        Git(bare).run("--git-dir", str(bare), "symbolic-ref", "HEAD", f"refs/heads/{branch}")
        progress(f"pointed {url}'s HEAD at {branch}, so clones check it out")
        return
    joined.notes.append(
        f"the default branch (HEAD) of {url} is not an existing branch; clones find "
        f"{branch!r} anyway. To set it: git symbolic-ref HEAD refs/heads/{branch} in the "
        f"bare repo on the server, or make {branch!r} the default branch in the hosting "
        "service's settings"
    )


def _local_bare_repo(url: str) -> Path | None:
    """The bare repo `url` names on this machine (a path, or file://), or None."""
    from incidentctl.store.git import Git

    if url.startswith("file://"):
        url = url.removeprefix("file://")
    elif "://" in url or (":" in url.split("/", 1)[0] and not Path(url).exists()):
        return None  # a server (scp-like host:path included)
    path = Path(url).expanduser().resolve()
    if not path.is_dir():
        return None
    git = Git(path)
    if git.run_quiet("--git-dir", str(path), "rev-parse", "--is-bare-repository").strip() != "true":
        return None
    return path


def _join_existing(root: Path, url: str, heads: dict[str, str], progress: Progress) -> JoinResult:
    from incidentctl.services.sync import sync
    from incidentctl.store.git import Git
    from incidentctl.store.remote import Remote
    from incidentctl.store.userconfig import point_user_config_at

    branch = Remote(Git(root), "", 0).branch()
    if branch not in heads:
        raise RepoError(
            f"{url} has no branch {branch!r} (it has: {', '.join(sorted(heads))})",
            hint=f"join the team repo in a new folder: incidentctl clone {url} PATH",
        )
    name, added = _ensure_remote(root, url)
    try:
        synced = sync(_open(root), progress)
    except IncidentctlError:
        if added:  # leave the repo as it was
            Git(root).run_quiet("remote", "remove", name)
        raise
    config_path = point_user_config_at(root)
    return JoinResult(root, url, name, "joined", config_path, synced)
