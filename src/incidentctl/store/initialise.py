"""Creating an incident repo: a git repo (unless the folder is one already) whose first
commit holds the team's configuration file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from incidentctl.errors import RepoError, UsageError, choices_hint
from incidentctl.store.commits import message
from incidentctl.store.config import EXAMPLES, default_config_text, example_config_text
from incidentctl.store.locate import CONFIG_NAME, enclosing_work_tree
from incidentctl.store.repo import IncidentRepo

INIT_MESSAGE = message("incidentctl: initialise incident repo", "Created by `incidentctl init`.")


@dataclass
class InitResult:
    root: Path
    git_created: bool
    config_written: bool
    commit: str | None
    example: str | None
    sparse: bool = False  # the work tree is a sparse checkout (store/sparse.py)


def init_repo(path: Path, example: str | None = None, *, sparse: bool | None = None) -> InitResult:
    """Make `path` an incident repo: `git init` it unless it is a git work tree's top
    already, then write and commit the default config (or an example's), unless there
    is one. A folder inside another git repo is refused.

    A repo it creates is a cone-mode sparse checkout with a sparse index (store/sparse.py)
    unless `sparse` is False (None: $INCIDENTCTL_CHECKOUT, else sparse). An existing git
    repo is left as it is: its other files would leave the work tree (`doctor --fix`
    converts an incident repo)."""
    from incidentctl.store import sparse as sparse_checkout
    from incidentctl.store.git import Git
    from incidentctl.store.writer import writing

    root = path.expanduser().resolve()
    if example is not None and example not in EXAMPLES:
        raise UsageError(f"unknown example {example!r}", hint=choices_hint("examples", EXAMPLES))
    if root.exists() and not root.is_dir():
        raise RepoError(f"{root} exists and is not a folder")
    existing = next(p for p in (root, *root.parents) if p.exists())
    top = enclosing_work_tree(existing)
    if top is not None and top != root:
        raise RepoError(
            f"{root} is inside the git repo {top}",
            hint=f"an incident repo is a whole git repo: run incidentctl init {top}",
        )
    git_created = top is None
    made_sparse = False
    if git_created:
        git = Git.init(root)
        if sparse if sparse is not None else sparse_checkout.default_mode() == "sparse":
            sparse_checkout.start(git)
            made_sparse = True
    repo = IncidentRepo(root)
    if repo.config_path.exists():
        return InitResult(root, git_created, False, None, example, repo.sparse)
    text = example_config_text(example) if example else default_config_text()
    with writing(repo) as w:
        commit = w.record(CONFIG_NAME, text.encode("utf-8"), INIT_MESSAGE).commit
    if git_created:  # git keeps it from here (store/commitgraph.py)
        from incidentctl.store import commitgraph

        commitgraph.write(repo.git)
    return InitResult(root, git_created, True, commit, example, made_sparse or repo.sparse)
