import numpy as np
import pytest

from kgantl.metrics.classification import accuracy_and_macro_f1


def test_perfect_and_ignored_classes():
    assert accuracy_and_macro_f1([0, 1, 2], [0, 1, 2]) == (1.0, 1.0)
    accuracy, macro_f1 = accuracy_and_macro_f1([0, 0, 0, 1], [0, 0, 0, 0])  # class 1 never predicted
    assert accuracy == 0.75 and macro_f1 == pytest.approx((2 * 0.75 / 1.75 + 0.0) / 2)


def test_bad_shapes():
    with pytest.raises(ValueError, match="non-empty 1-D arrays of one length"):
        accuracy_and_macro_f1(np.zeros(3), np.zeros(4))
