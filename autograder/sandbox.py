"""Isolation and limits for the kernel that runs one submission's code.

A submission's kernel is started by a supervisor process (see `autograder.zygote`) that
confines it before any student code runs:

- **a file system of its own** (Linux, as root): a fresh root holding only what a kernel
  needs, read-only (the system's `/usr`, `/lib`, `/bin`, `/etc`, `/dev`, `/sys`, Python and its
  packages, the `course` package and the datasets), plus the submission's scratch folder
  and a private, size-limited `/tmp`. Nothing else of the machine is there: no course folder,
  no gradebook, no other submission, no home folder, no `/run` or `/var` with their sockets;
- **its own namespaces**: PID (it sees no other process, and when the kernel ends everything
  it started ends with it), network (no interface up: no gradebook database, no Dask
  scheduler, no internet), IPC and host name;
- **an unprivileged user** (`SandboxSpec.uid`), with no supplementary groups and
  `no_new_privs`, so it can change nothing that is not its own;
- **limits**: cgroups for the whole process tree where the machine has them (memory, a
  share of the CPU, a number of processes; without a memory cgroup, a watchdog sums the
  tree's memory), a wall-time limit kept by the supervisor, a size-limited scratch folder,
  and resource limits on file size, processes and core dumps.

`capabilities()` says which of these this machine allows; where namespaces or a user
switch are not allowed (not root), only the limits apply, and grading says so loudly.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import platform
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
MNT_DETACH = 2
MOUNT_ATTR_RDONLY = 0x1
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
SYS_MOUNT_SETATTR = 442  # the same number on x86_64 and aarch64
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 36, 38

# What of the machine's file system a kernel sees (read-only), besides Python's own folders
# (`runtime_paths`) and `SandboxSpec.expose`.
SYSTEM_PATHS = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/dev",
                "/sys")  # fmt: skip
# Inside those, the site-wide configuration of Jupyter and nbgrader (it may name the grader's
# database) stays hidden.
HIDDEN_SYSTEM_PATHS = ("/etc/jupyter", "/etc/nbgrader")
START_ERROR_BYTES = 2048  # what the supervisor reads of a kernel's failure to start
WATCH_INTERVAL_SECONDS = 0.05


class SandboxError(RuntimeError):
    """The sandbox could not be set up; the message says which step failed."""


@dataclass
class SandboxSpec:
    """How to confine one kernel: plain data, sent from the grading worker to the supervisor.

    `scratch` is the submission's folder, made by the worker and owned by root: the kernel
    works in `workdir` and keeps its sockets in `runtime`, both inside it and its own, and it
    cannot move or replace either. `root` (inside it too, empty) becomes the kernel's `/`.
    """

    scratch: str
    workdir: str
    runtime: str
    root: str
    wall_seconds: float  # the supervisor kills the kernel after this long
    memory_bytes: int  # for the whole process tree
    cpus: float = 1.0  # the tree's share of the machine's CPUs, where a cpu cgroup exists
    uid: int | None = None  # the unprivileged user to run as (None: keep the current user)
    hide: list[str] = field(default_factory=list)  # paths the kernel must not see, if exposed
    expose: list[str] = field(default_factory=list)  # folders it must read (besides Python's)
    tmp_bytes: int = 512 * 2**20
    file_bytes: int = 256 * 2**20
    processes: int = 512
    isolate: bool = True  # namespaces (only where `capabilities()["namespaces"]`)
    memory_enforcement: str = "auto"  # "auto" (cgroup if possible), "cgroup" or "watchdog"


@dataclass
class Outcome:
    """How a confined kernel ended, as its supervisor saw it."""

    exit_code: int | None = None  # the kernel's own exit status
    signal: int | None = None  # the signal that ended it
    reason: str | None = None  # "time", "memory", or None when it ended by itself
    start_error: str | None = None  # why the kernel could not start, if it could not
    peak_bytes: int | None = None  # the tree's largest memory, where measured
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


def unmount(path: str) -> None:
    """Detach a mount (lazily, so that nothing still using it blocks the call)."""
    _check(_libc.umount2(path.encode(), MNT_DETACH), f"umount {path}")


def mount_tmpfs(path: str, size_bytes: int, mode: str = "0755") -> None:
    _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size_bytes},mode={mode}")


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


def _pivot_root(new_root: str, put_old: str) -> None:
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise SandboxError(f"no pivot_root system call known for {platform.machine()}")
    _check(_libc.syscall(number, new_root.encode(), put_old.encode()), "pivot_root")


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl({option})")


@lru_cache(maxsize=1)
def capabilities() -> dict:
    """What this machine lets the grader do: namespaces, a user switch, cgroups.

    Probed once, in a throw-away child process, so nothing here changes this process.
    """
    root = os.geteuid() == 0
    namespaces = False
    if hasattr(os, "fork") and Path("/proc/self/ns/mnt").exists() and root:
        pid = os.fork()
        if pid == 0:  # the probe: exit 0 if every namespace can be made and / made read-only
            try:
                _check(_libc.unshare(NAMESPACES), "unshare")
                _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
                _set_read_only("/", True, recursive=True)
                os._exit(0 if platform.machine() in SYS_PIVOT_ROOT else 1)
            except BaseException:  # any failure means: not available here
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        namespaces = os.waitstatus_to_exitcode(status) == 0
    memory = cgroup_folder("memory")
    return {
        "root": root,
        "namespaces": namespaces,
        "user_switch": root,
        "memory_cgroup": str(memory) if memory else None,
        "cpu_cgroup": cgroup_folder("cpu") is not None,
        "pids_cgroup": cgroup_folder("pids") is not None,
    }


def describe(caps: dict | None = None) -> str:
    """One line for the instructor: how submissions are isolated on this machine."""
    caps = capabilities() if caps is None else caps
    parts = []
    if caps["namespaces"]:
        parts.append("a file system of their own (course, gradebook, other submissions out of "
                     "sight) and their own PID and network namespaces")  # fmt: skip
    else:
        parts.append("NO namespaces (run grading as root on Linux to isolate submissions)")
    parts.append("an unprivileged user" if caps["user_switch"] else "the grader's own user")
    parts.append("a memory cgroup" if caps["memory_cgroup"] else "a memory watchdog")
    if caps.get("cpu_cgroup"):
        parts.append("a CPU share")
    return "submissions run in " + ", ".join(parts)


# ----------------------------------------------------------------------------- cgroups

_CONTROL_FILES = {"memory": "memory.limit_in_bytes", "cpu": "cpu.cfs_quota_us", "pids": "pids.max"}


def cgroup_folder(controller: str) -> Path | None:
    """This process's folder in the hierarchy of `controller`, if it may make children there.

    cgroup v1: that controller's own hierarchy; cgroup v2: the unified tree, when this
    process's cgroup enables the controller for its children. None when neither exists or it
    is not writable.
    """
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            for mount in mounts:
                fields = mount.split()
                fstype = fields[fields.index("-") + 1]
                if fstype == "cgroup" and controller in fields[-1].split(","):
                    folder = Path(fields[4]) / path.lstrip("/")
                    if (folder / _CONTROL_FILES[controller]).exists() and os.access(
                        folder, os.W_OK
                    ):
                        return folder
        if controllers == "":  # cgroup v2
            for mount in mounts:
                fields = mount.split()
                if fields[fields.index("-") + 1] == "cgroup2":
                    folder = Path(fields[4]) / path.lstrip("/")
                    control = folder / "cgroup.subtree_control"
                    if control.exists() and controller in control.read_text().split():
                        if os.access(folder, os.W_OK):
                            return folder
    return None


class Cgroups:
    """One submission's cgroups (memory, cpu, pids; v1 or v2), each where the machine has it.

    `paths` are removed by `remove_cgroup` once the tree's processes are gone.
    """

    PERIOD_US = 100_000

    def __init__(self, name: str, spec: SandboxSpec, memory: bool):
        self.paths: dict[str, Path] = {}
        wanted = ["memory"] if memory else []
        wanted += ["cpu", "pids"]
        for controller in wanted:
            root = cgroup_folder(controller)
            if root is None:
                continue
            path = root / name
            path.mkdir(exist_ok=True)
            self.paths[controller] = path
            self._limit(controller, path, spec)

    def _limit(self, controller: str, path: Path, spec: SandboxSpec) -> None:
        v2 = (path / "cgroup.controllers").exists()
        if controller == "memory":
            if v2:
                (path / "memory.max").write_text(str(spec.memory_bytes))
                if (path / "memory.swap.max").exists():
                    (path / "memory.swap.max").write_text("0")
            else:
                (path / "memory.limit_in_bytes").write_text(str(spec.memory_bytes))
                if (path / "memory.memsw.limit_in_bytes").exists():
                    (path / "memory.memsw.limit_in_bytes").write_text(str(spec.memory_bytes))
        elif controller == "cpu":
            quota = max(1000, int(spec.cpus * self.PERIOD_US))
            if v2:
                (path / "cpu.max").write_text(f"{quota} {self.PERIOD_US}")
            else:
                (path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
                (path / "cpu.cfs_quota_us").write_text(str(quota))
        elif controller == "pids":
            (path / "pids.max").write_text(str(spec.processes))

    @property
    def memory(self) -> Path | None:
        return self.paths.get("memory")

    def add(self, pid: int) -> None:
        for path in dict.fromkeys(self.paths.values()):  # v2: one folder for all
            (path / "cgroup.procs").write_text(str(pid))

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer stopped in the memory cgroup."""
        if self.memory is None:
            return 0
        v2 = (self.memory / "memory.events").exists()
        name = "memory.events" if v2 else "memory.oom_control"
        for line in (self.memory / name).read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0 if v2 else int((self.memory / "memory.failcnt").read_text())

    def peak_bytes(self) -> int | None:
        if self.memory is None:
            return None
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            try:
                return int((self.memory / name).read_text())
            except (OSError, ValueError):
                continue
        return None

    def pids(self) -> list[int]:
        path = self.paths.get("pids") or self.memory
        try:
            return [int(line) for line in (path / "cgroup.procs").read_text().split()]
        except (OSError, TypeError):
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


def runtime_paths() -> set[str]:
    """Folders the kernel must be able to read: Python, its packages, the course's data."""
    import sys

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    here = os.path.realpath(os.getcwd())  # the zygote's own folder is not the kernel's business
    paths |= {entry for entry in sys.path
              if entry and os.path.isdir(entry) and os.path.realpath(entry) != here}  # fmt: skip
    paths |= {os.environ[name] for name in ("COURSE_DATA_DIR", "COURSE_CACHE_DIR")
              if os.environ.get(name)}  # fmt: skip
    return {os.path.realpath(path) for path in paths if os.path.exists(path)}


def _outermost(paths) -> list[str]:
    """The paths that lie inside none of the others (each is mounted once, with all below it)."""
    kept: list[str] = []
    for path in sorted(paths):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def _bind(source: str, target: str, read_only: bool, recursive: bool = True) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(source, target, None, MS_BIND | (MS_REC if recursive else 0), None)
    if read_only:
        _set_read_only(target, True, recursive=recursive)


def _hide(path: str) -> None:
    """Cover a folder with an empty read-only tmpfs, or a file with /dev/null."""
    if os.path.isdir(path):
        _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k")
    elif os.path.exists(path):
        _mount("/dev/null", path, None, MS_BIND, None)


def enter_namespaces() -> None:
    """In the supervisor, before it forks the kernel: new PID, network, IPC and host-name
    namespaces. The kernel, its next child, is the first process of the new PID namespace;
    the supervisor itself stays in the machine's file system, and sees its /proc."""
    _check(_libc.unshare(NAMESPACES & ~CLONE_NEWNS), "unshare (new namespaces)")


def enter_root(spec: SandboxSpec) -> None:
    """In the kernel, as root, before anything else: a mount namespace and a new root.

    The new `/` is a fresh tmpfs holding read-only copies of the system's and Python's
    folders (and `spec.expose`), the writable scratch folder, a fresh /tmp and /dev/shm, and
    a /proc of the kernel's own PID namespace; the machine's own root is detached, so nothing
    else of it can be reached.
    """
    scratch, new_root = os.path.realpath(spec.scratch), os.path.realpath(spec.root)
    _check(_libc.unshare(CLONE_NEWNS), "unshare (a mount namespace)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    mount_tmpfs(new_root, 2**20)
    readable = [p for p in (*SYSTEM_PATHS, *runtime_paths(), *spec.expose) if os.path.exists(p)]
    for path in _outermost(os.path.realpath(p) for p in readable):
        _bind(path, new_root + path, read_only=True)
    for path in SYSTEM_PATHS:  # /bin -> usr/bin and the like, where /usr holds the system
        if os.path.islink(path) and not os.path.lexists(new_root + path):
            os.symlink(os.readlink(path), new_root + path)
    for path in (*HIDDEN_SYSTEM_PATHS, *spec.hide):
        if os.path.lexists(new_root + path):
            _hide(new_root + path)
    os.makedirs(new_root + "/tmp", exist_ok=True)
    _mount("tmpfs", new_root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={spec.tmp_bytes},mode=1777")  # fmt: skip
    if os.path.isdir(new_root + "/dev/shm"):
        _mount("tmpfs", new_root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
               f"size={spec.tmp_bytes},mode=1777")  # fmt: skip
    # The submission's folder, at its own path, without the new root that lies inside it.
    _bind(scratch, new_root + scratch, read_only=False, recursive=False)
    _set_read_only(new_root + scratch, False, recursive=False)
    os.makedirs(new_root + "/proc", exist_ok=True)
    os.makedirs(new_root + "/.old", exist_ok=True)
    _pivot_root(new_root, new_root + "/.old")
    os.chdir("/")
    unmount("/.old")
    os.rmdir("/.old")
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    _set_read_only("/", True, recursive=False)


def confine_kernel(spec: SandboxSpec, isolated: bool) -> None:
    """In the kernel process, before it runs anything: its file system, limits and user."""
    if isolated:
        enter_root(spec)
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
    os.chdir(spec.workdir)


def supervise(spec: SandboxSpec, run_kernel, report) -> None:
    """Run `run_kernel(started)` confined by `spec` in a child, watch it, and `report(...)`.

    Called in a fresh process (forked by the zygote). `report` receives plain dicts:
    `{"cgroups": [...]}` for the zygote to remove later, `{"pid": ...}` as soon as the kernel
    exists, then `{"outcome": {...}}` when it has ended. `run_kernel` calls `started()` just
    before the kernel begins serving; a failure before that is reported as `start_error`.
    Never returns.
    """
    start = time.monotonic()
    caps = capabilities()
    outcome = Outcome()
    cgroups = None
    errors_read, errors_write = os.pipe()
    try:
        os.setsid()
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        _prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans of the kernel's tree become ours to stop
        if spec.memory_enforcement == "cgroup" and cgroup_folder("memory") is None:
            raise SandboxError("no writable memory cgroup on this machine")
        cgroups = Cgroups(f"autograder-{os.getpid()}", spec,
                          memory=spec.memory_enforcement != "watchdog")  # fmt: skip
        cgroups.add(os.getpid())
        # Removed by the zygote once this process has ended (a cgroup that holds a process
        # cannot be removed).
        report({"cgroups": [str(p) for p in cgroups.paths.values()]})
        outcome.memory_enforcement = "cgroup" if cgroups.memory else "watchdog"
        isolated = spec.isolate and caps["namespaces"]
        if isolated:
            enter_namespaces()
        outcome.isolated = isolated
        kernel = os.fork()
        if kernel == 0:
            os.close(errors_read)

            def started() -> None:
                os.close(errors_write)

            try:
                confine_kernel(spec, isolated)
                run_kernel(started)
                os._exit(0)
            except SystemExit as stop:
                os._exit(stop.code if isinstance(stop.code, int) else 1)
            except BaseException as error:  # the kernel could not start: say why, then stop
                try:
                    message = f"{type(error).__name__}: {error}"[:START_ERROR_BYTES]
                    os.write(errors_write, message.encode(errors="replace"))
                finally:
                    os._exit(70)
        os.close(errors_write)
        report({"pid": kernel})
        peak = 0
        while True:
            done, status = os.waitpid(kernel, os.WNOHANG)
            if done:
                break
            if time.monotonic() - start > spec.wall_seconds:
                outcome.reason = outcome.reason or "time"
                os.kill(kernel, signal.SIGKILL)
            if cgroups.memory is None:
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
        os.set_blocking(errors_read, False)
        try:
            said = os.read(errors_read, START_ERROR_BYTES)
        except BlockingIOError:
            said = b""
        outcome.start_error = said.decode(errors="replace") or None
        if not isolated:  # without a PID namespace, stop what the kernel left running
            _stop_descendants(kernel, cgroups)
        if cgroups.memory is not None:
            if outcome.reason is None and cgroups.oom_kills() > 0:
                outcome.reason = "memory"
            outcome.peak_bytes = cgroups.peak_bytes()
        else:
            outcome.peak_bytes = peak or None
    except BaseException as error:  # set-up failed: report it rather than hang the worker
        outcome.reason = f"sandbox: {type(error).__name__}: {error}"
    finally:
        outcome.seconds = time.monotonic() - start
    report({"outcome": asdict(outcome)})
    os._exit(0)


def _stop_descendants(kernel: int, cgroups: Cgroups) -> None:
    """Kill whatever the kernel left running: its group, its cgroups' members, and every
    orphan that came to this process (a child subreaper), then reap them."""
    import psutil

    _kill(-kernel)
    for pid in cgroups.pids():
        if pid != os.getpid():
            _kill(pid)
    for _ in range(50):
        try:
            left = psutil.Process().children(recursive=True)
        except psutil.Error:
            left = []
        if not left:
            break
        for process in left:
            _kill(process.pid)
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        time.sleep(0.02)


def _kill(pid: int) -> None:
    """SIGKILL a process (or, for a negative number, a process group), if it is still there."""
    try:
        if pid < 0:
            os.killpg(-pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
