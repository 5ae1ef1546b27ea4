"""Put a submission's graded and locked cells back in shape before nbgrader sanitizes it.

nbgrader restores the text of every locked cell from the gradebook when it sanitizes a
submission (`OverwriteCells`): an edited test cell, a locked cell whose `locked` flag was
turned off or a test cell whose points were changed grade as the assignment says. Other
edits do not: a copy-pasted test cell makes nbgrader refuse the whole submission (with a
message about "an old version of the nbgrader metadata"), a deleted test cell silently
costs its points, and a notebook whose nbgrader metadata was lost (its cells pasted into a
new notebook) silently gets 0. `repair` mends a copy of the submission so that it gets the
grade its code deserves, and names every change it made for the instructor:

- graded and locked cells are matched to the assignment's by `grade_id`; of a grade_id seen
  twice, one cell is kept: the first, or for a locked cell the first copy that stands in the
  assignment's order (other locked copies are dropped, other solution copies stay as
  ordinary cells that earn nothing);
- a cell whose grade_id is not the assignment's loses its nbgrader metadata (it earns
  nothing and never reaches the gradebook);
- a cell without nbgrader metadata is recognised as a locked cell of the assignment by its
  text (what the student version shows), or as a solution cell by the functions and classes
  it defines, and gets that cell's metadata;
- a cell whose type was changed gets its type back; a solution cell's `grade` and
  `solution` flags, which nbgrader does not restore, are restored;
- every locked cell is put back where the assignment has it relative to the solution
  cells (missing ones inserted after the nearest preceding cell that is present), while
  the student's solution cells and own cells keep their order.

An untouched submission is returned unchanged (an equal copy), with no report.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode

FLAGS = ("grade", "solution", "locked", "task")  # nbgrader's roles of a cell
RESTORED_FLAGS = ("grade", "solution", "task")  # those nbgrader's OverwriteCells leaves as found
DEFINITION = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)


@dataclass
class SourceCell:
    """One cell of the assignment that nbgrader knows by its grade_id."""

    index: int  # position in the source notebook
    rank: int  # position among the cells nbgrader tracks
    cell: NotebookNode
    meta: dict

    @property
    def grade_id(self) -> str:
        return self.meta["grade_id"]

    @property
    def locked(self) -> bool:
        """Whether nbgrader restores the cell from the gradebook (as `nbgrader.utils.is_locked`)."""
        return not self.meta.get("solution") and bool(
            self.meta.get("grade") or self.meta.get("locked") or self.meta.get("task")
        )

    @property
    def kind(self) -> str:
        return kind(self.meta)

    def visible(self) -> str:
        """The text the student version shows: the source without its hidden tests."""
        return visible_source(self.cell)

    def names(self) -> set[str]:
        return defined_names(self.cell.source)


@dataclass
class Placed:
    """A cell of the repaired notebook, with the assignment's cell it stands for (if any)."""

    cell: NotebookNode
    source: SourceCell | None = None
    eligible: bool = True  # may be recognised as an assignment cell that lost its metadata


@dataclass
class _Repair:
    notebook: NotebookNode  # the copy being repaired
    source: NotebookNode
    reports: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.tracked = tracked_cells(self.source)
        self.by_id = {c.grade_id: c for c in self.tracked}
        self.minor = int(self.notebook.get("nbformat_minor", 0) or 0)

    def run(self) -> tuple[NotebookNode, list[str]]:
        placed = self.match_by_grade_id()
        self.match_lost_metadata(placed)
        for item in placed:
            if item.source is not None:
                self.restore_cell(item)
        cells = self.reorder(placed)
        if [id(c) for c in cells] != [id(c) for c in self.notebook.cells]:
            self.notebook.cells = cells
        self.report_missing_solutions(placed)
        return self.notebook, self.reports

    # --------------------------------------------------------------- matching

    def match_by_grade_id(self) -> list[Placed]:
        """The submission's cells, each matched to the assignment's cell of its grade_id;
        duplicates and unknown grade_ids dealt with (and reported)."""
        found = [(cell, self.known(cell)) for cell in self.notebook.cells]
        keep = self.kept_copies(found)
        placed, seen = [], set()
        for position, (cell, known) in enumerate(found):
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta is None:
                placed.append(Placed(cell))
            elif known is None:
                self.strip_unknown(cell, meta)
                placed.append(Placed(cell, eligible=False))
            elif keep[known.grade_id] == position:
                placed.append(Placed(cell, known))
            elif known.locked:
                if known.grade_id not in seen:
                    self.reports.append(f"{known.kind} {known.grade_id} was duplicated; the "
                                        "copy was dropped")  # fmt: skip
            else:
                del cell.metadata["nbgrader"]
                placed.append(Placed(cell, eligible=False))
                self.reports.append(f"{known.kind} {known.grade_id} was duplicated; the copy was "
                                    "kept as an ordinary cell that earns nothing")  # fmt: skip
            if known is not None and keep[known.grade_id] != position:
                seen.add(known.grade_id)
        return placed

    def known(self, cell: NotebookNode) -> SourceCell | None:
        """The assignment's cell with the grade_id in `cell`'s nbgrader metadata, if any."""
        meta = cell.get("metadata", {}).get("nbgrader")
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        return self.by_id.get(grade_id) if isinstance(grade_id, str) else None

    def kept_copies(self, found: list) -> dict[str, int]:
        """grade_id -> the position of the one cell kept of those with that grade_id: the
        first, except that of a locked cell's copies the first one standing in the
        assignment's order (after an earlier cell of the assignment, before a later one)."""
        keep: dict[str, list[int]] = {}
        for position, (_, known) in enumerate(found):
            if known is not None:
                keep.setdefault(known.grade_id, []).append(position)

        def fits(position: int) -> int:
            known = found[position][1]
            others = [(p, k.index) for p, (_, k) in enumerate(found)
                      if k is not None and k.grade_id != known.grade_id]  # fmt: skip
            before = [index for p, index in others if p < position]
            after = [index for p, index in others if p > position]
            return ((not before or before[-1] < known.index)
                    + (not after or after[0] > known.index))  # fmt: skip

        return {grade_id: max(positions, key=fits) if self.by_id[grade_id].locked else positions[0]
                for grade_id, positions in keep.items()}  # fmt: skip

    def strip_unknown(self, cell: NotebookNode, meta) -> None:
        """Remove nbgrader metadata that is not the assignment's, so it earns nothing."""
        del cell.metadata["nbgrader"]
        if not isinstance(meta, dict):
            self.reports.append("a cell had unreadable nbgrader metadata; it was removed")
            return
        name = meta.get("grade_id")
        label = f"grade_id {name}" if name is not None else "no grade_id"
        if meta.get("grade"):
            points = meta.get("points", 0)
            self.reports.append(f"an extra graded cell ({label}, {points} points) is not part "
                                "of the assignment; it was ungraded")  # fmt: skip
        elif any(meta.get(flag) for flag in FLAGS):
            roles = ", ".join(flag for flag in FLAGS if meta.get(flag))
            self.reports.append(f"an extra {roles} cell ({label}) is not part of the assignment; "
                                "its nbgrader metadata was removed")  # fmt: skip
        else:
            self.reports.append(f"a cell ({label}) had nbgrader metadata that marks nothing; "
                                "it was removed")  # fmt: skip

    def match_lost_metadata(self, placed: list[Placed]) -> None:
        """Give the metadata of assignment cells that no cell claims to cells without any:
        locked cells by their text, solution cells by the names they define."""
        claimed = {p.source.grade_id for p in placed if p.source is not None}
        no_metadata = not claimed and not any(not p.eligible for p in placed)
        by_text = self.match_by_text(placed, claimed)
        by_names = self.match_by_names(placed, claimed)
        by_place = self.match_by_place(placed, claimed)
        if not by_text and not by_names and not by_place:
            return
        names = ", ".join(sorted({n for _, found in by_names for n in found}))
        solutions = [g for g, _ in by_names]
        if no_metadata:
            said = "the notebook had lost its nbgrader metadata"
            if solutions:
                said += (f"; {len(solutions)} solution cell(s) were recognised by the functions "
                         f"they define ({names})")  # fmt: skip
            if by_text:
                said += f"; {len(by_text)} locked cell(s) were recognised by their text"
            if by_place:
                said += f"; {', '.join(by_place)} by their place between the locked cells"
            self.reports.append(said + "; their metadata was restored from the assignment")
            return
        lost = "had lost their nbgrader metadata; recognised by"
        if solutions:
            self.reports.append(f"solution cell(s) {', '.join(solutions)} {lost} the functions "
                                f"they define ({names})")  # fmt: skip
        if by_text:
            self.reports.append(f"cell(s) {', '.join(by_text)} {lost} their text")
        if by_place:
            self.reports.append(f"solution cell(s) {', '.join(by_place)} {lost} their place "
                                "between the locked cells")  # fmt: skip

    def match_by_text(self, placed: list[Placed], claimed: set[str]) -> list[str]:
        """Cells whose text is that of an unclaimed locked cell (as the student sees it)."""
        wanted: dict[str, list[SourceCell]] = {}
        for cell in self.tracked:
            if cell.locked and cell.grade_id not in claimed and normalized(cell.visible()):
                wanted.setdefault(normalized(cell.visible()), []).append(cell)
        found = []
        for item in placed:
            if item.source is None and item.eligible and wanted.get(normalized(source_of(item))):
                item.source = wanted[normalized(source_of(item))].pop(0)
                self.give_metadata(item)
                claimed.add(item.source.grade_id)
                found.append(item.source.grade_id)
        return found

    def match_by_names(self, placed: list[Placed], claimed: set[str]):
        """Code cells that define, at top level, what one unclaimed solution cell defines
        (a name two solution cells define identifies neither). The last such cell wins: its
        definition is the one the tests see."""
        solutions = [c for c in self.tracked
                     if c.meta.get("solution") and c.cell.cell_type == "code"]  # fmt: skip
        owners: dict[str, list[str]] = {}
        for cell in solutions:
            for name in cell.names():
                owners.setdefault(name, []).append(cell.grade_id)
        found = []
        for cell in solutions:
            if cell.grade_id in claimed:
                continue
            own = {n for n in cell.names() if owners[n] == [cell.grade_id]}
            candidates = [p for p in placed if p.source is None and p.eligible
                          and p.cell.get("cell_type") == "code"
                          and own & defined_names(source_of(p))]  # fmt: skip
            if candidates:
                item = candidates[-1]
                item.source = cell
                self.give_metadata(item)
                claimed.add(cell.grade_id)
                found.append((cell.grade_id, sorted(own & defined_names(source_of(item)))))
        return found

    def match_by_place(self, placed: list[Placed], claimed: set[str]) -> list[str]:
        """A solution cell still unclaimed (a written answer, say) is the one cell of its type
        without metadata between the cells that surround it in the assignment."""
        found = []
        for cell in self.tracked:
            if not cell.meta.get("solution") or cell.grade_id in claimed:
                continue
            where = {p.source.grade_id: i for i, p in enumerate(placed) if p.source is not None}
            around = [(c.rank < cell.rank, where[c.grade_id]) for c in self.tracked
                      if c.grade_id in where]  # fmt: skip
            start = max((i for earlier, i in around if earlier), default=-1)
            end = min((i for earlier, i in around if not earlier), default=len(placed))
            candidates = [p for p in placed[start + 1 : max(start + 1, end)]
                          if p.source is None and p.eligible and normalized(source_of(p))
                          and p.cell.get("cell_type") == cell.cell.cell_type]  # fmt: skip
            if len(candidates) == 1:
                candidates[0].source = cell
                self.give_metadata(candidates[0])
                claimed.add(cell.grade_id)
                found.append(cell.grade_id)
        return found

    def give_metadata(self, item: Placed) -> None:
        item.cell.setdefault("metadata", NotebookNode())["nbgrader"] = copy.deepcopy(
            item.source.meta
        )

    # --------------------------------------------------------------- each cell

    def restore_cell(self, item: Placed) -> None:
        """The cell's type and its grade/solution flags as the assignment has them; edits that
        nbgrader itself undoes (a locked cell's text, points, the locked flag) are reported."""
        source, cell = item.source, item.cell
        meta = cell.metadata["nbgrader"]
        converted = cell.get("cell_type") != source.cell.cell_type
        if converted:
            was = cell.get("cell_type")
            item.cell = cell = self.rebuilt(cell, source)
            meta = cell.metadata["nbgrader"]
            self.reports.append(f"{source.kind} {source.grade_id} had been converted to {was}; "
                                "restored")  # fmt: skip
        changed = [f for f in RESTORED_FLAGS if bool(meta.get(f)) != bool(source.meta.get(f))]
        for flag in changed:
            meta[flag] = source.meta.get(flag, False)
        if changed:
            self.reports.append(f"{source.kind} {source.grade_id} had its nbgrader flags changed "
                                f"({', '.join(changed)}); restored")  # fmt: skip
        if source.meta.get("grade"):
            self.check_points(meta, source)
        untouched = (normalized(source.visible()), normalized(source.cell.source))
        if not converted and source.locked and normalized(source_of(item)) not in untouched:
            self.reports.append(f"{source.kind} {source.grade_id} had been edited; nbgrader runs "
                                "the assignment's version")  # fmt: skip

    def check_points(self, meta: dict, source: SourceCell) -> None:
        """Points nbgrader can read and restores itself are only reported; others restored."""
        points = meta.get("points")
        try:
            same = float(points) == float(source.meta["points"])
        except (TypeError, ValueError):
            meta["points"] = source.meta["points"]
            self.reports.append(f"{source.kind} {source.grade_id} had unreadable points "
                                f"({points!r}); restored to {source.meta['points']}")  # fmt: skip
            return
        if not same:
            self.reports.append(f"{source.kind} {source.grade_id} had its points changed to "
                                f"{points}; nbgrader counts the assignment's "
                                f"{source.meta['points']}")  # fmt: skip

    def rebuilt(self, cell: NotebookNode, source: SourceCell) -> NotebookNode:
        """`cell` as a cell of the assignment's type: a locked cell with the assignment's text,
        a solution cell with the student's."""
        text = source.cell.source if source.locked else source_of(Placed(cell))
        new = self.new_cell(source.cell.cell_type, text, cell.metadata)
        if "id" in cell and "id" in new:
            new["id"] = cell["id"]
        return new

    def new_cell(self, cell_type: str, text: str, metadata) -> NotebookNode:
        make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
                "raw": nbformat.v4.new_raw_cell}[cell_type]  # fmt: skip
        new = make(text, metadata=copy.deepcopy(metadata))
        if self.minor < 5:
            new.pop("id", None)
        return new

    # --------------------------------------------------------------- order

    def reorder(self, placed: list[Placed]) -> list[NotebookNode]:
        """Every locked cell placed after the solution cell it follows in the assignment and
        in the assignment's order among the locked cells there; missing ones restored."""
        present = {p.source.grade_id for p in placed if p.source is not None}
        anchors = self.anchors(present)
        segments: dict[str | None, list[Placed]] = {None: []}
        order = [None]
        current = None
        for item in placed:
            if item.source is not None and not item.source.locked:
                current = item.source.grade_id
                segments[current], order = [item], [*order, current]
            else:
                segments[current].append(item)
        strays = [p for key in order for p in segments[key]
                  if p.source is not None and p.source.locked
                  and anchors[p.source.grade_id] != key]  # fmt: skip
        for key in order:
            segments[key] = self.arrange(key, segments[key], anchors, present, strays)
        return [p.cell for key in order for p in segments[key]]

    def anchors(self, present: set[str]) -> dict[str, str | None]:
        """grade_id -> the nearest solution cell before it in the assignment that the
        submission holds (None: none), for every cell that `reorder` places."""
        anchors, anchor = {}, None
        for cell in self.tracked:
            if not cell.locked and cell.grade_id in present:
                anchor = cell.grade_id
            else:
                anchors[cell.grade_id] = anchor
        return anchors

    def arrange(self, key, segment: list[Placed], anchors, present, strays) -> list[Placed]:
        """One segment (a solution cell, or the start, and what follows it) with its locked
        cells in the assignment's order: those in the longest run already in order stay,
        the others are put after the nearest preceding one (reported)."""
        targets = [c for c in self.tracked if anchors.get(c.grade_id, "-") == key
                   and (c.grade_id in present or self.restorable(c))]  # fmt: skip
        residents = [p for p in segment if p.source is not None and p.source.locked
                     and anchors[p.source.grade_id] == key]  # fmt: skip
        keep = {id(p) for p in longest_increasing(residents, lambda p: p.source.index)}
        result = [p for p in segment if p.source is None or not p.source.locked or id(p) in keep]
        moving = {p.source.grade_id: p for p in [*residents, *strays]
                  if id(p) not in keep and anchors[p.source.grade_id] == key}  # fmt: skip
        where = {p.source.grade_id: i for i, p in enumerate(result) if p.source is not None}
        for target in targets:
            if target.grade_id in where:
                continue
            item = moving.get(target.grade_id)
            if item is None:
                item = Placed(self.restored(target), target)
                restored = "restored from the assignment" if target.locked else (
                    "its unanswered stub was restored, so that it is graded")  # fmt: skip
                self.reports.append(f"{target.kind} {target.grade_id} was missing; {restored}")
            else:
                self.reports.append(f"{target.kind} {target.grade_id} was out of place; moved "
                                    "back to where the assignment has it")  # fmt: skip
            at = self.insertion_point(target, result, key)
            result.insert(at, item)
            where = {p.source.grade_id: i for i, p in enumerate(result) if p.source is not None}
        return result

    def insertion_point(self, target: SourceCell, result: list[Placed], key) -> int:
        """Right after the nearest cell before `target` in the assignment that `result`
        holds; failing that, before the nearest after it (the start segment only, whose
        own cells, like the header, come first); failing that, at the segment's start."""
        index = {p.source.grade_id: i for i, p in enumerate(result) if p.source is not None}
        before = [c for c in self.tracked[: target.rank] if c.grade_id in index]
        if before:
            return index[before[-1].grade_id] + 1
        if key is None:
            after = [c for c in self.tracked[target.rank + 1 :]
                     if c.grade_id in index]  # fmt: skip
            return index[after[0].grade_id] if after else len(result)
        return 1  # after the solution cell that opens the segment

    def restorable(self, cell: SourceCell) -> bool:
        """A missing cell that is put back: a locked one, or a graded answer's stub (so its
        row in the gradebook exists). A missing plain solution cell is never restored: its
        stub would undo a solution the student wrote elsewhere."""
        return cell.locked or bool(cell.meta.get("grade"))

    def restored(self, cell: SourceCell) -> NotebookNode:
        """The assignment's cell as nbgrader would restore it (a graded answer as its stub)."""
        text = cell.cell.source if cell.locked else stub(cell.cell)
        metadata = copy.deepcopy(cell.cell.get("metadata", {}))
        return self.new_cell(cell.cell.cell_type, text, metadata)

    def report_missing_solutions(self, placed: list[Placed]) -> None:
        present = {p.source.grade_id for p in placed if p.source is not None}
        for cell in self.tracked:
            if cell.grade_id not in present and not self.restorable(cell):
                names = ", ".join(sorted(cell.names())) or "nothing"
                self.reports.append(f"solution cell {cell.grade_id} was missing and no cell was "
                                    f"recognised as it (by what it defines: {names}; or by its "
                                    "place); its tests run without it")  # fmt: skip


# ----------------------------------------------------------------------------- helpers


def kind(meta: dict) -> str:
    """How an instructor calls a cell with this nbgrader metadata."""
    if meta.get("grade") and meta.get("solution"):
        return "answer cell"
    if meta.get("grade"):
        return "test cell"
    if meta.get("solution"):
        return "solution cell"
    if meta.get("task"):
        return "task cell"
    return "locked cell"


def tracked_cells(source: NotebookNode) -> list[SourceCell]:
    """The source notebook's cells that nbgrader tracks (graded, solution, locked or task),
    the first of each grade_id."""
    cells, seen = [], set()
    for index, cell in enumerate(source.get("cells", [])):
        meta = cell.get("metadata", {}).get("nbgrader")
        if not isinstance(meta, dict) or not isinstance(meta.get("grade_id"), str):
            continue
        if any(meta.get(flag) for flag in FLAGS) and meta["grade_id"] not in seen:
            seen.add(meta["grade_id"])
            cells.append(SourceCell(index, len(cells), cell, meta))
    return cells


def visible_source(cell: NotebookNode) -> str:
    """A cell's text with its hidden tests removed, as nbgrader's ClearHiddenTests does."""
    from nbgrader.preprocessors import ClearHiddenTests

    clone = copy.deepcopy(cell)
    try:
        ClearHiddenTests()._remove_hidden_test_region(clone)
    except RuntimeError:  # nested markers: nbgrader would not have released it either
        return cell.source
    return clone.source


def stub(cell: NotebookNode) -> str:
    """A solution cell as the student version shows it (nbgrader's default stubs)."""
    from nbgrader.preprocessors import ClearSolutions

    clone = copy.deepcopy(cell)
    clear = ClearSolutions()
    if not clear._replace_solution_region(clone, "python"):
        clone.source = clear.code_stub["python"] if cell.cell_type == "code" else clear.text_stub
    return clone.source


def source_of(item: Placed) -> str:
    text = item.cell.get("source", "")
    return "".join(text) if isinstance(text, list) else str(text)


def normalized(text: str) -> str:
    """Text compared without line-ending and trailing-space differences."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n"))


def defined_names(code: str) -> set[str]:
    """Functions and classes a cell defines at top level (by regex if it does not parse,
    e.g. because of IPython magics or a syntax error)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set(DEFINITION.findall(code))
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name for node in tree.body if isinstance(node, kinds)}


def longest_increasing(items: list, key) -> list:
    """The longest subsequence of `items` whose keys increase (the earliest on ties)."""
    best: list[list] = []
    for i, item in enumerate(items):
        runs = [best[j] for j in range(i) if key(items[j]) < key(item)]
        best.append([*max(runs, key=len, default=[]), item])
    return max(best, key=len, default=[])


def unfit(notebook) -> str | None:
    """Why a notebook cannot be repaired at all, or None."""
    if not isinstance(notebook, dict) or notebook.get("nbformat") != 4:
        version = notebook.get("nbformat") if isinstance(notebook, dict) else None
        return f"the notebook is not nbformat 4 (it says {version!r}); its cells were not checked"
    cells = notebook.get("cells")
    if not isinstance(cells, list) or not cells:
        return "the notebook has no cells; there was nothing to check"
    if not all(isinstance(c, dict) and isinstance(c.get("metadata", {}), dict) for c in cells):
        return "the notebook has malformed cells; its cells were not checked"
    return None


def repair(submitted: NotebookNode, source: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """A copy of `submitted` fit for nbgrader's sanitize step, and what was repaired.

    `source` is the assignment's notebook as the gradebook knows it (source/ in the
    course: solutions, hidden tests, every cell's nbgrader metadata). Never raises: a
    notebook that cannot be checked is returned as it is, with a report saying why.
    """
    notebook = copy.deepcopy(submitted)
    problem = unfit(notebook)
    if problem is not None:
        return notebook, [problem]
    try:
        return _Repair(notebook, source).run()
    except Exception as error:  # a strange notebook must not stop the class's grading
        return copy.deepcopy(submitted), [
            f"the notebook's cells could not be checked ({type(error).__name__}: {error}); "
            "it was graded as submitted"
        ]


__all__ = ["repair"]
