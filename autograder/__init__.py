"""Instructor-only: reference implementations, known mistakes, hidden checks and grading.

Nothing in this package is released to students. Hidden test cells import it at grading
time, when it is installed in the instructor's environment.
"""
