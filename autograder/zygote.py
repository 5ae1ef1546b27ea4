"""The zygote: a process that has already imported what every grading kernel needs, and forks
one confined kernel per submission.

Starting a kernel the usual way costs about five seconds before the first cell runs: Python,
ipykernel, TensorFlow, Keras, Matplotlib, the course package, then reading the dataset. For
a class of 300 that is most of the grading time, spent 300 times on the same work. The
zygote does it once; each kernel is a fork of it, confined by `autograder.sandbox` before
any student code runs, and starts in a fraction of a second. A fork shares the zygote's
memory until it writes, so the preloaded data costs no memory per kernel either.

    python -m autograder.zygote [--assignment NAME]   # started by `ZygoteClient`

Protocol: one JSON object per line. On stdin, requests `{"id", "argv", "spec"}` (the kernel
command jupyter_client would run, and a `SandboxSpec`). On stdout, `{"ready": ...}` once,
then for each request `{"id", "pid"}` when its kernel exists and `{"id", "outcome"}` when it
has ended. The zygote ends when its stdin closes, killing every kernel it started.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

from autograder import sandbox

# The environment a kernel gets: these variables are copied from the grader's environment;
# nothing else is (no database URL, no secret, no token reaches student code).
PASSED_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "TZ", "COURSE_DATA", "COURSE_DATA_DIR",
                      "COURSE_CACHE_DIR", "KERAS_BACKEND")  # fmt: skip
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
# Unprivileged users for kernels: one per kernel running at once, so that two submissions
# never share a user (nor its process limit). Only ids with no account on the machine are used.
SANDBOX_UID_BASE = 64000
UID_LOCKS = (
    Path("/run/autograder-uids") if os.access("/run", os.W_OK) else Path("/tmp/autograder-uids")
)
READY_TIMEOUT_SECONDS = 300
SPAWN_TIMEOUT_SECONDS = 60


def kernel_environment(threads: int, home: str, source: dict | None = None) -> dict:
    """The whole environment of the zygote and of every kernel forked from it.

    Grading always runs in fast mode with TensorFlow's C++ logging off (nbgrader gives zero
    to a test cell that writes to stderr), the inline plotting backend, and `threads` threads
    for TensorFlow, OpenMP and BLAS.
    """
    source = os.environ if source is None else source
    env = {name: source[name] for name in PASSED_ENVIRONMENT if name in source}
    env.setdefault("PATH", os.defpath)
    threads_text = str(threads)
    env.update(
        COURSE_FAST="1",
        TF_CPP_MIN_LOG_LEVEL="3",
        MPLBACKEND=INLINE_BACKEND,
        HOME=home,
        PYTHONDONTWRITEBYTECODE="1",
        TF_NUM_INTRAOP_THREADS=threads_text,
        TF_NUM_INTEROP_THREADS=threads_text,
        OMP_NUM_THREADS=threads_text,
        OPENBLAS_NUM_THREADS=threads_text,
        MKL_NUM_THREADS=threads_text,
    )
    return env


# ----------------------------------------------------------------------------- the zygote


def preload(assignment: str | None) -> float:
    """Import everything a course notebook and its checks import, and read every dataset.

    Nothing of the instructor's `autograder` package is loaded: a kernel holds in memory
    what it inherits, and the hidden checks, the reference solutions and the private values
    stay in the grader, which judges the test cells (`autograder.judge`). `assignment` only
    names the zygote.
    """
    import importlib
    import pkgutil

    start = time.perf_counter()
    from course.config import import_tensorflow_quietly

    import_tensorflow_quietly()
    import IPython  # noqa: F401
    import keras  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import scipy.linalg  # noqa: F401
    import scipy.special  # noqa: F401
    import scipy.stats  # noqa: F401
    from ipykernel import ipkernel, kernelapp  # noqa: F401

    import course

    names = [m.name for m in pkgutil.walk_packages(course.__path__, "course.")]
    for name in names:
        importlib.import_module(name)
        if _tensorflow_started():
            raise ZygoteError(
                f"importing {name} started TensorFlow's runtime (its threads would not "
                "survive a fork): create Keras or TensorFlow state inside functions, not at "
                "import"
            )
    from course import data

    data.preload()
    return time.perf_counter() - start


def _tensorflow_started() -> bool:
    """Whether TensorFlow's runtime has started here: it names its threads `tf_...`."""
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            names.append(Path(f"/proc/self/task/{task}/comm").read_text().strip())
        except OSError:  # the thread has just ended
            continue
    return any(name.startswith("tf_") for name in names)


def run_kernel(argv: list[str], started) -> None:
    """Become the kernel `argv` describes (`python [options] -m ipykernel_launcher -f FILE ...`).

    The interpreter and its options are the zygote's own: it is that interpreter already.
    """
    module = [
        i for i, (a, b) in enumerate(zip(argv, argv[1:])) if (a, b) == ("-m", "ipykernel_launcher")
    ]
    if not module:
        raise sandbox.SandboxError(f"not an IPython kernel command: {argv}")
    arguments = argv[module[0] + 2 :]
    # As `python -m ipykernel_launcher` does: the launcher's own folder leaves sys.path
    # (IPython puts the kernel's working folder back, as in any kernel).
    if sys.path and sys.path[0] in ("", str(Path.cwd()), _START_FOLDER):
        del sys.path[0]
    os.environ["HOME"] = os.getcwd()
    os.environ["MPLCONFIGDIR"] = os.path.join(os.getcwd(), ".matplotlib")
    sys.argv = ["ipykernel_launcher", *arguments]
    from ipykernel import kernelapp

    started()  # from here on, a failure is the kernel's own, not its start's
    kernelapp.launch_new_instance(argv=arguments)


_START_FOLDER = os.getcwd()


def _claim_uid() -> tuple[int, int]:
    """An unprivileged user id no other kernel on this machine is running as, and the lock
    that keeps it ours until the kernel has ended (close the second value to free it).

    Every zygote on the machine (one per grading process or Dask worker) claims ids through
    the same lock files, so two kernels never share a user, nor its process limit. Only ids
    with no account on the machine are used.
    """
    import fcntl
    import pwd

    UID_LOCKS.mkdir(mode=0o700, parents=True, exist_ok=True)
    uid = SANDBOX_UID_BASE
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            lock = os.open(UID_LOCKS / str(uid), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return uid, lock
            except BlockingIOError:
                os.close(lock)
        uid += 1


def _chown_tree(folder: str, uid: int) -> None:
    os.chown(folder, uid, uid)
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            os.chown(os.path.join(parent, name), uid, uid, follow_symlinks=False)


def _start_supervisor(request: dict, uid: int | None) -> tuple[int, int]:
    """Fork the supervisor of one kernel; return its pid and the read end of its report pipe."""
    spec = sandbox.SandboxSpec(**request["spec"])
    spec.uid = uid
    read, write = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid:
        os.close(write)
        return pid, read
    try:
        os.close(read)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        log = os.open(os.path.join(spec.scratch, "kernel.log"),
                      os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # fmt: skip
        os.dup2(log, 1)
        os.dup2(log, 2)
        # Nothing else of the zygote's reaches this kernel: not the other kernels' report
        # pipes (reading one would steal another submission's outcome), nor their user locks.
        os.closerange(3, write)
        os.closerange(write + 1, os.sysconf("SC_OPEN_MAX"))
        if uid is not None:  # its own folders; the one that holds them stays root's
            _chown_tree(spec.workdir, uid)
            _chown_tree(spec.runtime, uid)

        def report(message: dict) -> None:
            os.write(write, (json.dumps(message) + "\n").encode())

        def kernel(started) -> None:
            os.close(write)
            run_kernel(request["argv"], started)

        sandbox.supervise(spec, kernel, report)
    finally:
        os._exit(71)


def serve(assignment: str | None) -> None:
    """The zygote's loop: preload, say ready, then fork a supervised kernel per request."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the grader, which stops us
    seconds = preload(assignment)
    caps = sandbox.capabilities()
    out = sys.stdout

    def say(message: dict) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    say({"ready": True, "seconds": round(seconds, 2), "capabilities": caps, "pid": os.getpid()})
    selector = selectors.DefaultSelector()
    stdin = sys.stdin.fileno()
    selector.register(stdin, selectors.EVENT_READ, None)
    pending = b""
    running: dict[int, dict] = {}  # report pipe -> {"id", "pid", "uid", "buffer"}
    while True:
        for key, _ in selector.select():
            if key.data is None:  # a request, or the grader closing our stdin
                chunk = os.read(stdin, 1 << 16)
                if not chunk:
                    for child in running.values():
                        _kill(child["pid"])
                    return
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    request = json.loads(line)
                    uid = lock = None
                    # An unprivileged user needs the namespace's view of Python's folders.
                    confined = caps["namespaces"] and request["spec"].get("isolate", True)
                    if caps["user_switch"] and confined:
                        uid, lock = _claim_uid()
                    pid, pipe = _start_supervisor(request, uid)
                    running[pipe] = {"id": request["id"], "pid": pid, "lock": lock, "buffer": b""}
                    selector.register(pipe, selectors.EVENT_READ, pipe)
                continue
            pipe = key.data
            child = running[pipe]
            chunk = os.read(pipe, 1 << 16)
            child["buffer"] += chunk
            while b"\n" in child["buffer"]:
                line, child["buffer"] = child["buffer"].split(b"\n", 1)
                message = json.loads(line)
                if "cgroups" in message:
                    child["cgroups"] = message["cgroups"]
                else:
                    say({"id": child["id"], **message})
            if not chunk:  # the supervisor has ended
                selector.unregister(pipe)
                os.close(pipe)
                os.waitpid(child["pid"], 0)
                for path in child.get("cgroups", []):
                    sandbox.remove_cgroup(path)
                if child["lock"] is not None:
                    os.close(child["lock"])  # its user id is free again
                del running[pipe]


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ----------------------------------------------------------------------------- the client


class KernelHandle:
    """A kernel forked by the zygote, with the part of `subprocess.Popen`'s interface that
    jupyter_client's provisioner uses (`poll`, `wait`, `send_signal`, `kill`, `terminate`)."""

    stdin = stdout = stderr = None

    def __init__(self):
        self.pid: int | None = None
        self.returncode: int | None = None
        self.outcome: dict | None = None
        self._pidfd: int | None = None
        self._started = threading.Event()
        self._ended = threading.Event()

    def _set_pid(self, pid: int) -> None:
        self.pid = pid
        try:
            self._pidfd = os.pidfd_open(pid)
        except (OSError, AttributeError):  # gone already, or not Linux
            self._pidfd = None
        self._started.set()

    def _finish(self, outcome: dict) -> None:
        self.outcome = outcome
        if outcome.get("signal"):
            self.returncode = -outcome["signal"]
        else:
            self.returncode = (
                outcome.get("exit_code") if outcome.get("exit_code") is not None else -1
            )
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        self._started.set()
        self._ended.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        self._ended.wait(timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is not None or self.pid is None:
            return
        try:
            if self._pidfd is not None:  # never a reused pid
                signal.pidfd_send_signal(self._pidfd, signum)
            else:
                os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ZygoteError(RuntimeError):
    """The zygote could not start, or stopped; the message says why."""


class ZygoteClient:
    """Starts a zygote and asks it for kernels; safe to share between threads."""

    def __init__(self, threads: int, home: Path, log: Path, assignment: str | None = None):
        home.mkdir(parents=True, exist_ok=True)
        self.env = kernel_environment(threads, str(home))
        self.log = log
        self._lock = threading.Lock()
        self._handles: dict[int, KernelHandle] = {}
        self._next = 0
        self._stream = open(log, "ab")  # noqa: SIM115 (kept open for the zygote's lifetime)
        command = [sys.executable, "-m", "autograder.zygote"]
        if assignment:
            command += ["--assignment", assignment]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stream,
            env=self.env, cwd=home, start_new_session=True,
        )  # fmt: skip
        ready = self._read_ready()
        self.capabilities = ready["capabilities"]
        self.preload_seconds = ready["seconds"]
        self._reader = threading.Thread(target=self._read, daemon=True, name="zygote-reader")
        self._reader.start()

    def _read_ready(self) -> dict:
        import select

        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 1.0)
            if ready:
                line = self.process.stdout.readline()
                if not line:
                    break
                message = json.loads(line)
                if message.get("ready"):
                    return message
        self.process.kill()
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        raise ZygoteError(f"the grading zygote did not start (log {self.log}):\n{tail}")

    def _read(self) -> None:
        for line in self.process.stdout:
            message = json.loads(line)
            with self._lock:
                handle = self._handles.get(message["id"])
            if handle is None:
                continue
            if "pid" in message:
                handle._set_pid(message["pid"])
            if "outcome" in message:
                handle._finish(message["outcome"])
                with self._lock:
                    self._handles.pop(message["id"], None)
        with self._lock:  # the zygote is gone: every kernel it had is gone too
            orphans, self._handles = list(self._handles.values()), {}
        for handle in orphans:
            handle._finish({"reason": "the grading zygote stopped", "exit_code": None})

    def spawn(self, argv: list[str], spec: sandbox.SandboxSpec) -> KernelHandle:
        """A new confined kernel running `argv`; raises ZygoteError if it cannot start."""
        handle = KernelHandle()
        with self._lock:
            if self.process.poll() is not None:
                raise ZygoteError(f"the grading zygote has stopped (log {self.log})")
            self._next += 1
            request_id = self._next
            self._handles[request_id] = handle
            request = {"id": request_id, "argv": argv, "spec": asdict(spec)}
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
        if not handle._started.wait(SPAWN_TIMEOUT_SECONDS):
            raise ZygoteError("the grading zygote did not start a kernel in time")
        if handle.pid is None:
            reason = (handle.outcome or {}).get("reason")
            raise ZygoteError(f"the kernel's sandbox could not be set up: {reason}")
        return handle

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stream.close()


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--assignment", help="whose hidden checks to preload")
    serve(arguments.parse_args().assignment)
