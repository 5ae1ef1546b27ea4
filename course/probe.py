"""How a grader asks a student's kernel for values: plain data in, plain data out.

When a class is graded, the checks do not run in the student's kernel. They run in the
grading worker (the judge), which never runs student code, and reach the student's
functions only through requests to the kernel. The kernel's side of that is this module:
`serve` evaluates one request (call a function, read an attribute, run one of the course's
public helpers from `course.checks` on the student's objects) and publishes the answer as
plain data: numbers, strings, arrays, and handles for objects that stay in the kernel.

Nothing here decides anything, and nothing here is secret: a student who changes this module
in their kernel only changes what their kernel answers, which their own code decides anyway.
The encoding (`encode`, `decode`) is shared by both sides; it never pickles, so a kernel's
answer cannot run code in the grader.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import math
import sys

import numpy as np

MIME = "application/x-course-probe"
# Public objects a handle may stand for by name, so that `layer.activation is
# keras.activations.relu` holds in the grader too. Only modules the grader has imported
# already are looked up there: an answer never makes the grader import anything.
REFERABLE = ("keras.", "numpy", "builtins", "math", "tensorflow.")
# Helpers a request may run in the kernel: the course's public checks only.
HELPER_MODULES = ("course.checks.",)
MAX_DEPTH = 64


class ProbeError(Exception):
    """A request or an answer that does not follow this protocol."""


# ----------------------------------------------------------------------------- encoding


def _array_bytes(array: np.ndarray) -> str:
    if array.dtype.hasobject:
        raise ProbeError("an array of Python objects cannot be sent")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode()


def _array_from(text: str) -> np.ndarray:
    return np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)


def _is_tensor(value) -> bool:
    module = type(value).__module__ or ""
    if not module.startswith(("tensorflow", "keras", "jax", "jaxlib", "torch")):
        return False
    try:
        import keras

        # A variable stays in the kernel (a handle), so that `model.weights` keeps its
        # identity across requests; its values are one `.numpy()` away.
        if isinstance(value, (keras.KerasTensor, keras.Variable)):
            return False
        if "Variable" in type(value).__name__:
            return False
        return bool(keras.ops.is_tensor(value))
    except Exception:  # noqa: BLE001  (not a tensor keras knows)
        return False


def _float(value: float):
    return value if math.isfinite(value) else {"float": repr(value)}


def encode(value, keep=None, depth: int = 0):
    """Plain JSON for `value`. `keep(obj) -> dict` makes a handle for anything else (in the
    kernel); without it, such a value is an error (the grader sends only data)."""
    if depth > MAX_DEPTH:
        raise ProbeError("the value is nested too deeply")
    if type(value) is Remote:  # not isinstance: a Remote's __class__ is a question to the kernel
        if keep is None:
            raise ProbeError("an object of the kernel where only data was expected")
        return keep(value)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else {"int": str(value)}
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, np.ndarray):
        return {"ndarray": _array_bytes(value)}
    if isinstance(value, np.generic) and not isinstance(value, np.object_):
        return {"scalar": _array_bytes(np.asarray(value))}
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        return {kind: [encode(v, keep, depth + 1) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, (str, int)) for k in value):
        return {"dict": [[k, encode(v, keep, depth + 1)] for k, v in value.items()]}
    if _is_tensor(value):
        import keras

        array = np.asarray(keras.ops.convert_to_numpy(value))
        return {"tensor": _array_bytes(array)}
    if keep is None:
        raise ProbeError(f"a {type(value).__name__} cannot be sent to the kernel")
    return keep(value)


def decode(data, resolve=None, depth: int = 0):
    """The value `encode` made. `resolve(dict) -> object` turns a handle back into an object
    (in the kernel: the object itself; in the grader: a stand-in)."""
    if depth > MAX_DEPTH:
        raise ProbeError("the value is nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if not isinstance(data, dict) or len(data) != 1 and "handle" not in data:
        raise ProbeError(f"not a value of this protocol: {type(data).__name__}")
    if "handle" in data or "ref" in data or "name" in data:
        if resolve is None:
            raise ProbeError("a handle where only data was expected")
        return resolve(data)
    ((kind, body),) = data.items()
    if kind == "float":
        if body not in ("nan", "inf", "-inf"):
            raise ProbeError(f"not a float: {body!r}")
        return float(body)
    if kind == "int":
        return int(body)
    if kind == "ndarray":
        return _array_from(body)
    if kind == "scalar":
        return _array_from(body)[()]
    if kind == "tensor":
        import keras

        return keras.ops.convert_to_tensor(_array_from(body))
    if kind in ("list", "tuple"):
        items = [decode(v, resolve, depth + 1) for v in body]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {k: decode(v, resolve, depth + 1) for k, v in body}
    raise ProbeError(f"not a value of this protocol: {kind}")


def type_path(cls) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def public_name(obj) -> str | None:
    """`module:name` if `obj` is a module-level object of a library both sides have."""
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(module, str) or not isinstance(name, str) or "<" in name:
        return None
    if not (module + ".").startswith(REFERABLE) and module not in ("builtins", "math"):
        return None
    found = sys.modules.get(module)
    for part in name.split("."):
        found = getattr(found, part, None)
    return f"{module}:{name}" if found is obj else None


# ----------------------------------------------------------------------------- the kernel


class Server:
    """The kernel's side: a table of the objects handed out, and the requests on them."""

    def __init__(self, namespace=None):
        self.namespace = namespace  # the notebook's names (None: the IPython kernel's)
        self.objects: dict[int, object] = {}
        self.ids: dict[int, int] = {}  # id(object) -> handle, so one object has one handle
        self.mutated: list = []  # [index, array] of the arrays the last call changed

    def keep(self, obj) -> dict:
        name = public_name(obj)
        if name is not None:
            return {"ref": name}
        handle = self.ids.get(id(obj))
        if handle is None or self.objects.get(handle) is not obj:
            handle = len(self.objects) + 1
            self.objects[handle] = obj
            self.ids[id(obj)] = handle
        mro = [type_path(cls) for cls in type(obj).__mro__]
        return {"handle": handle, "type": mro, "callable": callable(obj)}

    def resolve(self, data: dict):
        if "handle" in data:
            try:
                return self.objects[data["handle"]]
            except (KeyError, TypeError):
                raise ProbeError(f"no object {data['handle']!r} in this kernel") from None
        if "name" in data:
            namespace = self.namespace if self.namespace is not None else _user_namespace()
            if data["name"] not in namespace:
                raise NameError(f"name '{data['name']}' is not defined")
            return namespace[data["name"]]
        module, _, name = str(data["ref"]).partition(":")
        found = importlib.import_module(module)
        for part in name.split("."):
            found = getattr(found, part)
        return found

    def answer(self, request: dict):
        op = request.get("op")
        target = decode(request.get("target"), self.resolve)
        args = decode(request.get("args", {"list": []}), self.resolve)
        kwargs = decode(request.get("kwargs", {"dict": []}), self.resolve)
        if op == "call":
            before = [np.copy(a) if isinstance(a, np.ndarray) else None for a in args]
            value = target(*args, **kwargs)
            # A function that changes an array it was given (x -= mean) changes the caller's:
            # say so, and the grader changes its own copy the same way.
            self.mutated = [
                [i, a]
                for i, (a, b) in enumerate(zip(args, before))
                if b is not None and not np.array_equal(a, b, equal_nan=True)
            ]
            return value
        if op == "getattr":
            return getattr(target, args[0])
        if op == "items":
            return list(target)
        if op == "len":
            return len(target)
        if op == "getitem":
            return target[args[0]]
        if op == "helper":
            module, _, name = str(request.get("helper")).partition(":")
            if not module.startswith(HELPER_MODULES):
                raise ProbeError(f"{module} is not one of the course's public checks")
            function = getattr(importlib.import_module(module), name)
            function = getattr(function, "__wrapped__", function)
            return function(*args, **kwargs)
        if op == "types":
            return [type_path(cls) for cls in type(target).__mro__]
        raise ProbeError(f"unknown request {op!r}")

    def serve(self, text: str) -> dict:
        """The answer to one request (JSON text), as plain data."""
        self.mutated = []
        try:
            value = self.answer(json.loads(text))
            answer = {"value": encode(value, self.keep)}
            if self.mutated:
                answer["mutated"] = encode(self.mutated)
            return answer
        except BaseException as error:  # noqa: BLE001  (every failure is an answer)
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            mro = [type_path(cls) for cls in type(error).__mro__]
            return {"error": {"type": mro, "message": _message(error)}}


# ----------------------------------------------------------------------------- the grader


class ProbeTimeout(BaseException):
    """The kernel did not answer in time (not an Exception: no check may swallow it)."""


class ProbeDied(BaseException):
    """The kernel ended while a check waited for it."""


class Link:
    """One student's kernel, seen from the grader: `send(text) -> answer` carries a request
    there and its answer back (the grader's judge sends them)."""

    def __init__(self, send):
        self._send = send
        self._remotes: dict[int, Remote] = {}
        self._twins: dict[int, tuple[object, dict]] = {}
        self.requests = 0

    def _keep(self, value) -> dict:
        if type(value) is Remote:
            return dict(object.__getattribute__(value, "_data"))
        twin = self._twins.get(id(value))
        if twin is not None and twin[0] is value:
            return twin[1]
        made = _twin_request(value)
        if made is not None:  # the kernel makes its own copy, used from then on
            remote = self.request("helper", None, made[1], {}, helper=made[0])
            data = dict(object.__getattribute__(remote, "_data"))
            self._twins[id(value)] = (value, data)
            return data
        name = public_name(value)
        if name is None:
            raise ProbeError(f"a {type(value).__name__} cannot be sent to the kernel")
        return {"ref": name}

    def _resolve(self, data: dict):
        if "ref" in data:
            local = _local_object(data["ref"], classes=False)
            return local if local is not None else Remote(self, {"ref": data["ref"]})
        if "handle" not in data or not isinstance(data["handle"], int):
            raise ProbeError("a name in an answer")
        handle = data["handle"]
        remote = self._remotes.get(handle)
        if remote is None:
            mro = [str(path) for path in data.get("type", [])][:64]
            remote = Remote(self, {"handle": handle}, mro, bool(data.get("callable")))
            self._remotes[handle] = remote
        return remote

    def request(self, op: str, target=None, args=(), kwargs=None, helper: str | None = None):
        body = {
            "op": op,
            "target": encode(target, self._keep),
            "args": encode(list(args), self._keep),
            "kwargs": encode(dict(kwargs or {}), self._keep),
        }
        if helper is not None:
            body["helper"] = helper
        self.requests += 1
        answer = self._send(json.dumps(body))
        if not isinstance(answer, dict):
            raise ProbeError("the kernel's answer is not one of this protocol")
        if "error" in answer:
            raise _local_error(answer["error"])
        if "value" not in answer:
            raise ProbeError("the kernel's answer holds no value")
        if op == "call" and "mutated" in answer:
            for index, array in decode(answer["mutated"]):
                mine = args[index] if isinstance(index, int) and 0 <= index < len(args) else None
                if (isinstance(mine, np.ndarray) and isinstance(array, np.ndarray)
                        and mine.shape == array.shape and mine.flags.writeable):  # fmt: skip
                    np.copyto(mine, array, casting="unsafe")
        return decode(answer["value"], self._resolve)


def _twin_request(value) -> tuple[str, list] | None:
    """How the kernel makes its own copy of a check's object that is not data: a Keras
    SeedGenerator (a check's, so that the student's code draws from a known seed)."""
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(value, keras.random.SeedGenerator):
        state = np.asarray(keras.ops.convert_to_numpy(value.state))
        return "course.checks.core:seed_generator_from", [state]
    return None


def _local_object(path: str, classes: bool = True):
    """The grader's own object for `module:name`, only if it is a class (when `classes`: for
    `isinstance`) or a Keras activation function (so that `layer.activation is
    keras.activations.relu` holds), defined there under that very name, in a library both
    sides have, already imported here. Anything else a kernel names stays a stand-in: a
    kernel must not be able to hand the grader one of its functions (`os.abort`) to call."""
    module, _, name = str(path).partition(":")
    if not (module + ".").startswith(REFERABLE) and module not in ("builtins", "math"):
        return None
    found = sys.modules.get(module)
    for part in name.split("."):
        if found is None or not part.isidentifier() or part.startswith("_"):
            return None
        found = getattr(found, part, None)
    if getattr(found, "__module__", None) != module or getattr(found, "__qualname__", None) != name:
        return None
    if isinstance(found, type):
        return found if classes else None
    if module.startswith("keras.src.activations") and callable(found):
        return found
    return None


def _local_error(data) -> BaseException:
    """The grader's exception for one the kernel raised: a check failure stays one, a built-in
    exception keeps its type (so `except ValueError` in a check still works), others become
    RuntimeError; the message is the kernel's."""
    from course.checks.core import CheckFailed

    mro = data.get("type", []) if isinstance(data, dict) else []
    message = str(data.get("message", ""))[:4000] if isinstance(data, dict) else ""
    for path in mro if isinstance(mro, list) else []:
        if path == "course.checks.core:CheckFailed":
            return CheckFailed(message)
        module, _, name = str(path).partition(":")
        if module == "builtins":
            cls = getattr(__import__("builtins"), name, None)
            if isinstance(cls, type) and issubclass(cls, Exception):
                try:
                    return cls(message)
                except Exception:  # noqa: BLE001  (a type that needs other arguments)
                    return RuntimeError(message)
    return RuntimeError(message)


class Remote:
    """An object that stays in the student's kernel: calls, attributes, items and length
    are requests to it. `isinstance` sees the nearest class of a library both sides have
    (a student's Keras model is a `keras.Model`), and one object is always one `Remote`."""

    __slots__ = ("_link", "_data", "_mro", "_callable")

    def __init__(self, link: Link, data: dict, mro=None, is_callable: bool = True):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_mro", mro)
        object.__setattr__(self, "_callable", is_callable)

    def _ask(self, op, *args, **kwargs):
        return object.__getattribute__(self, "_link").request(op, self, args, kwargs)

    def _types(self) -> list[str]:
        mro = object.__getattribute__(self, "_mro")
        if mro is None:  # a notebook name, or an object named by the kernel: ask its type
            found = self._ask("types")
            mro = [str(path) for path in found][:64] if isinstance(found, list) else []
            object.__setattr__(self, "_mro", mro)
        return mro

    def _type_name(self) -> str:
        types = self._types()
        return types[0].rpartition(":")[2].rpartition(".")[2] if types else "object"

    @property
    def __class__(self):
        for path in self._types():
            if path == "builtins:object":
                break
            found = _local_object(path)
            if isinstance(found, type):
                return found
        return Remote

    def __call__(self, *args, **kwargs):
        return object.__getattribute__(self, "_link").request("call", self, args, kwargs)

    def __getattr__(self, name):
        if name.startswith(("_repr_", "_ipython_", "__array")) or name in _NOT_ASKED:
            raise AttributeError(name)
        return self._ask("getattr", name)

    def __setattr__(self, name, value):
        raise AttributeError("a check does not change the student's objects")

    def __len__(self):
        return self._ask("len")

    def __iter__(self):
        return iter(self._ask("items"))

    def __getitem__(self, key):
        return self._ask("getitem", key)

    def __bool__(self):
        return True

    def __repr__(self):
        return f"<{self._type_name()} in the student's kernel>"


_NOT_ASKED = {"__length_hint__", "__fspath__", "__index__", "__float__", "__int__",
              "__complex__", "__iter__", "__next__", "__enter__", "__exit__",
              "__wrapped__", "__signature__", "__func__", "__self__"}  # fmt: skip


def remote_link(*values) -> Link | None:
    """The link of the first `Remote` among `values` (one level into lists and dicts)."""
    for value in values:
        items = value if isinstance(value, (list, tuple)) else (
            value.values() if isinstance(value, dict) else (value,))  # fmt: skip
        for item in items:
            if type(item) is Remote:
                return object.__getattribute__(item, "_link")
    return None


def type_name(value) -> str:
    """The name of `value`'s type, also for an object in the student's kernel."""
    if type(value) is Remote:
        return value._type_name()
    return type(value).__name__


def _message(error: BaseException) -> str:
    try:
        text = str(error)
    except Exception:  # noqa: BLE001  (an exception whose str() fails)
        text = ""
    return text[:4000]


def _user_namespace() -> dict:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise ProbeError("not running in an IPython kernel")
    return shell.user_ns


_SERVER = Server()


def serve(text: str) -> None:
    """Answer one request from the grader (the kernel runs this; it is not for students)."""
    from IPython.display import publish_display_data

    answer = _SERVER.serve(text)
    publish_display_data({MIME: json.dumps(answer)})


def seed(value: int) -> None:
    """Seed Python, NumPy and Keras at the start of a graded run, so that every run of one
    submission draws the same random numbers."""
    import keras

    keras.utils.set_random_seed(int(value) % 2**31)
