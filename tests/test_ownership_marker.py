"""The ownership marker when two commands write one run folder at once
(bedside/ownership.py): neither drops the other's files from `.bedside-made`."""
from bedside import fileio, ownership


def test_two_commands_finishing_in_one_folder_keep_each_others_files(tmp_path):
    run = tmp_path / "run"
    with ownership.session():
        ownership.claim(run)
        fileio.write_text(run / "first.txt", "x")
    assert ownership.written(run) == {"first.txt"}
    # command B claims and writes b.json; command A claims while B is still running, so
    # b.json is not listed yet and A sees it as a file it did not write
    b = ownership.Claim(run, [], False)
    fileio.write_text(run / "b.json", "{}")
    a = ownership.Claim(run, [], False)
    assert "b.json" in a.users
    b.finish(True)
    assert ownership.written(run) == {"first.txt", "b.json"}
    fileio.write_text(run / "a.txt", "y")
    a.finish(True)
    # A's record keeps B's file: a later command may replace it as the kit's own
    assert ownership.written(run) == {"first.txt", "b.json", "a.txt"}
    # a file nobody recorded stays the user's
    (run / "mine.txt").write_text("user")
    c = ownership.Claim(run, [], False)
    c.finish(True)
    assert "mine.txt" not in ownership.written(run)
