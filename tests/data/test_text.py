"""data/text.py: reading, detecting, splitting and encoding text for character-level language models."""

import numpy as np
import pytest

from chainrule.data.text import BOUNDARY, UNKNOWN, Vocabulary, bigram_loss, detect_mode, examples, load_text
from chainrule.errors import DataError


def test_names_bundled_and_the_bigram_baseline():
    found = load_text("names", 3)
    assert found["mode"] == "lines" and found["vocabulary"].tokens[:2] == [BOUNDARY, "a"]
    assert len(found["vocabulary"]) == 27
    sizes = [len(y) for _, y in found["splits"]]
    assert sum(sizes) == 228146 and sizes[0] / sum(sizes) == pytest.approx(0.8, abs=0.01)
    assert found["bigram_val"] == pytest.approx(2.45, abs=0.02)  # makemore's count-based bigram: about 2.45


def test_every_character_is_an_example_with_its_context():
    vocabulary = Vocabulary([BOUNDARY, "a", "b"])
    X, y = examples(["ab", "b"], vocabulary, 2, "lines")
    assert X.tolist() == [[0, 0], [0, 1], [1, 2], [0, 0], [0, 2]] and y.tolist() == [1, 2, 0, 2, 0]
    X, y = examples("abba", vocabulary, 2, "running")
    assert X.tolist() == [[0, 0], [0, 1], [1, 2], [2, 2]] and y.tolist() == [1, 2, 2, 1]


def test_detection_and_contiguous_splits_of_running_text(tmp_path):
    assert detect_mode("anna\nbob\ncarla\n") == "lines"
    prose = "It was the best of times, it was the worst of times.\n" * 50
    assert detect_mode(prose) == "running"
    path = tmp_path / "prose.txt"
    path.write_text(prose + "Zebra!", encoding="utf-8")
    found = load_text(str(path), 8)
    assert found["mode"] == "running"
    assert UNKNOWN in found["vocabulary"].tokens  # 'Z' and '!' occur only in the test part
    test_X, test_y = found["splits"][2]
    assert found["vocabulary"].decode(test_y[-6:]) == "<unk>ebra<unk>"


def test_bigram_loss_of_a_deterministic_text_is_small():
    X = np.array([[0], [1]] * 50)
    y = np.array([1, 0] * 50)
    assert bigram_loss(X, y, X, y, 2) < 0.05


@pytest.mark.parametrize(
    "content, block, message",
    [
        (b"", 3, "is empty"),
        (b"\n\n  \n", 3, "is empty"),
        (b"abc\x00def\n" * 10, 3, "binary file"),
        (b"\xff\xfe\xfa" * 10, 3, "not UTF-8"),
        (b"aaaa\naaa\naa\n" * 20, 3, "1 distinct character"),
        (b"anna\nbob\n" * 20, 9, "longer than every line"),
    ],
)
def test_bad_text_is_refused_with_the_reason(tmp_path, content, block, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_text(str(path), block)


def test_a_vocabulary_over_the_limit_is_refused(tmp_path):
    path = tmp_path / "wide.txt"
    path.write_text(" ".join(chr(0x4E00 + i) for i in range(1500)) * 3, encoding="utf-8")
    with pytest.raises(DataError, match="distinct characters"):
        load_text(str(path), 4)
