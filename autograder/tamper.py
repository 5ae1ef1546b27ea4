"""Tamper evidence: code in a submission that reaches into grading, reported to the instructor.

    flags = scan(submitted_notebook, released_notebook)

Every code cell a student could have written or changed (one whose source is not that of a
cell of the released notebook) is parsed with `ast` and checked against `RULES`: imports
of the grader or the check modules, `sys.modules`, frames, code objects, builtins, IPython's
input transformers, course files, databases... An IPython magic is judged as the magic it
is (`!cmd` runs a shell); code hidden in a string that is built from constants (`exec("imp"
+ "ort sys")`) is scanned too. A cell that does not parse is scanned as plain text for the
same names. Comments and strings are never flagged (except as text in a cell that does not
parse).

A flag never changes a grade: the submission is graded as any other, and the instructor
reads the flags (in the grading table, the state file and the `grade` command's output) and
decides. No honest code the course holds is ever flagged (tests/test_tamper.py).
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

MAX_CODE = 120  # characters of the offending line kept in a flag
MAX_DEPTH = 3  # code in strings in code in strings ... scanned this deep
MAX_FOLDED = 100_000  # characters of a string built from constants, at most


@dataclass(frozen=True)
class Flag:
    """One line of a submission that reaches into grading.

    cell: the cell's nbgrader grade_id, else "cell N" (its 1-based place in the notebook).
    line: the 1-based line in that cell; reason: what the line does, for the instructor;
    code: the line itself, stripped, at most MAX_CODE characters.
    """

    cell: str
    line: int
    reason: str
    code: str


@dataclass(frozen=True)
class Rule:
    """One thing flagged, and why. `kind` says what `names` are:

    module: dotted names (fnmatch patterns) imported, or reached through an imported module
        (`sys.modules`, `getattr(sys, "modules")`, `importlib.import_module("gc")`); each
        also matches its submodules and attributes.
    attribute: attribute names, on any object (`f.__code__`, `getattr(f, "__code__")`).
    name: bare names used (`exec`, `get_ipython`).
    magic: IPython magics (`%run`, `%%bash`; `!cmd` is "system", `x = !cmd` is "sx").
    string: dotted names (as for module) that a string constant names, with their submodules
        (`"course.checks.nb08"`, folded as `"course." + "checks"` is).
    path: path components (fnmatch patterns) in a string given to a file function
        (`FILE_CALLS`: `open`, `Path`, `os.listdir`...) or joined to a `Path` by `/`.
    patch: (no names) an attribute of an imported module assigned, deleted or setattr'd.
    dynamic: these functions called with an attribute name that is not a plain string.
    classdef: methods or attributes a class body defines (how the checks read an object).
    """

    kind: str
    names: tuple[str, ...]
    reason: str


GRADER = "imports the grader (autograder)"
NBGRADER = "imports the grader (nbgrader)"
CHECKS = "imports the check modules (course.checks)"
MODULES = "reaches into sys.modules"
PATCH = "patches a module attribute (setattr on a module)"
CODE = "reads a code object (__code__)"
FRAMES = "walks the interpreter's frames (sys._getframe / inspect.stack / f_back)"
IPYTHON = "uses IPython's shell or input transformers"
FILES = "reads course files (open/Path on source/, autograder/, gradebook...)"
DATABASE = "database access (sqlite3, sqlalchemy, psycopg)"
CTYPES = "uses ctypes"
GC = "uses gc"
IMPORTLIB = "uses importlib"
DUNDER_IMPORT = "imports a module by name (__import__)"
BUILTINS = "touches builtins"
EXEC = "runs code built from strings (exec/eval/compile)"
NAMESPACE = "reads a namespace as a dict (globals()/vars()/locals())"
DYNAMIC = "dynamic attribute access (getattr with a computed name)"
DUNDER = "walks objects' internals (__class__, __subclasses__, __globals__, __dict__...)"
ENVIRON = "reads or changes environment variables (os.environ)"
PROCESS = "runs other programs or opens connections (subprocess, os.system, socket, !shell)"
MAGIC_FILES = "runs, loads or writes files by magic (%run, %load, %%writefile)"
DISGUISE = (
    "defines a class that changes what its objects report (activation, get_config, __getattr__...)"
)
# What a class may not redefine without being named: how the checks read a model's layers.
REPORTING = (
    "activation",
    "get_config",
    "__getattribute__",
    "__getattr__",
    "count_params",
    "weights",
    "trainable_weights",
    "layers",
    "built",
    "inputs",
    "input_shape",
    "output_shape",
    "get_weights",
    "__instancecheck__",
    "__subclasscheck__",
    "__eq__",
    "__bool__",
    "__float__",
    "__array__",
)

RULES = (
    Rule("module", ("autograder",), GRADER),
    Rule("module", ("nbgrader",), NBGRADER),
    Rule("module", ("course.checks",), CHECKS),
    Rule("module", ("sys.modules", "inspect.getmodule"), MODULES),
    # However the module is reached (`[sys][0].modules`, `(lambda m: m)(course).checks`).
    Rule("attribute", ("modules",), MODULES),
    Rule("attribute", ("checks",), CHECKS),
    # A module named in a string (`"course.checks.nb08"`), to be looked up somewhere.
    Rule("string", ("autograder",), GRADER),
    Rule("string", ("nbgrader",), NBGRADER),
    Rule("string", ("course.checks",), CHECKS),
    Rule("patch", (), PATCH),
    Rule("attribute", ("__code__", "co_code", "co_consts", "co_names", "co_varnames"), CODE),
    Rule("module", ("types.CodeType", "types.FunctionType"), CODE),
    Rule("module", ("sys._getframe", "sys._current_frames", "sys.settrace", "sys.setprofile",
                    "inspect.stack", "inspect.currentframe", "inspect.getouterframes",
                    "inspect.getinnerframes", "inspect.trace", "traceback.walk_stack",
                    "traceback.walk_tb", "threading.settrace", "threading.setprofile"), FRAMES),
    Rule("attribute", ("f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame",
                       "gi_frame", "cr_frame", "ag_frame", "__traceback__"), FRAMES),
    Rule("module", ("IPython", "ipykernel"), IPYTHON),
    Rule("name", ("get_ipython",), IPYTHON),
    Rule("attribute", ("input_transformers_post", "input_transformers_cleanup",
                       "input_transformer_manager", "ast_transformers"), IPYTHON),
    Rule("magic", ("config", "alias", "alias_magic"), IPYTHON),
    Rule("path", ("source", "release", "submitted", "autograded", "feedback", "autograder",
                  "grading", "gradebook*", ".git", "nbgrader_config.py", "*.ipynb", "checks",
                  "hidden", "reference", "references"), FILES),
    Rule("module", ("sqlite3", "_sqlite3", "sqlalchemy", "psycopg", "psycopg2", "pymysql",
                    "MySQLdb", "dbm", "shelve"), DATABASE),
    Rule("module", ("ctypes", "_ctypes", "cffi"), CTYPES),
    Rule("module", ("gc",), GC),
    Rule("module", ("importlib", "imp", "zipimport", "pkgutil", "sys.meta_path",
                    "sys.path_hooks", "sys.path_importer_cache"), IMPORTLIB),
    Rule("name", ("__import__",), DUNDER_IMPORT),
    Rule("attribute", ("__import__",), DUNDER_IMPORT),
    Rule("module", ("builtins", "__builtin__"), BUILTINS),
    Rule("name", ("__builtins__",), BUILTINS),
    Rule("attribute", ("__builtins__",), BUILTINS),
    Rule("name", ("exec", "eval", "compile"), EXEC),
    Rule("module", ("runpy", "marshal", "codeop", "code.interact", "code.InteractiveConsole",
                    "code.InteractiveInterpreter"), EXEC),
    Rule("name", ("globals", "vars", "locals"), NAMESPACE),
    Rule("dynamic", ("getattr", "setattr", "delattr"), DYNAMIC),
    Rule("attribute", ("__class__", "__subclasses__", "__bases__", "__base__", "__mro__",
                       "__globals__", "__dict__", "__closure__", "__func__", "__self__",
                       "__defaults__", "__kwdefaults__", "__getattribute__", "__setattr__",
                       "__delattr__", "__loader__", "__spec__", "__file__", "__path__"), DUNDER),
    Rule("name", ("__loader__", "__spec__"), DUNDER),
    Rule("module", ("os.environ", "os.environb", "os.getenv", "os.putenv", "os.unsetenv"),
         ENVIRON),
    Rule("magic", ("env", "set_env"), ENVIRON),
    Rule("module", ("subprocess", "os.system", "os.popen", "os.exec*", "os.spawn*",
                    "os.posix_spawn*", "os.fork*", "pty", "socket", "multiprocessing",
                    "asyncio.create_subprocess_*"), PROCESS),
    Rule("magic", ("system", "sx", "bash", "sh", "script", "perl", "ruby"), PROCESS),
    Rule("magic", ("run", "load", "loadpy", "writefile"), MAGIC_FILES),
    Rule("classdef", REPORTING, DISGUISE),
)  # fmt: skip

# Functions whose string arguments are paths (matched by their own name, e.g. `os.listdir`).
FILE_CALLS = frozenset({
    "open", "Path", "PurePath", "PosixPath", "WindowsPath", "FileIO", "listdir", "scandir",
    "walk", "glob", "iglob", "rglob", "joinpath", "read_text", "read_bytes", "copy", "copy2",
    "copyfile", "copytree", "move", "load", "loadtxt", "genfromtxt", "fromfile", "read_csv",
    "read", "getline", "getlines", "exists", "isfile", "isdir", "stat", "symlink",
})  # fmt: skip
# Magics whose argument is Python code: scanned as code.
PYTHON_MAGICS = frozenset({"time", "timeit", "prun", "capture", "debug"})
# Modules a kernel may hold without the notebook importing them (the header imports sys).
WELL_KNOWN = frozenset({"sys", "os", "builtins", "gc", "inspect", "importlib", "ctypes",
                        "subprocess", "socket", "types", "traceback"})  # fmt: skip
# What IPython turns a magic into: get_ipython().METHOD(...) with constant strings.
MAGIC_METHODS = frozenset({"run_line_magic", "run_cell_magic", "system", "getoutput"})
RANK = {reason: rank for rank, reason in enumerate(dict.fromkeys(r.reason for r in RULES))}
BY_KIND = {kind: [rule for rule in RULES if rule.kind == kind] for kind in {r.kind for r in RULES}}


def rules(kind: str) -> list[Rule]:
    return BY_KIND.get(kind, [])


@functools.cache
def _pattern(patterns: tuple[str, ...], dotted: bool) -> re.Pattern:
    """One regular expression for fnmatch `patterns` (dotted: each also matches below it)."""
    patterns += tuple(p + ".*" for p in patterns) if dotted else ()
    return re.compile("|".join(fnmatch.translate(p) for p in patterns))


def _matches(value: str, patterns: tuple[str, ...], dotted: bool = False) -> bool:
    """Whether `value` matches a pattern (for a dotted name: or lies under one)."""
    return _pattern(patterns, dotted).match(value) is not None


# ----------------------------------------------------------------------------- the notebook


def scan(submitted: nbformat.NotebookNode,
         released: nbformat.NotebookNode | None) -> list[Flag]:  # fmt: skip
    """Flags for every code cell of `submitted` whose source is not that of a cell of
    `released` (the student version; None: scan every code cell), in notebook order."""
    unchanged = set() if released is None else {
        _normal(c.source) for c in released.cells if c.cell_type == "code"
    }  # fmt: skip
    cells = [(i, c) for i, c in enumerate(submitted.cells) if c.cell_type == "code"]
    trees = {i: _parse(c.source) for i, c in cells}
    names = Names([tree for tree in trees.values() if tree is not None])
    flags = []
    for index, cell in cells:
        if _normal(cell.source) in unchanged:
            continue
        label = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
        if trees[index] is not None:
            found = Finder(names).findings(trees[index])
        else:
            found = text_findings(cell.source)
        lines = cell.source.splitlines()
        for line, reason in sorted(set(found), key=lambda f: (f[0], RANK[f[1]])):
            code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            flags.append(Flag(label, line, reason, code[:MAX_CODE]))
    return flags


def scan_file(path: Path, released_path: Path | None) -> list[dict]:
    """`scan` of the notebook at `path` against the one at `released_path` (if it exists),
    as dicts (`dataclasses.asdict`). Never raises: a file that is missing or not a notebook
    gets no flags (it is reported as not gradable), and an error of the scan itself becomes
    one flag that says so."""
    try:
        submitted = nbformat.read(path, as_version=4)
    except Exception:  # missing, not JSON, not a notebook: check_submission names it
        return []
    try:
        released = None
        if released_path is not None and Path(released_path).is_file():
            released = nbformat.read(released_path, as_version=4)
        return [asdict(flag) for flag in scan(submitted, released)]
    except Exception as error:  # a scan must never stop grading; the instructor should look
        reason = f"could not be scanned: {type(error).__name__}: {error}"[:200]
        return [asdict(Flag("-", 0, reason, ""))]


def _normal(source: str) -> str:
    """A cell's source as compared with the released cells: trailing blanks do not count."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _parse(source: str) -> ast.Module | None:
    """The cell's syntax tree, with IPython's magics as the calls IPython makes of them;
    None if it does not parse even so."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(source))
    except Exception:  # not Python even with magics (or IPython failed on it): read as text
        return None


def fold(node: ast.AST) -> str | None:
    """The string an expression built only from string constants stands for, else None:
    "s" + "ys", f"{'mod'}ules", "".join(["autog", "rader"])."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = fold(node.left), fold(node.right)
        if left is not None and right is not None and len(left) + len(right) <= MAX_FOLDED:
            return left + right
        return None
    if isinstance(node, ast.FormattedValue) and node.conversion == -1 and not node.format_spec:
        return fold(node.value)
    if isinstance(node, ast.JoinedStr):
        parts = [fold(value) for value in node.values]
        return "".join(parts) if None not in parts else None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "join" and len(node.args) == 1 and not node.keywords
            and isinstance(node.args[0], (ast.List, ast.Tuple))):  # fmt: skip
        separator = fold(node.func.value)
        parts = [fold(element) for element in node.args[0].elts]
        if separator is not None and None not in parts:
            joined = separator.join(parts)
            return joined if len(joined) <= MAX_FOLDED else None
    return None


class Names:
    """What the notebook's names stand for: module (or module attribute) -> dotted name.

    Built from every code cell, changed or not, so that a changed cell using `checks` that
    an unchanged test cell imported is seen for what it is.
    """

    def __init__(self, trees: list[ast.Module]):
        self.aliases: dict[str, str] = {}
        self.assigned: set[str] = set()
        assignments = []
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        top = alias.name.split(".")[0]
                        self.aliases[alias.asname or top] = alias.name if alias.asname else top
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    for alias in node.names:
                        if alias.name != "*":
                            self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    self.assigned.add(node.id)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    self.assigned.add(node.name)
                elif isinstance(node, ast.arg):
                    self.assigned.add(node.arg)
                if (isinstance(node, ast.Assign) and len(node.targets) == 1
                        and isinstance(node.targets[0], ast.Name)):  # fmt: skip
                    assignments.append(node)
        for _ in range(2):  # `m = sys` then `n = m`
            for node in assignments:
                dotted = self.resolve(node.value)
                if dotted:
                    self.aliases[node.targets[0].id] = dotted

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted name of the module (or module attribute) an expression reaches, if it
        reaches one: `sys.modules`, `sys.modules["gc"]` -> "gc", `__import__("s" + "ys")`."""
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            return node.id if node.id in WELL_KNOWN and node.id not in self.assigned else None
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Subscript) and self.resolve(node.value) == "sys.modules":
            return fold(node.slice)
        if isinstance(node, ast.Call) and node.args:
            function = self.function(node)
            if function in ("__import__", "builtins.__import__", "importlib.import_module",
                            "importlib.__import__"):  # fmt: skip
                return fold(node.args[0])
            if function == "getattr" and len(node.args) >= 2:
                base, name = self.resolve(node.args[0]), fold(node.args[1])
                return f"{base}.{name}" if base and name else None
        return None

    def function(self, call: ast.Call) -> str | None:
        """What a call calls: a dotted name through a module, or a bare name (a builtin)."""
        dotted = self.resolve(call.func)
        if dotted is None and isinstance(call.func, ast.Name):
            return call.func.id
        return dotted


# ----------------------------------------------------------------------------- one cell


class Finder(ast.NodeVisitor):
    """(line, reason) of everything in one cell's tree that `RULES` flags."""

    def __init__(self, names: Names, depth: int = 0):
        self.names, self.depth = names, depth
        self.found: list[tuple[int, str]] = []
        self.exempt: set[int] = set()  # nodes seen to be harmless (`"x" in sys.modules`)

    def findings(self, tree: ast.AST) -> list[tuple[int, str]]:
        self.visit(tree)
        return self.found

    def add(self, node: ast.AST, reason: str) -> None:
        self.found.append((getattr(node, "lineno", 1), reason))

    def check(self, node: ast.AST, kind: str, value: str) -> None:
        for rule in rules(kind):
            if _matches(value, rule.names, dotted=kind in ("module", "string")):
                self.add(node, rule.reason)

    def nested(self, node: ast.AST, code: str, python: bool = True) -> None:
        """Scan code held in a string (exec's argument, a magic's body) at `node`'s line."""
        tree = _parse(code) if python and self.depth < MAX_DEPTH else None
        inner = Finder(self.names, self.depth + 1).findings(tree) if tree else text_findings(code)
        for _, reason in inner:
            self.add(node, reason)

    def course_paths(self, node: ast.AST, parts: list[ast.AST]) -> None:
        """FILES if a string in `parts` (an argument whole, or a constant in it) is a course
        path: `open("../" + "autograder")`, `open(os.path.join(root, "gradebook.db"))`."""
        for part in parts:
            texts = [fold(part), *(fold(sub) for sub in ast.walk(part)
                                   if isinstance(sub, ast.Constant))]  # fmt: skip
            if any(text and is_course_path(text) for text in texts):
                self.add(node, FILES)
                return

    # --- visitors

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for item in node.body:
            names = []
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [item.name]
            elif isinstance(item, ast.Assign):
                names = [t.id for t in item.targets if isinstance(t, ast.Name)]
            for name in names:
                self.check(item, "classdef", name)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.check(node, "module", alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self.check(node, "module", node.module)
            for alias in node.names:
                if alias.name != "*":
                    self.check(node, "module", f"{node.module}.{alias.name}")

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.check(node, "name", node.id)
            dotted = self.names.resolve(node)
            if dotted:
                self.check(node, "module", dotted)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if id(node) not in self.exempt:
            self.check(node, "attribute", node.attr)
        dotted = self.names.resolve(node)
        if dotted and id(node) not in self.exempt:
            self.check(node, "module", dotted)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self.check(node, "string", node.value)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        folded = fold(node)
        if folded is not None:
            self.check(node, "string", folded)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        """`"google.colab" in sys.modules` asks whether a module is loaded: harmless."""
        for op, right in zip(node.ops, node.comparators):
            if (isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, ast.Attribute)
                    and self.names.resolve(right) == "sys.modules"):  # fmt: skip
                self.exempt.add(id(right))
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.patched(node, node.targets)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.patched(node, [node.target])
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.patched(node, [node.target])
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        self.patched(node, node.targets)
        self.generic_visit(node)

    def patched(self, node: ast.AST, targets: list[ast.AST]) -> None:
        """`np.allclose = ...`, `del checks.check_x`: an imported module's attribute replaced
        (not `plt.rcParams["x"] = ...`, which sets an item of it)."""
        targets = list(targets)
        while targets:
            target = targets.pop()
            if isinstance(target, (ast.Tuple, ast.List)):
                targets += target.elts
            elif isinstance(target, ast.Starred):
                targets.append(target.value)
            elif isinstance(target, ast.Attribute) and self.names.resolve(target.value):
                self.add(node, PATCH)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        """`Path("/course") / "source"`: the strings joined to a Path are paths too; and
        `"course." + "checks"` is a string that names a module."""
        folded = fold(node) if isinstance(node.op, ast.Add) else None
        if folded is not None:
            self.check(node, "string", folded)
        if isinstance(node.op, ast.Div):
            operands, left = [node.right], node.left
            while isinstance(left, ast.BinOp) and isinstance(left.op, ast.Div):
                operands.append(left.right)
                left = left.left
            operands.append(left)
            if any(isinstance(o, ast.Call) and _called_name(o) in FILE_CALLS for o in operands):
                self.course_paths(node, operands)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if self.magic(node):
            return
        function = self.names.function(node)
        if function in ("exec", "eval", "compile") and node.args:
            code = fold(node.args[0])
            if code is not None:
                self.nested(node, code)
        if function in ("__import__", "importlib.import_module") and node.args:
            module = fold(node.args[0])
            if module:
                self.check(node, "module", module)
        self.attribute_call(node, function)
        if _called_name(node) in FILE_CALLS:
            self.course_paths(node, [*node.args, *(k.value for k in node.keywords)])
        self.generic_visit(node)

    def attribute_call(self, node: ast.Call, function: str | None) -> None:
        """getattr/setattr/delattr(obj, name): a computed name is flagged, a constant one is
        judged as `obj.name` would be, and setattr/delattr on a module is a patch."""
        if len(node.args) < 2 or not any(function in rule.names for rule in rules("dynamic")):
            return
        name_node = node.args[1]
        if not (isinstance(name_node, ast.Constant) and isinstance(name_node.value, str)):
            self.check(node, "dynamic", function)
        name = fold(name_node)
        base = self.names.resolve(node.args[0])
        if name is not None:
            self.check(node, "attribute", name)
            if base:
                self.check(node, "module", f"{base}.{name}")
        if base and function in ("setattr", "delattr"):
            self.add(node, PATCH)

    def magic(self, node: ast.Call) -> bool:
        """A magic as IPython runs it (`get_ipython().system("ls")` for `!ls`): judged by
        its name, and its argument scanned as code or as text. False if not a magic."""
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr in MAGIC_METHODS
                and isinstance(func.value, ast.Call) and not func.value.args
                and isinstance(func.value.func, ast.Name) and func.value.func.id == "get_ipython"
                and node.args and not node.keywords
                and all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                        for a in node.args)):  # fmt: skip
            return False
        args = [a.value for a in node.args]
        if func.attr in ("system", "getoutput"):
            name, text = ("system" if func.attr == "system" else "sx"), args[0]
        elif len(args) >= 2:  # run_line_magic(name, line), run_cell_magic(name, line, body)
            name, text = args[0], "\n".join(args[1:])
        else:
            return False
        self.check(node, "magic", name)
        if name in PYTHON_MAGICS:  # %time CODE, %%time OPTIONS\nCODE
            self.nested(node, args[-1])
        else:
            self.nested(node, text, python=False)
            if any(is_course_path(word.strip("'\"")) for word in text.split()):
                self.add(node, FILES)
        return True


def _called_name(call: ast.Call) -> str | None:
    """A call's own function name: `open`, `listdir` of `os.listdir`."""
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def is_course_path(text: str) -> bool:
    """Whether a string names a course file or folder no submission needs (`FILES`)."""
    patterns = tuple(name for rule in rules("path") for name in rule.names)
    parts = [part.lower() for part in re.split(r"[\\/]+", text) if part]
    return any(_matches(part, patterns) for part in parts)


# ----------------------------------------------------------------------------- as text


def _dotted_regex(pattern: str) -> str:
    parts = [re.escape(part).replace(r"\*", r"\w*") for part in pattern.split(".")]
    if len(parts) == 1:  # a module on its own: imported, or used through a dot
        return rf"\b(?:import|from)\s+{parts[0]}\b|(?<![\w.]){parts[0]}\s*\.\s*\w"
    return r"(?<![\w.])" + r"\s*\.\s*".join(parts) + r"\b"


def _text_rules() -> list[tuple[re.Pattern, str]]:
    """The rules as regular expressions over a line (for cells that do not parse)."""
    compiled = []
    for rule in RULES:
        for name in rule.names:
            if rule.kind == "module":
                regex = _dotted_regex(name)
            elif rule.kind == "attribute":
                regex = rf"\.\s*{re.escape(name)}\b"
            elif rule.kind in ("name", "dynamic"):
                regex = rf"(?<![\w.]){re.escape(name)}\b"
                if rule.kind == "dynamic":
                    continue  # a computed name cannot be told from text
            elif rule.kind == "magic":
                regex = r"^\s*!|=\s*!" if name == "system" else rf"^\s*%{{1,2}}{re.escape(name)}\b"
            else:
                continue
            compiled.append((re.compile(regex), rule.reason))
    return compiled


TEXT_RULES = _text_rules()
FILE_CALL_TEXT = re.compile(rf"\b(?:{'|'.join(sorted(FILE_CALLS))})\s*\(")
QUOTED = re.compile(r"""(['"])(.*?)\1""")


def text_findings(source: str) -> list[tuple[int, str]]:
    """(line, reason) for a cell that does not parse: the rules' names found in its text,
    comments left out."""
    found = []
    for number, line in enumerate(source.splitlines(), start=1):
        line = _without_comment(line)
        found += [(number, reason) for regex, reason in TEXT_RULES if regex.search(line)]
        if FILE_CALL_TEXT.search(line) and any(is_course_path(m[1]) for m in QUOTED.findall(line)):
            found.append((number, FILES))
    return found


def _without_comment(line: str) -> str:
    """The line up to a `#` that is not inside a string."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#":
            return line[:index]
    return line


__all__ = ["Flag", "RULES", "Rule", "scan", "scan_file"]
