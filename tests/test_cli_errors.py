"""A user's mistake on the command line is one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import pytest

from greenai import cli


@pytest.mark.parametrize("argv, says", [
    (["reproduce", "--only", "nope"], "no notebook matches --only 'nope'"),
    (["models", "--dataset", "nope"], "unknown dataset 'nope'"),
    (["models", "--image-size", "0"], "--image-size must be a positive"),
])
def test_user_mistake_is_one_line_on_stderr_with_exit_code_2(argv, says, capsys):
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and says in err and "Traceback" not in err
    assert err.startswith(f"greenai {argv[0]}: ")
