"""Isolation and limits for the kernel that runs one submission's code.

A submission's kernel is started by a supervisor process (see `autograder.zygote`) that
confines it before any student code runs:

- **its own namespaces** (Linux, as root): a mount namespace in which the whole file system
  is read-only except the submission's scratch folder and a private, size-limited `/tmp`,
  with the course's private folders and the gradebook hidden; a PID namespace, so that
  when the kernel ends every process it started ends with it and it sees no other process;
  a network namespace with no interface up, so it reaches no server (no gradebook
  database, no Dask scheduler, no internet); its own IPC and host-name namespaces;
- **an unprivileged user** (`SandboxSpec.uid`), with no supplementary groups and
  `no_new_privs`, so it can change nothing that is not its own;
- **limits**: a memory cgroup for the whole process tree where the machine has one
  (otherwise a watchdog that sums the tree's resident memory), a wall-time limit kept by
  the supervisor, and resource limits on file size, processes and core dumps.

`capabilities()` says which of these this machine allows; where namespaces or a user
switch are not allowed (not root), only the limits apply, and grading says so loudly.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import os
import resource
import signal
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACES = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MOUNT_ATTR_RDONLY = 0x1
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
SYS_MOUNT_SETATTR = 442  # the same number on x86_64 and aarch64
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38

# Exit statuses the supervisor uses to say why it stopped the kernel (a kernel that exits by
# itself reports its own status).
WATCH_INTERVAL_SECONDS = 0.05


class SandboxError(RuntimeError):
    """The sandbox could not be set up; the message says which step failed."""


@dataclass
class SandboxSpec:
    """How to confine one kernel: plain data, sent from the grading worker to the supervisor."""

    scratch: str  # the kernel's working folder, the only place it may write besides /tmp
    wall_seconds: float  # the supervisor kills the kernel after this long
    memory_bytes: int  # for the whole process tree
    uid: int | None = None  # the unprivileged user to run as (None: keep the current user)
    hide: list[str] = field(default_factory=list)  # folders and files the kernel must not see
    expose: list[str] = field(default_factory=list)  # folders it must read (besides Python's)
    tmp_bytes: int = 512 * 2**20
    file_bytes: int = 256 * 2**20
    processes: int = 512
    isolate: bool = True  # namespaces (only where `capabilities()["namespaces"]`)
    memory_enforcement: str = "auto"  # "auto" (cgroup if possible), "cgroup" or "watchdog"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SandboxSpec:
        return cls(**json.loads(text))


@dataclass
class Outcome:
    """How a confined kernel ended, as its supervisor saw it."""

    exit_code: int | None = None  # the kernel's own exit status
    signal: int | None = None  # the signal that ended it
    reason: str | None = None  # "time", "memory", or None when it ended by itself
    peak_bytes: int | None = None  # the tree's largest resident memory, where measured
    seconds: float = 0.0
    memory_enforcement: str = ""
    isolated: bool = False


# ----------------------------------------------------------------------------- the machine


_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise SandboxError(f"{what} failed: {os.strerror(code)} (errno {code})")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None):
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]  # fmt: skip


def _set_read_only(path: str, read_only: bool, recursive: bool) -> None:
    attr = _MountAttr(MOUNT_ATTR_RDONLY if read_only else 0, 0 if read_only else MOUNT_ATTR_RDONLY)
    _check(
        _libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(),
                      AT_RECURSIVE if recursive else 0, ctypes.byref(attr), ctypes.sizeof(attr)),
        f"making {path} {'read-only' if read_only else 'writable'}",
    )  # fmt: skip


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl({option})")


@lru_cache(maxsize=1)
def capabilities() -> dict:
    """What this machine lets the grader do: namespaces, a user switch, a memory cgroup.

    Probed once, in a throw-away child process, so nothing here changes this process.
    """
    root = os.geteuid() == 0
    namespaces = False
    if hasattr(os, "fork") and Path("/proc/self/ns/mnt").exists():
        pid = os.fork()
        if pid == 0:  # the probe: exit 0 if every namespace can be made and / made read-only
            try:
                _check(_libc.unshare(NAMESPACES), "unshare")
                _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
                _set_read_only("/", True, recursive=True)
                os._exit(0)
            except BaseException:  # any failure means: not available here
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        namespaces = os.waitstatus_to_exitcode(status) == 0
    return {
        "root": root,
        "namespaces": namespaces and root,
        "user_switch": root,
        "memory_cgroup": str(memory_cgroup_root()) if memory_cgroup_root() else None,
    }


def describe(caps: dict | None = None) -> str:
    """One line for the instructor: how submissions are isolated on this machine."""
    caps = capabilities() if caps is None else caps
    parts = []
    if caps["namespaces"]:
        parts.append("own mount, PID and network namespaces (course read-only, gradebook hidden)")
    else:
        parts.append("NO namespaces (run grading as root on Linux to isolate submissions)")
    parts.append("an unprivileged user" if caps["user_switch"] else "the grader's own user")
    parts.append("a memory cgroup" if caps["memory_cgroup"] else "a memory watchdog")
    return "submissions run in " + ", ".join(parts)


# ----------------------------------------------------------------------------- memory cgroup


def memory_cgroup_root() -> Path | None:
    """A folder of the memory cgroup hierarchy in which this process may make children.

    cgroup v1: the `memory` controller's folder for this process's own cgroup; cgroup v2:
    this process's cgroup, when the memory controller is enabled for its children. None when
    neither exists or it is not writable (then the watchdog enforces the limit).
    """
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            for mount in mounts:
                fields = mount.split()
                fstype = fields[fields.index("-") + 1]
                if fstype == "cgroup" and "memory" in fields[-1].split(","):
                    folder = Path(fields[4]) / path.lstrip("/")
                    if (folder / "memory.limit_in_bytes").exists() and os.access(folder, os.W_OK):
                        return folder
        if controllers == "":  # cgroup v2
            for mount in mounts:
                fields = mount.split()
                if fields[fields.index("-") + 1] == "cgroup2":
                    folder = Path(fields[4]) / path.lstrip("/")
                    control = folder / "cgroup.subtree_control"
                    if control.exists() and "memory" in control.read_text().split():
                        if os.access(folder, os.W_OK):
                            return folder
    return None


class MemoryCgroup:
    """A memory cgroup for one submission's process tree (v1 or v2), removed by `close`."""

    def __init__(self, root: Path, name: str, limit_bytes: int):
        self.path = root / name
        self.path.mkdir()
        self.v2 = (self.path / "memory.max").exists()
        if self.v2:
            (self.path / "memory.max").write_text(str(limit_bytes))
            swap = self.path / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")
        else:
            (self.path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            swap = self.path / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(limit_bytes))

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer stopped in this cgroup."""
        name = "memory.events" if self.v2 else "memory.oom_control"
        for line in (self.path / name).read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return int((self.path / "memory.failcnt").read_text()) if not self.v2 else 0

    def peak_bytes(self) -> int | None:
        name = "memory.peak" if self.v2 else "memory.max_usage_in_bytes"
        try:
            return int((self.path / name).read_text())
        except (OSError, ValueError):
            return None

    def pids(self) -> list[int]:
        try:
            return [int(line) for line in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []


def remove_cgroup(path: str) -> None:
    """Remove a submission's cgroup once its processes are gone (they may take a moment)."""
    for _ in range(250):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as error:
            if error.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                return
            time.sleep(0.02)


def tree_memory(pid: int) -> int:
    """Memory a process and all its descendants hold on their own, in bytes (0 if gone).

    Their unique set size: a kernel forked from the zygote shares the zygote's pages until it
    writes to them, and those it only shares cost the machine nothing more.
    """
    import psutil

    try:
        process = psutil.Process(pid)
        tree = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for member in tree:
        try:
            total += member.memory_full_info().uss
        except psutil.AccessDenied:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


# ----------------------------------------------------------------------------- confinement


def _hide(path: str) -> None:
    """Cover a folder with an empty read-only tmpfs, or a file with /dev/null."""
    if os.path.isdir(path):
        _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k")
    elif os.path.exists(path):
        _mount("/dev/null", path, None, MS_BIND, None)


def runtime_paths() -> set[str]:
    """Folders the kernel must be able to read: Python, its packages, the course's data."""
    import sys

    paths = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
    }
    paths |= {entry for entry in sys.path if entry and os.path.isdir(entry)}
    paths |= {os.environ[name] for name in ("COURSE_DATA_DIR", "COURSE_CACHE_DIR")
              if os.environ.get(name)}  # fmt: skip
    return {os.path.realpath(path) for path in paths if os.path.exists(path)}


def _expose(paths: set[str]) -> None:
    """Let an unprivileged kernel reach `paths` through folders it may not enter.

    A Python installed in a private home (`/root/.pyenv`, say) sits behind a folder that only
    its owner may enter. Such a folder is covered with an empty tmpfs that anyone may enter,
    holding only the sub-folders on the way to `paths`, mounted back read-only: the kernel
    reaches Python and sees nothing else of that home.
    """
    closed: dict[str, set[str]] = {}
    for path in sorted(paths):
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts)):
            ancestor = "/" + "/".join(parts[:depth])
            if not os.stat(ancestor).st_mode & 0o001:
                closed.setdefault(ancestor, set()).add(parts[depth])
                break  # what lies below is mounted back from the real tree
    for ancestor, children in sorted(closed.items()):
        kept = {name: os.open(os.path.join(ancestor, name), os.O_PATH) for name in children
                if os.path.exists(os.path.join(ancestor, name))}  # fmt: skip
        _mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "size=4k,mode=0755")
        for name, fd in kept.items():
            target = os.path.join(ancestor, name)
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                os.mkdir(target)
            else:
                open(target, "w").close()
            _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC, None)
            os.close(fd)
        _set_read_only(ancestor, True, recursive=False)


def enter_namespaces(spec: SandboxSpec) -> None:
    """In the supervisor, before it starts the kernel: new namespaces and the read-only view.

    The kernel (the supervisor's next child) is then the first process of the new PID
    namespace. Everything is read-only except `spec.scratch` and a fresh /tmp and /dev/shm.
    """
    scratch = os.path.realpath(spec.scratch)
    _check(_libc.unshare(NAMESPACES), "unshare (new namespaces)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    # Held open (in the new namespace's copy of the tree) so that the folder can be mounted
    # back once /tmp, where it may live, is covered.
    keep = os.open(scratch, os.O_PATH | os.O_DIRECTORY)
    _set_read_only("/", True, recursive=True)
    if spec.uid is not None:
        _expose(runtime_paths() | set(spec.expose))
    for folder in ("/tmp", "/dev/shm"):
        if os.path.isdir(folder):
            _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV,
                   f"size={spec.tmp_bytes},mode=1777")  # fmt: skip
    for path in spec.hide:
        _hide(os.path.realpath(path))
    os.makedirs(scratch, exist_ok=True)  # inside the new /tmp, if it lived there
    _mount(f"/proc/self/fd/{keep}", scratch, None, MS_BIND, None)
    _set_read_only(scratch, False, recursive=False)
    os.close(keep)


def confine_kernel(spec: SandboxSpec, isolated: bool) -> None:
    """In the kernel process, before it runs anything: its /proc, limits and user."""
    if isolated:
        # A mount namespace of its own for its /proc, so that the supervisor keeps seeing the
        # machine's /proc (and the kernel's memory in it).
        _check(_libc.unshare(CLONE_NEWNS), "unshare (the kernel's /proc)")
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    else:
        os.setpgid(0, 0)  # its own process group, which the supervisor can stop as one
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (spec.file_bytes, spec.file_bytes))
    if spec.uid is not None and os.geteuid() == 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (spec.processes, spec.processes))
        os.setgroups([])
        os.setgid(spec.uid)
        os.setuid(spec.uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.chdir(spec.scratch)


def supervise(spec: SandboxSpec, run_kernel, report) -> None:
    """Run `run_kernel()` confined by `spec` in a child, watch it, and `report(...)` on it.

    Called in a fresh process (forked by the zygote). `report` receives plain dicts: first
    `{"pid": ...}` as soon as the kernel exists, then `{"outcome": {...}}` when it has ended.
    Never returns.
    """
    start = time.monotonic()
    caps = capabilities()
    outcome = Outcome()
    cgroup = None
    try:
        os.setsid()
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        root = memory_cgroup_root() if spec.memory_enforcement in ("auto", "cgroup") else None
        if root is not None:
            cgroup = MemoryCgroup(root, f"autograder-{os.getpid()}", spec.memory_bytes)
            cgroup.add(os.getpid())
            # Removed by the zygote once this process has ended: from inside the namespace
            # the cgroup file system is read-only.
            report({"cgroup": str(cgroup.path)})
        elif spec.memory_enforcement == "cgroup":
            raise SandboxError("no writable memory cgroup on this machine")
        outcome.memory_enforcement = "cgroup" if cgroup else "watchdog"
        isolated = spec.isolate and caps["namespaces"]
        if isolated:
            enter_namespaces(spec)
        outcome.isolated = isolated
        kernel = os.fork()
        if kernel == 0:
            try:
                confine_kernel(spec, isolated)
                run_kernel()
                os._exit(0)
            except SystemExit as stop:
                os._exit(stop.code if isinstance(stop.code, int) else 1)
            except BaseException as error:  # the kernel could not start: say why, then stop
                with open(os.path.join(spec.scratch, "kernel-start-error.txt"), "w") as stream:
                    stream.write(f"{type(error).__name__}: {error}\n")
                os._exit(70)
        report({"pid": kernel})
        peak = 0
        while True:
            done, status = os.waitpid(kernel, os.WNOHANG)
            if done:
                break
            if time.monotonic() - start > spec.wall_seconds:
                outcome.reason = outcome.reason or "time"
                os.kill(kernel, signal.SIGKILL)
            if cgroup is None:
                used = tree_memory(kernel)
                peak = max(peak, used)
                if used > spec.memory_bytes:
                    outcome.reason = outcome.reason or "memory"
                    os.kill(kernel, signal.SIGKILL)
            time.sleep(WATCH_INTERVAL_SECONDS)
        if os.WIFSIGNALED(status):
            outcome.signal = os.WTERMSIG(status)
        else:
            outcome.exit_code = os.WEXITSTATUS(status)
        if not isolated:  # without a PID namespace, stop what the kernel left running
            _kill_group(kernel)
            for pid in cgroup.pids() if cgroup is not None else []:
                if pid != os.getpid():
                    _kill_pid(pid)
        if cgroup is not None:
            if outcome.reason is None and cgroup.oom_kills() > 0:
                outcome.reason = "memory"
            outcome.peak_bytes = cgroup.peak_bytes()
        else:
            outcome.peak_bytes = peak or None
    except BaseException as error:  # set-up failed: report it rather than hang the worker
        outcome.reason = f"sandbox: {type(error).__name__}: {error}"
    finally:
        outcome.seconds = time.monotonic() - start
    report({"outcome": asdict(outcome)})
    os._exit(0)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
