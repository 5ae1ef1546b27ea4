"""Run one submission's notebook in a confined kernel, within its limits: the grading worker.

`execute(task)` takes plain data (the sanitized notebook, the assignment's other files, the
limits) and returns plain data (the executed notebook and how the run ended). It never
touches the gradebook or the course folder, so the same function runs in the grader's own
threads or on a Dask worker on another machine. The cells are executed by nbgrader's own
`Execute` preprocessor (the same timeouts, interrupts and error handling as `nbgrader
autograde`); only the kernel is different: it is forked from a preloaded zygote, confined
by `autograder.sandbox`, and the whole submission has one wall-time, memory and output budget.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import json
import os
import queue
import shutil
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.provisioning import LocalProvisioner
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import default

from autograder import judge, limits, sandbox
from autograder.zygote import PASSED_ENVIRONMENT, ZygoteClient
from course.probe import MIME, Link, ProbeDied, ProbeError, ProbeTimeout

ROOT = Path(__file__).resolve().parent.parent
# What a kernel must never see of the course folder: solutions, private checks and values,
# other students' work, the gradebook, the grading logs. (The preloaded zygote has already
# imported the hidden checks, so the tests still run.)
HIDDEN_COURSE_PATHS = ("source", "autograder", "submitted", "autograded", "feedback",
                       "gradebook.db", "gradebook.db-journal", "grading", "demo", ".git",
                       "benchmarks")  # fmt: skip

# Grading runs a notebook down to its last graded cell: what comes after cannot change a
# grade (nbgrader scores each graded cell by its own outputs), and in these notebooks it is
# most of the run (training and plots). `Task.all_cells` runs everything, as nbgrader does.
SKIPPED_NOTE = "[not run when grading: no graded cell comes after this one]\n"

STATUS_GRADED = "graded"
STATUS_TIME = "over the time limit"
STATUS_MEMORY = "over the memory limit"
STATUS_DIED = "kernel died"
STATUS_WORKER = "grading error"


@dataclass
class Task:
    """Everything a worker needs to run one submission: plain data, no paths of the course."""

    student: str
    assignment: str
    notebook: str  # the sanitized notebook (nbformat JSON)
    files: dict[str, str] = field(default_factory=dict)  # other files: path -> base64 bytes
    wall_seconds: float = limits.UNMEASURED_WALL_SECONDS
    memory_bytes: int = limits.SUBMISSION_MEMORY_BYTES
    output_bytes: int = limits.OUTPUT_BYTES_PER_CELL
    execute_config: dict = field(default_factory=dict)  # nbgrader's `Execute` settings
    threads: int = 1  # TensorFlow / BLAS threads of the kernel
    memory_enforcement: str = "auto"
    course_version: str = ""  # the grader's; a worker with other code refuses the task
    all_cells: bool = False  # also run the cells after the last graded one (no grade needs them)
    hide: list[str] = field(default_factory=list)  # the graded course's private paths
    isolate: bool = True  # namespaces and a user switch where the machine allows them
    # The test cells' code, grade_id -> source, as the gradebook holds it. Each is judged
    # here (`autograder.judge`) instead of being run in the kernel; None runs them in the
    # kernel, as plain nbgrader does.
    checks: dict[str, str] | None = None
    seed_key: str = ""  # the submission's key for the hidden checks' seeds


@dataclass
class Result:
    """How one submission's run ended; `notebook` holds every cell that ran (or None)."""

    student: str
    status: str
    detail: str = ""
    notebook: str | None = None
    seconds: float = 0.0
    peak_bytes: int | None = None
    cells_run: int = 0
    cells_not_run: int = 0  # stopped by a limit or a dead kernel: they earn no points
    cells_skipped: int = 0  # after the last graded cell, not run (see SKIPPED_NOTE)
    isolated: bool = False
    memory_enforcement: str = ""
    host: str = field(default_factory=socket.gethostname)
    worker_pid: int = field(default_factory=os.getpid)  # the process that ran it
    kernel_start_seconds: float | None = None  # from the request to the first cell
    cell_seconds: dict[str, float] = field(default_factory=dict)
    # For the instructor: per judged cell, the hidden seeds it drew and, where a check could
    # not finish, what went wrong (never shown to the student).
    judged: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------- the kernel


class ZygoteProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, but the kernel is forked by the zygote, confined."""

    zygote: ZygoteClient | None = None
    spec: sandbox.SandboxSpec | None = None
    handle = None

    async def launch_kernel(self, cmd, **kwargs):
        self.process = await asyncio.to_thread(self.zygote.spawn, list(cmd), self.spec)
        self.handle = self.process  # kept: jupyter_client forgets `process` once it has ended
        self.pid = self.process.pid
        self.pgid = None  # signals go to the kernel; its namespace takes its children with it
        self.cwd = kwargs.get("cwd")
        return self.connection_info


class ConfinedExecute(Execute):
    """nbgrader's Execute with a whole-submission deadline, an output budget per cell, and a
    kernel that may die: every cell it did not run is marked, so it earns no points."""

    def __init__(self, *, zygote, spec, deadline, output_bytes, total_bytes, last_cell=None,
                 checks=None, seed_key="", **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.checks = checks  # grade_id -> the gradebook's test code, judged here
        self.seed_key = seed_key
        self.judged: dict[str, dict] = {}
        self._client = None  # the judge's blocking connection to the kernel
        self._link = Link(self._send)
        self._judge_deadline = 0.0
        self._seeded = False
        self.store_widget_state = False  # widget state is not a grade; it has no size limit
        self.total_bytes = total_bytes
        self._total = 0
        self.last_cell = last_cell  # index of the last cell a grade can depend on
        self.zygote, self.spec = zygote, spec
        self.deadline, self.output_bytes = deadline, output_bytes
        self.stop: str | None = None  # why the rest of the notebook does not run
        self.handle = None
        self.cells_run = 0
        self.cells_not_run = 0
        self.cells_skipped = 0
        self._output_used: dict[int, int] = {}
        self._cut: set[int] = set()
        self.cell_seconds: dict[str, float] = {}  # cell id -> seconds it ran
        self.first_cell_at: float | None = None

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        folder = Path(self.spec.runtime)
        km.transport = "ipc"  # Unix sockets in the scratch folder: the kernel has no network
        km.ip = str(folder / "ipc")
        km.connection_file = str(folder / "connection.json")
        km.kernel_id = str(uuid.uuid4())
        km.client_factory = LimitedKernelClient
        provisioner = ZygoteProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec,
                                        parent=km)  # fmt: skip
        provisioner.zygote, provisioner.spec = self.zygote, self.spec
        km.provisioner = provisioner
        self._provisioner = provisioner
        return km

    @property
    def kernel_handle(self):
        provisioner = getattr(self, "_provisioner", None)
        return provisioner.handle if provisioner is not None else None

    async def _async_check_alive(self) -> None:
        # The zygote says at once when a kernel has ended; the heartbeat takes seconds to.
        handle = self.kernel_handle
        if handle is not None and handle.poll() is not None:
            raise DeadKernelError("Kernel died")
        await super()._async_check_alive()

    # ------------------------------------------------------------------------- judging

    def _judged_cell(self, cell) -> str | None:
        """The grade_id of a test cell to judge here rather than run, or None."""
        meta = cell.metadata.get("nbgrader", {})
        if self.checks is None or not meta.get("grade") or meta.get("solution"):
            return None
        return str(meta.get("grade_id", ""))

    def _judge_cell(self, cell, grade_id: str, began: float) -> None:
        """Judge one test cell (see `autograder.judge`) and give it the verdict's outputs.

        A test cell whose grade_id the gradebook does not hold is not judged: it fails.
        """
        cell_limit = began + (self.timeout if self.timeout else 10**9)
        self._judge_deadline = min(self.deadline, cell_limit)
        source = self.checks.get(grade_id)
        if source is None:
            verdict = judge.Verdict(
                grade_id,
                passed=False,
                ename="NotGraded",
                message="This is not a test cell of this assignment.",
            )
        else:
            verdict = judge.judge(source, grade_id, self._link, self.seed_key)
        cell.outputs = judge.outputs(verdict)
        cell.execution_count = None
        self.judged[grade_id] = {"passed": verdict.passed, "seeds": verdict.seeds,
                                 "requests": verdict.requests}  # fmt: skip
        if verdict.detail:
            self.judged[grade_id]["detail"] = verdict.detail
        if verdict.stop == "died":
            raise DeadKernelError("Kernel died")
        if verdict.stop == "timeout" and time.monotonic() >= self.deadline:
            raise asyncio.TimeoutError

    def _blocking_client(self) -> BlockingKernelClient:
        if self._client is None:
            client = LimitedBlockingClient()
            client.load_connection_info(self.km.get_connection_info())
            client.start_channels()
            self._client = client
        return self._client

    def _exchange(self, code: str, seconds: float) -> str | None:
        """Run `code` in the kernel; return the probe answer it published (or None)."""
        client = self._blocking_client()
        msg_id = client.execute(code, silent=False, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + seconds
        answer = None
        while True:
            remaining = deadline - time.monotonic()
            handle = self.kernel_handle
            if handle is not None and handle.poll() is not None:
                raise ProbeDied()
            if remaining <= 0:
                self._interrupt(client, msg_id)
                raise ProbeTimeout(f"{seconds:.0f}")
            try:
                msg = client.get_iopub_msg(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "display_data" and isinstance(content.get("data"), dict):
                found = content["data"].get(MIME)
                if isinstance(found, str):
                    answer = found
            elif kind == "status" and content.get("execution_state") == "idle":
                return answer

    def _interrupt(self, client, msg_id: str) -> None:
        """Stop what the kernel is doing for a request that took too long; kill it if it
        does not stop within a few seconds."""
        import signal

        handle = self.kernel_handle
        if handle is None:
            return
        handle.send_signal(signal.SIGINT)
        until = time.monotonic() + 5
        while time.monotonic() < until:
            try:
                msg = client.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                continue
            if (msg.get("parent_header", {}).get("msg_id") == msg_id
                    and msg["msg_type"] == "status"
                    and msg["content"].get("execution_state") == "idle"):  # fmt: skip
                return
        handle.kill()

    def _send(self, text: str) -> dict:
        """The Link's transport: one request to the kernel, its answer as parsed JSON."""
        code = f"__import__('course.probe', fromlist=['serve']).serve({text!r})"
        answer = self._exchange(code, max(0.0, self._judge_deadline - time.monotonic()))
        if answer is None:
            raise ProbeError("the kernel did not answer the check")
        try:
            return json.loads(answer)
        except (ValueError, RecursionError):
            raise ProbeError("the kernel's answer is not one of this protocol") from None

    def _seed_kernel(self, seconds: float) -> None:
        """Seed the kernel's random generators from the submission's key, before any of
        its cells runs, so that every run of one submission draws the same numbers."""
        import hashlib

        seed = int.from_bytes(hashlib.sha256(f"{self.seed_key}/kernel".encode()).digest()[:4])
        try:
            self._exchange(f"__import__('course.probe', fromlist=['seed']).seed({seed})", seconds)
        except (ProbeTimeout, ProbeDied):
            pass  # the first cell meets the same kernel and reports it

    def close_judge(self) -> None:
        if self._client is not None:
            self._client.stop_channels()
            self._client.context.destroy(linger=0)
            self._client = None

    def _not_run(self, cell) -> None:
        cell.outputs = [
            nbformat.v4.new_output(
                "error", ename="NotGraded", evalue=self.stop,
                traceback=[f"This cell was not run: {self.stop}."],
            )
        ]  # fmt: skip
        self.cells_not_run += 1

    def _kill(self) -> None:
        handle = self.kernel_handle
        if handle is not None:
            handle.kill()

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count,
                                                    store_history)  # fmt: skip
        if self.stop is not None:
            self._not_run(cell)
            return cell
        if self.last_cell is not None and cell_index > self.last_cell:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=SKIPPED_NOTE)]
            self.cells_skipped += 1
            return cell
        began = time.monotonic()
        if self.first_cell_at is None:
            self.first_cell_at = began
        remaining = self.deadline - began
        try:
            if remaining <= 0:
                raise asyncio.TimeoutError
            if not self._seeded and self.checks is not None:
                self._seeded = True
                self._seed_kernel(min(remaining, 30.0))
            grade_id = self._judged_cell(cell)
            if grade_id is not None:
                self._judge_cell(cell, grade_id, began)
            else:
                cell = await asyncio.wait_for(
                    super().async_execute_cell(cell, cell_index, execution_count, store_history),
                    timeout=remaining,
                )
            self.cells_run += 1
        except (asyncio.TimeoutError, DeadKernelError):
            if time.monotonic() >= self.deadline:
                self.stop = (
                    f"the submission went over its time limit ({self.spec.wall_seconds:g} s)"
                )
            else:
                self.stop = "the kernel died"
            self._kill()
            self._not_run(cell)
        self.cell_seconds[cell.get("id") or str(cell_index)] = round(time.monotonic() - began, 3)
        if cell_index in self._cut:  # first, so that nbgrader's own line limit keeps it too
            cell.outputs.insert(0, nbformat.v4.new_output(
                "stream", name="stdout",
                text=f"[output cut: this cell's output went over {self.output_bytes:,} bytes; "
                     "the rest was dropped]\n",
            ))  # fmt: skip
        return cell

    def output(self, outs, msg, display_id, cell_index):
        """Keep a cell's output within `output_bytes` (and the submission's within
        `total_bytes`). Errors are always kept, cut to size: a cell with an error must fail."""
        msg_type, content = msg["msg_type"], msg["content"]
        if msg_type == "error":
            if _size(content) > self.output_bytes:
                self._cut.add(cell_index)
                msg = {**msg, "content": _trimmed_error(content, self.output_bytes)}
            return super().output(outs, msg, display_id, cell_index)
        if msg_type in ("stream", "display_data", "update_display_data", "execute_result"):
            size = _size(content)
            used = self._output_used.get(cell_index, 0)
            if used + size > self.output_bytes or self._total + size > self.total_bytes:
                self._cut.add(cell_index)
                if msg_type == "stream" and content.get("name") == "stderr":
                    # Keep that there was stderr (nbgrader gives such a test cell zero),
                    # not what it said.
                    if not any(o.get("name") == "stderr" for o in outs):
                        msg = {**msg, "content": {"name": "stderr", "text": "[stderr cut]\n"}}
                        return super().output(outs, msg, display_id, cell_index)
                return None
            self._output_used[cell_index] = used + size
            self._total += size
        return super().output(outs, msg, display_id, cell_index)


def _size(content: dict) -> int:
    """About how many bytes an output's content holds (its strings, not their JSON)."""
    total = 0
    stack = [content]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return total


def _trimmed_error(content: dict, budget: int) -> dict:
    """An error output cut to about `budget` bytes: its name, the start of its message, and
    the first lines of its traceback."""
    line = max(200, budget // 40)
    traceback = [text[:line] for text in content.get("traceback", [])[:20]]
    return {**content, "evalue": str(content.get("evalue", ""))[: budget // 4],
            "traceback": [*traceback, "[traceback cut]"]}  # fmt: skip


class LimitedKernelClient(AsyncKernelClient):
    """jupyter_client's client, whose sockets drop a message bigger than MESSAGE_BYTES (and
    with it the connection) instead of taking it into the grader's memory."""

    @default("context")
    def _context_default(self):
        context = super()._context_default()
        context.setsockopt(zmq.MAXMSGSIZE, limits.MESSAGE_BYTES)
        return context


class LimitedBlockingClient(BlockingKernelClient):
    """The judge's own connection to the kernel, with the same message limit."""

    @default("context")
    def _context_default(self):
        context = zmq.Context()
        context.setsockopt(zmq.MAXMSGSIZE, limits.MESSAGE_BYTES)
        return context


# ----------------------------------------------------------------------------- the worker


SCRATCH_PREFIX = "ag-"
OWNER_FILE = "owner"  # the pid of the grading process whose scratch folder this is


def _mounts_under(folder: Path) -> list[str]:
    """Mount points at or below `folder`, deepest first (from /proc/self/mountinfo)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    prefix = str(folder)
    # The mount point is the fifth field; the kernel writes a space in it as \040.
    points = [line.split()[4].replace("\\040", " ") for line in lines if len(line.split()) > 4]
    inside = [p for p in points if p == prefix or p.startswith(prefix + "/")]
    return sorted(set(inside), key=lambda p: p.count("/"), reverse=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_scratch(parent: Path | None = None) -> list[Path]:
    """Unmount and remove the scratch folders that grading processes which died left behind.

    A grader that is killed (or loses its machine) cannot run its atexit cleanup, so its
    folder, with a 512 MB tmpfs per submission that was running, would stay mounted. A
    folder is stale when the process named in its `owner` file no longer exists; folders of
    live graders, and folders without an owner file, are left alone. Returns what was swept.
    """
    parent = Path(tempfile.gettempdir()) if parent is None else parent
    swept = []
    for folder in sorted(parent.glob(SCRATCH_PREFIX + "*")):
        try:
            if folder.is_symlink() or not folder.is_dir() or folder.stat().st_uid != os.getuid():
                continue
            owner = int((folder / OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        for point in _mounts_under(folder):
            try:
                sandbox.unmount(point)
            except OSError:
                pass
        if not _mounts_under(folder):
            shutil.rmtree(folder, ignore_errors=True)
            swept.append(folder)
    return swept


class _Worker:
    """One zygote and one scratch folder per process, shared by the threads that grade."""

    _lock = threading.Lock()
    _zygotes: dict[tuple, ZygoteClient] = {}
    _scratch: Path | None = None

    @classmethod
    def _scratch_folder(cls) -> Path:  # call with the lock held
        if cls._scratch is None:
            sweep_stale_scratch()
            cls._scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
            cls._scratch.chmod(0o711)  # kernels may enter their own folder, list none
            (cls._scratch / OWNER_FILE).write_text(f"{os.getpid()}\n")
            atexit.register(shutil.rmtree, cls._scratch, True)
        return cls._scratch

    @classmethod
    def scratch(cls) -> Path:
        with cls._lock:
            return cls._scratch_folder()

    @classmethod
    def zygote(cls, threads: int, assignment: str | None = None) -> ZygoteClient:
        """The zygote for kernels of `assignment` with `threads` threads and this process's
        data settings (one per assignment: it holds that assignment's hidden checks only)."""
        settings = ((name, os.environ.get(name)) for name in PASSED_ENVIRONMENT)
        key = (threads, assignment, *settings)
        with cls._lock:
            zygote = cls._zygotes.get(key)
            if zygote is None or zygote.process.poll() is not None:
                home = cls._scratch_folder() / f"zygote-{len(cls._zygotes)}"
                zygote = ZygoteClient(threads, home, home.with_suffix(".log"), assignment)
                cls._zygotes[key] = zygote
                atexit.register(zygote.close)
            return zygote


def warm_up(threads: int = 1, assignment: str | None = None) -> dict:
    """Start this process's zygote now (it takes seconds); return what the machine allows."""
    zygote = _Worker.zygote(threads, assignment)
    return {"capabilities": zygote.capabilities, "preload_seconds": zygote.preload_seconds,
            "host": socket.gethostname()}  # fmt: skip


def _preload_judge(assignment: str) -> None:
    """Import what the judge of `assignment` runs (its hidden checks, the references, Keras)
    once per worker process, before a submission's clock starts: not on its time."""
    import importlib
    from importlib.util import find_spec

    name = "autograder.hidden.nb" + assignment.split("_", 1)[0]
    if find_spec(name) is not None:
        importlib.import_module(name)
    judge._known_hints()


def course_version() -> str:
    """A fingerprint of the code and reference values that decide a grade on this machine."""
    import hashlib

    digest = hashlib.sha256()
    for folder in ("course", "autograder"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in {".py", ".json"} and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def execute(task: Task) -> Result:
    """Run `task`'s notebook in a confined kernel and say how it ended. Never raises."""
    if task.course_version and task.course_version != course_version():
        return Result(task.student, STATUS_WORKER,
                      f"this worker ({socket.gethostname()}) has other course code than the "
                      "grader: update it to the grader's commit")  # fmt: skip
    folder = None
    start = time.monotonic()
    try:
        zygote = _Worker.zygote(task.threads, task.assignment)
        if task.checks is not None:
            _preload_judge(task.assignment)
        start = time.monotonic()  # the submission's clock starts with its kernel
        folder = _make_folder(zygote.capabilities["namespaces"] and task.isolate)
        work = folder / "work"
        for name, data in task.files.items():
            target = work / name
            if not target.resolve().is_relative_to(work.resolve()):
                continue  # a file name that points outside the folder is not copied
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(base64.b64decode(data))
        spec = sandbox.SandboxSpec(
            scratch=str(folder),
            workdir=str(work),
            runtime=str(folder / "kernel"),
            root=str(folder / "root"),
            wall_seconds=task.wall_seconds + 15,  # the supervisor's backstop
            memory_bytes=task.memory_bytes,
            cpus=task.threads,
            hide=[str(ROOT / name) for name in HIDDEN_COURSE_PATHS] + list(task.hide),
            expose=[str(ROOT / "course")],
            tmp_bytes=limits.SCRATCH_TMP_BYTES,
            file_bytes=limits.FILE_BYTES,
            processes=limits.PROCESSES,
            memory_enforcement=task.memory_enforcement,
            isolate=task.isolate,
        )
        return _run(task, zygote, spec, folder, start)
    except Exception as error:  # a failure of the grading machinery, named for the instructor
        return Result(task.student, STATUS_WORKER, f"{type(error).__name__}: {error}",
                      seconds=time.monotonic() - start)  # fmt: skip
    finally:
        if folder is not None:
            _remove_folder(folder)


def _make_folder(own_file_system: bool) -> Path:
    """A submission's folder: root's, holding `work/` and `kernel/` (the kernel's, made its
    own by the supervisor) and `root/` (its future `/`). Where the machine allows it, the
    folder is a tmpfs of its own, SCRATCH_BYTES at the most, so that a kernel cannot fill
    the grader's disk (and what it writes counts against its memory)."""
    folder = Path(tempfile.mkdtemp(dir=_Worker.scratch()))
    if own_file_system:
        sandbox.mount_tmpfs(str(folder), limits.SCRATCH_BYTES, mode="0711")
    folder.chmod(0o711)
    for name, mode in (("work", 0o700), ("kernel", 0o700), ("root", 0o755)):
        (folder / name).mkdir()
        (folder / name).chmod(mode)
    return folder


def _remove_folder(folder: Path) -> None:
    if os.path.ismount(folder):
        sandbox.unmount(str(folder))
    shutil.rmtree(folder, ignore_errors=True)


def _run(task: Task, zygote, spec, folder: Path, start: float) -> Result:
    notebook = nbformat.reads(task.notebook, as_version=4)
    config = {"Execute": dict(task.execute_config)}
    from traitlets.config import Config

    graded = [i for i, cell in enumerate(notebook.cells)
              if cell.metadata.get("nbgrader", {}).get("grade")]  # fmt: skip
    executor = ConfinedExecute(
        last_cell=None if task.all_cells or not graded else graded[-1],
        zygote=zygote,
        spec=spec,
        deadline=start + task.wall_seconds,
        output_bytes=task.output_bytes,
        total_bytes=limits.OUTPUT_BYTES_PER_SUBMISSION,
        checks=task.checks,
        seed_key=task.seed_key,
        config=Config(config),
    )
    # As nbconvert's ExecutePreprocessor.preprocess does before it runs the cells.
    NotebookClient.__init__(executor, notebook)
    executor._check_assign_resources({"metadata": {"path": spec.workdir}})
    failure = None
    try:
        asyncio.run(executor.async_execute())
    except Exception as error:  # the kernel never started, or nbclient gave up
        failure = f"{type(error).__name__}: {error}"
    finally:
        executor.close_judge()
    handle = executor.kernel_handle
    if handle is not None:
        handle.kill()
        handle.wait(30)
    outcome = (handle.outcome if handle is not None else None) or {}
    status, detail = STATUS_GRADED, ""
    reason = outcome.get("reason")
    if reason == "memory":
        status = STATUS_MEMORY
        detail = f"the kernel used more than {task.memory_bytes / 2**30:g} GB and was stopped"
    elif reason == "time" or (executor.stop or "").startswith("the submission went over"):
        status = STATUS_TIME
        detail = f"stopped after {task.wall_seconds:g} s"
    elif executor.stop == "the kernel died" or failure:
        status = STATUS_DIED
        how = (f"signal {outcome['signal']}" if outcome.get("signal")
               else f"exit status {outcome.get('exit_code')}")  # fmt: skip
        detail = f"the kernel ended by itself ({how})"
        if outcome.get("start_error"):  # read by the supervisor, at most START_ERROR_BYTES
            detail += ": could not start: " + outcome["start_error"].strip()
        elif reason and reason not in ("time", "memory"):
            detail += f": {reason}"
        elif failure:
            detail += f"; {failure}"
    if status != STATUS_GRADED and executor.stop:
        for cell in notebook.cells:
            if (
                cell.cell_type == "code"
                and cell.outputs
                and cell.outputs[-1].get("ename") == "NotGraded"
            ):
                cell.outputs[-1]["evalue"] = cell.outputs[-1]["traceback"][0] = (
                    f"This cell was not run: {status} ({detail})."
                )
    return Result(
        task.student,
        status,
        detail,
        notebook=nbformat.writes(notebook),
        seconds=time.monotonic() - start,
        peak_bytes=outcome.get("peak_bytes"),
        cells_run=executor.cells_run,
        cells_not_run=executor.cells_not_run,
        cells_skipped=executor.cells_skipped,
        isolated=bool(outcome.get("isolated")),
        memory_enforcement=outcome.get("memory_enforcement", ""),
        kernel_start_seconds=(
            None if executor.first_cell_at is None else round(executor.first_cell_at - start, 3)
        ),  # fmt: skip
        cell_seconds=executor.cell_seconds,
        judged=executor.judged,
    )


def encode_files(folder: Path, skip=(".ipynb",)) -> dict[str, str]:
    """The files of an assignment folder other than notebooks, for `Task.files`."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix not in skip and ".ipynb_checkpoints" not in path.parts:
            found[str(path.relative_to(folder))] = base64.b64encode(path.read_bytes()).decode()
    return found


def main() -> None:
    """`python -m autograder.execute TASK.json`: run one task, print its result as JSON."""
    import sys

    task = Task(**json.loads(Path(sys.argv[1]).read_text()))
    print(json.dumps(execute(task).to_dict()))


if __name__ == "__main__":
    main()
