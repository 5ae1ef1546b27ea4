"""The limits one submission is graded within, in one place.

Every limit can be changed on the command line of `python -m autograder.grading grade`
(`--wall-seconds`, `--memory-gb`, `--output-mb`, `--jobs`); these are the defaults.
"""

from __future__ import annotations

import os

# Wall time for a whole submission (its kernel, every cell it runs, the hidden tests), per
# assignment. Each is derived from the time the solution takes to grade in fast mode on the
# benchmark machine (`make bench`, the "grade" rows of benchmarks/results.md): a laptop can be
# three times slower, and a busy grading machine shares its cores with other jobs, so a limit
# is at least MARGIN_FACTOR times that plus MARGIN_SECONDS for a slow start. A test keeps each
# one true against the committed benchmark. 01 and 03 have more room: on an AMD EPYC machine
# (2026-12-02) fast mode ran about 2.4 times slower than on the benchmark's Intel Xeon, and
# under the test suite's load their solutions went over 60 and 55 seconds.
MARGIN_FACTOR = 5
MARGIN_SECONDS = 20
SUBMISSION_WALL_SECONDS = {
    "01_autoencoder": 120,
    "02_cnn_autoencoder": 90,
    "03_denoising_autoencoder": 120,
    "04_elbo_derivation": 95,
    "05_closed_form_kl": 50,
    "06_reparameterization": 45,
    "07_frey_face_vae": 60,
    "08_conditional_vae": 60,
}
UNMEASURED_WALL_SECONDS = 120  # an assignment the benchmark has not measured yet


def wall_seconds(assignment: str) -> float:
    """The default wall-time limit of one submission of `assignment`."""
    return SUBMISSION_WALL_SECONDS.get(assignment, UNMEASURED_WALL_SECONDS)


# Memory for the whole process tree of one submission (the kernel and anything it starts).
# A fast-mode grading kernel holds about 0.5 GB of its own (benchmarks/results.md); 4 GB leaves
# room for an honest but wasteful answer and still lets several submissions run side by side.
SUBMISSION_MEMORY_BYTES = 4 * 2**30

# Output kept per cell (text and images; errors are always kept). Beyond this the rest of the
# cell's output is dropped and a note says so: a print in a loop must not make a 50 MB
# feedback file.
OUTPUT_BYTES_PER_CELL = 2**20

# Output of the whole submission (the sum over its cells), and the largest message the
# grader takes from a kernel at all (a bigger one ends the kernel's connection). ipykernel
# sends all that was printed in 0.2 s as one message: a loop printing 50 MB fast can make
# one of 50 MB, and must still be graded (it is only cut).
OUTPUT_BYTES_PER_SUBMISSION = 16 * 2**20
MESSAGE_BYTES = 128 * 2**20

# The kernel's working folder (a tmpfs of its own), and a private /tmp and /dev/shm, all
# counted against its memory; a single file it writes anywhere it may write; processes and
# threads its tree may run at once.
SCRATCH_BYTES = 512 * 2**20
SCRATCH_TMP_BYTES = 512 * 2**20
FILE_BYTES = 256 * 2**20
PROCESSES = 512


def default_jobs() -> int:
    """Submissions graded at once: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
