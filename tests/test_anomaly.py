import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import AnomalyError


def test_forward_nan_names_op_site_and_shapes():
    x = cr.tensor([-1.0, 4.0], requires_grad=True)
    with cr.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(AnomalyError) as info:
            cr.sqrt(x) * 2  # the line the error must point at
    message = str(info.value)
    assert "op sqrt" in message and "NaN" in message and "(2,)" in message
    assert "test_anomaly.py:" in message


def test_backward_infinity_is_caught_at_the_op_that_made_it():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with cr.detect_anomaly(), np.errstate(divide="ignore"):
        y = cr.sqrt(x)  # finite forward, infinite gradient at 0
        with pytest.raises(AnomalyError, match=r"backward of op sqrt produced infinity.*test_anomaly.py:\d+"):
            y.sum().backward()


def test_off_by_default_and_restored_after():
    x = cr.tensor([-1.0], requires_grad=True)
    with np.errstate(invalid="ignore"):
        assert np.isnan(cr.sqrt(x).item())  # no error outside detect_anomaly
    with cr.detect_anomaly():
        pass
    from chainrule import anomaly

    assert anomaly.active is False
