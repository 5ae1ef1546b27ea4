"""Reference values are made by one script and are up to date."""

from autograder import make_references


def test_reference_files_match_what_the_script_makes(capsys):
    assert make_references.main(["--check"]) == 0, capsys.readouterr().out
