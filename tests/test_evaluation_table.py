"""The evaluation summary table (make eval): F1 from precision and recall, missing cells."""

from evaluation.scores import Score, table


def test_the_table_derives_f1_and_shows_missing_cells():
    scores = [Score("faces (hog)", "eval-data/faces", 1.0, 0.5, "4 faces"),
              Score("caption templates", "mockups", None, 1.0, "100 members")]
    assert abs(scores[0].f1 - 2 / 3) < 1e-9 and scores[1].f1 is None
    lines = table(scores).splitlines()
    assert lines[0] == "| detector | dataset | counted | precision | recall | F1 |"
    assert lines[2] == "| faces (hog) | eval-data/faces | 4 faces | 1.000 | 0.500 | 0.667 |"
    assert lines[3] == "| caption templates | mockups | 100 members | - | 1.000 | - |"
