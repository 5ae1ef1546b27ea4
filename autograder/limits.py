"""The limits one submission is graded within, in one place.

Every limit can be changed on the command line of `python -m autograder.grading grade`
(`--wall-seconds`, `--memory-gb`, `--output-mb`, `--jobs`); these are the defaults.
"""

from __future__ import annotations

import os

# Wall time for the whole submission: kernel start, every cell, hidden tests. In fast mode the
# slowest assignment takes 12 s to grade here (benchmarks/results.md, "grade" rows); a
# laptop can be 3 times slower and a busy grading machine shares its cores with other jobs,
# so the default allows 5 times that, plus 30 s for a cold start. A test keeps this true
# against the committed benchmark.
SUBMISSION_WALL_SECONDS = 90

# Memory for the whole process tree of one submission (the kernel and anything it starts).
# A fast-mode kernel peaks at about 1.5 GB (benchmarks/results.md); 4 GB leaves room for an
# honest but wasteful answer and still lets several submissions run side by side.
SUBMISSION_MEMORY_BYTES = 4 * 2**30

# Output kept per cell (text, images and errors together). Beyond this the rest of the cell's
# output is dropped and a note says so: a print in a loop must not make a 50 MB feedback file.
OUTPUT_BYTES_PER_CELL = 2**20

# A private /tmp and /dev/shm for the kernel, counted against its memory; a single file it
# writes anywhere it may write; processes and threads it may run at once.
SCRATCH_TMP_BYTES = 512 * 2**20
FILE_BYTES = 256 * 2**20
PROCESSES = 512


def default_jobs() -> int:
    """Submissions graded at once: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
