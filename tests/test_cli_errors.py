"""A user's mistake on the command line is one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import pytest

from greenai import cli


@pytest.mark.parametrize("argv, says", [
    (["reproduce", "--only", "nope"], "no notebook matches --only 'nope'"),
    (["models", "--dataset", "nope"], "unknown dataset 'nope'"),
    (["models", "--image-size", "0"], "--image-size must be a positive"),
    (["models", "--image-size", "8"], "--image-size 8 is too small: "),
])
def test_user_mistake_is_one_line_on_stderr_with_exit_code_2(argv, says, capsys, tmp_path):
    written = tmp_path / "table.csv"
    if argv[0] == "models":
        argv = [*argv, "--csv", str(written)]
    assert cli.main(argv) == 2
    assert not written.exists()
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and says in err and "Traceback" not in err
    assert err.startswith(f"greenai {argv[0]}: ")
