"""A Hessian-vector product H v by double backward (autograd.functional.hvp), checked against the full Hessian.

H v costs two backward passes whatever the size of x; the full Hessian costs one per element of x. Both come
from gradients recorded with create_graph=True and differentiated again.
"""

import numpy as np

import chainrule as cr

cr.manual_seed(0)
x = cr.randn(5, dtype=cr.float64)
v = cr.randn(5, dtype=cr.float64)


def energy(x):
    return (cr.tanh(x) ** 2).sum() + (x[:-1] * x[1:]).sum()


_, hvp = cr.autograd.functional.hvp(energy, x, v)
hessian = cr.autograd.functional.hessian(energy, x)
full = hessian.numpy() @ v.numpy()
print(f"Hessian-vector product: {np.array2string(hvp.numpy(), precision=6)}")
print(f"full Hessian times v:   {np.array2string(full, precision=6)}")
print(f"largest difference: {np.abs(hvp.numpy() - full).max():.2e}")
