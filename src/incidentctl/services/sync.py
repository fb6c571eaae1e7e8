"""`sync`: share this clone's events with the team's remote, and take theirs.

One round: commit what an interrupted command left, fetch, rebase local commits onto
the remote (one file per event, so this never conflicts), give local unpushed incidents
whose human ID is taken on the remote the next free number (a `renumbered` event), push.
A push that lost a race is retried from the fetch, a bounded number of times. Nothing
here force-pushes, and a fetch that finds the remote branch rewritten stops the sync.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from incidentctl.errors import BadFileError, IncidentctlError
from incidentctl.services.workspace import Workspace

if TYPE_CHECKING:
    from pathlib import Path

    from incidentctl.domain.incident import IncidentState
    from incidentctl.services.record import RecordResult
    from incidentctl.store.remote import Remote
    from incidentctl.store.writer import Recovered, Writer

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


@dataclass(frozen=True)
class Renumbering:
    uid: str
    old: str
    new: str
    taken_by: str  # the ULID of the incident that holds (or held) the old number

    def to_dict(self) -> dict:
        return {"uid": self.uid, "from": self.old, "to": self.new, "taken_by": self.taken_by}


@dataclass
class SyncResult:
    remote: str
    url: str
    branch: str
    pulled: int = 0  # commits from the remote that this clone did not have
    pushed: int = 0  # local commits the remote did not have
    published: bool = False  # the remote had no such branch; the push created it
    retries: int = 0  # rounds started again after a push lost a race
    races: int = 0  # pushes that lost a race (another push landed first, or during ours)
    renumbered: list[Renumbering] = field(default_factory=list)
    recovered: list[Recovered] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "remote": self.remote,
            "url": self.url,
            "branch": self.branch,
            "pulled": self.pulled,
            "pushed": self.pushed,
            "published": self.published,
            "retries": self.retries,
            "races": self.races,
            "renumbered": [r.to_dict() for r in self.renumbered],
            "recovered": [{"path": r.path, "commit": r.commit} for r in self.recovered],
            "warnings": list(self.warnings),
        }


def open_remote(ws: Workspace, *, prompt: bool) -> Remote:
    from incidentctl.store.remote import Remote, RemoteError

    settings = ws.config.sync
    remote = Remote(ws.repo.git, settings.remote, settings.timeout.total_seconds(), prompt)
    if remote.url() is None:
        raise RemoteError(
            f"this incident repo has no git remote {settings.remote!r}",
            hint=f"add the team's: git remote add {settings.remote} URL (or set [sync] remote "
            "in incidentctl.toml), or join a team repo with: incidentctl clone URL",
        )
    return remote


def sync(ws: Workspace, progress: Progress = _quiet, *, prompt: bool = True) -> SyncResult:
    from incidentctl.store.remote import Unreachable
    from incidentctl.store.writer import writing

    remote = open_remote(ws, prompt=prompt)
    branch = remote.branch()
    result = SyncResult(remote.name, remote.shown_url(), branch)
    retries = ws.config.sync.push_retries
    # not prepared: a pull may move HEAD before anything is committed
    with writing(ws.repo, prepare=False) as w:
        result.recovered = w.recovered
        for item in result.recovered:
            progress(f"committed {item.path}, left by an interrupted command")
        try:
            try:
                _rounds(ws, w, remote, branch, result, progress, retries)
            finally:
                # open incidents that came in (now, or by a sync killed after its pull)
                if ws.repo.sparse:
                    from incidentctl.store import sparse

                    sparse.take_in(ws.repo, ws.now())
        except Unreachable as exc:
            waiting = _unpushed_count(remote, branch)
            raise Unreachable(
                f"offline: {exc.message.rstrip('.')}; your events stay committed here"
                + (f" ({_commits(waiting)} to push with the next sync)" if waiting else "")
            ) from None
    return result


def _unpushed_count(remote: Remote, branch: str) -> int:
    tracking = remote.tracking_ref(branch)
    return remote.count(f"{tracking}..HEAD" if remote.resolve(tracking) else "HEAD")


def _rounds(
    ws: Workspace,
    w: Writer,
    remote: Remote,
    branch: str,
    result: SyncResult,
    progress: Progress,
    retries: int,
) -> None:
    """Pull and push until the push lands, or it has lost `retries` + 1 races. Between
    tries it waits a random moment, on the scale of how long a round takes here and
    growing with each try, so clones that raced do not race again in lockstep."""
    import time

    from incidentctl.store.remote import PushRaced, RemoteError

    while True:
        began = time.monotonic()
        ahead, tracking = _pull(ws, w, remote, branch, result, progress)
        if ahead == 0:
            return
        head = remote.resolve("HEAD") or "HEAD"
        progress(f"pushing {_commits(ahead)} to {remote.name}/{branch}")
        try:
            remote.push(head, branch, set_upstream=not _has_upstream(ws, branch))
        except PushRaced as exc:
            result.races += 1
            if result.retries >= retries:
                times = f"{result.races} time" + ("" if result.races == 1 else "s")
                last = exc.message.partition(" (")[2].removesuffix(")")
                raise RemoteError(
                    f"{remote.name}/{branch} kept moving: the push lost the race {times} "
                    f"(last: {last}); your events stay committed here",
                    hint="others are pushing right now: run incidentctl sync again in a moment "
                    "(or raise [sync] push_retries)",
                ) from None
            result.retries += 1
            progress(f"someone pushed first; fetching again (retry {result.retries} of {retries})")
            _pause_before_retry(result.retries, time.monotonic() - began)
            continue
        result.pushed = ahead
        result.published = tracking is None
        return


RETRY_PAUSE = 0.05  # seconds: the least scale of the wait before a retry
RETRY_PAUSE_MAX = 5.0  # seconds: the most a retry waits


def _pause_before_retry(attempt: int, round_took: float) -> None:
    """Full jitter: a random wait in [0, min(max, scale * 2^(attempt-1))], the scale
    being how long the lost round took (fetch, rebase, push): the window in which
    another push can land is that long, so that is how far apart tries must spread."""
    import random
    import time

    scale = max(RETRY_PAUSE, round_took)
    time.sleep(random.uniform(0, min(RETRY_PAUSE_MAX, scale * 2 ** (attempt - 1))))


def _commits(n: int) -> str:
    return f"{n} commit" + ("" if n == 1 else "s")


def _has_upstream(ws: Workspace, branch: str) -> bool:
    return bool(ws.repo.git.run_quiet("config", "--get", f"branch.{branch}.remote").strip())


def _pull(
    ws: Workspace, w: Writer, remote: Remote, branch: str, result: SyncResult, progress: Progress
) -> tuple[int, str | None]:
    """Fetch, rebase onto the remote branch and renumber. Returns (commits to push, the
    remote-tracking ref, or None when the remote has no such branch yet)."""
    from incidentctl.store.remote import RemoteError

    tracking = remote.tracking_ref(branch)
    exists = remote.fetch_branch(branch)
    if not exists:
        _check_no_other_branch(remote, branch)
    if exists:
        new = remote.count(f"HEAD..{tracking}")
        if new:
            if not remote.has_common_history(tracking):
                raise RemoteError(
                    f"{remote.name}/{branch} shares no history with this repo; nothing changed",
                    hint="it is another team's repo: join it in a new folder with "
                    "incidentctl clone URL PATH",
                )
            local = remote.count(f"{tracking}..HEAD")
            progress(
                f"taking {_commits(new)} from {remote.name}/{branch}"
                + (f"; replaying {_commits(local)} of yours on top" if local else "")
            )
            remote.rebase_onto(tracking)
            result.pulled += new
    _renumber_collisions(ws, w, remote, tracking if exists else None, result, progress)
    ahead = remote.count(f"{tracking}..HEAD" if exists else "HEAD")
    return ahead, tracking if exists else None


def _check_no_other_branch(remote: Remote, branch: str) -> None:
    """The remote has no `branch`: publishing it is right for a new team repo (an empty
    remote), and wrong when the team's history is on another branch."""
    from incidentctl.store.remote import MissingBranch, remote_heads

    heads, default = remote_heads(remote.url() or "", remote.timeout, remote.prompt)
    if heads:
        team = default if default in heads else sorted(heads)[0]
        raise MissingBranch(
            f"{remote.name} has no branch {branch!r} (it has: {', '.join(sorted(heads))}); "
            "nothing was pushed",
            hint=f"sync uses the branch of the same name: switch to the team's with "
            f"git checkout {team}, or publish {branch!r} on purpose with: "
            f"git push -u {remote.name} {branch}",
        )


def _unpushed_incidents(ws: Workspace, tracking: str | None) -> set[str]:
    """ULIDs of incidents whose `declared` event is in a commit the remote does not have."""
    from incidentctl.services.verify import EVENT_PATH

    revision = f"{tracking}..HEAD" if tracking else "HEAD"
    out = ws.repo.git.run(
        "log", "--format=", "--name-only", "--diff-filter=A", revision, "--", "incidents/"
    )
    unpushed = set()
    for line in out.splitlines():
        m = EVENT_PATH.match(line.strip())
        if m and m["id"] == m["uid"]:  # a declared event's ID is its incident's ULID
            unpushed.add(m["uid"])
    return unpushed


def _renumber_collisions(
    ws: Workspace,
    w: Writer,
    remote: Remote,
    tracking: str | None,
    result: SyncResult,
    progress: Progress,
) -> None:
    """Give each local unpushed incident whose human ID is already used (as a current or
    an old ID) by another incident the next free number of its day."""
    from incidentctl.domain.ulid import ulid_time

    unpushed = _unpushed_incidents(ws, tracking)
    days = sorted({ulid_time(uid).date() for uid in unpushed})
    for day in days:
        states: list[tuple[IncidentState, Path]] = []
        for folder in ws.repo.folders_declared_on(day):
            try:
                loaded = ws.repo.load(folder)
            except BadFileError as exc:
                result.warnings.append(f"skipped unreadable {exc.path}: {exc.problem}")
                continue
            states.append((loaded.state, folder))
        taken = {h for s, _ in states for h in (s.human_id, *s.aliases)}
        claimed: dict[str, str] = {}  # human ID -> ULID of the incident that keeps it
        for s, _ in states:
            if s.uid not in unpushed:
                for h in (s.human_id, *s.aliases):
                    claimed.setdefault(h, s.uid)
        for s, folder in sorted(states, key=lambda item: item[0].uid):
            if s.uid not in unpushed:
                continue
            holder = claimed.get(s.human_id)
            if holder is None or holder == s.uid:
                for h in (s.human_id, *s.aliases):
                    claimed.setdefault(h, s.uid)
                continue
            new_id = _record_renumbering(ws, w, s, folder, taken, remote.name)
            taken.add(new_id)
            for h in (new_id, *s.aliases, s.human_id):
                claimed.setdefault(h, s.uid)
            result.renumbered.append(Renumbering(s.uid, s.human_id, new_id, holder))
            progress(
                f"{s.human_id} was already taken on {remote.name}: "
                f"your incident {s.human_id} is now {new_id}"
            )


def _record_renumbering(
    ws: Workspace,
    w: Writer,
    state: IncidentState,
    folder: Path,
    taken: set[str],
    remote_name: str,
) -> str:
    from incidentctl.domain import events as ev
    from incidentctl.domain import ids
    from incidentctl.domain.ulid import ulid_time
    from incidentctl.services.record import actor, new_event_id

    settings = ws.config.incident
    day = ulid_time(state.uid).date()
    new_id = ids.next_id(settings.id_format, day, taken, settings.id_seq_width)
    now = ws.now()
    event = ev.Renumbered(
        id=new_event_id(now),
        incident=state.uid,
        at=now,
        recorded_at=now,
        author=actor(ws, None),
        human_id=new_id,
        previous=state.human_id,
    )
    w.event(
        folder,
        new_id,
        event,
        f"renumbered {state.human_id} -> {new_id}",
        body=f"{state.human_id} was already taken on {remote_name} when this incident was synced.",
    )
    return new_id


# -- automatic sync after an event command ----------------------------------------------


@dataclass
class AutoSync:
    result: SyncResult | None
    failure: str = ""  # why the events did not reach the remote (they stay committed)
    offline: bool = False  # the failure is the remote being out of reach
    # the records synced, as true after the sync: new commit IDs after a rebase, and the
    # incident's new human ID after a renumbering (the records given are left as they were)
    records: list[RecordResult] = field(default_factory=list)


def sync_after_recording(ws: Workspace, records: list[RecordResult]) -> AutoSync | None:
    """With [sync] mode = "auto", sync once after a command committed `records`. Never
    raises: the events are committed, so failing to reach the remote is only a warning."""
    if not any(r.recorded for r in records) or ws.config.sync.mode != "auto":
        return None
    from incidentctl.store.remote import Unreachable

    try:
        synced = sync(ws, prompt=False)
    except IncidentctlError as exc:
        return AutoSync(None, exc.message, offline=isinstance(exc, Unreachable), records=records)
    except Exception as exc:  # a bug here must not turn a committed event into a failure
        return AutoSync(None, f"{type(exc).__name__}: {exc}", records=records)
    return AutoSync(synced, records=[_refreshed(ws, record, synced) for record in records])


def _refreshed(ws: Workspace, record: RecordResult, synced: SyncResult) -> RecordResult:
    """After a rebase the recorded events have new commit IDs, and a renumbering gives
    the incident a new human ID: what is now true of `record`."""
    recorded, state = list(record.recorded), record.state
    if synced.pulled or synced.renumbered:
        for i, rec in enumerate(recorded):
            commit = ws.repo.git.run("log", "-1", "--format=%h", "--", rec.path).strip()
            if commit:
                recorded[i] = dataclasses.replace(rec, commit=commit)
    if any(r.uid == state.uid for r in synced.renumbered):
        folders = ws.repo.folders_with_prefix(state.uid)
        if len(folders) == 1:
            state = ws.repo.load(folders[0]).state
    return dataclasses.replace(record, recorded=recorded, state=state)
