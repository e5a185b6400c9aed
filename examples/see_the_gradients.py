"""The engine from the inside: a graph, its gradients, a numerical check, and a NaN caught at its source."""

import numpy as np

import chainrule as cr
import chainrule.functional as F
from chainrule.explain import to_dot

# y = sigmoid(w . x + b): one neuron, float64 so the numerical check is exact to ~1e-9
x = cr.tensor([0.5, -1.0, 2.0], dtype="float64")
w = cr.tensor([0.1, 0.2, -0.3], dtype="float64", requires_grad=True)
b = cr.tensor(0.05, dtype="float64", requires_grad=True)
w.name, b.name = "w", "b"
net = (w * x).sum() + b
net.retain_grad()  # keep dE/dnet, an intermediate gradient, after backward
out = F.sigmoid(net)
loss = 0.5 * (out - 1.0) ** 2
loss.backward()

print(f"net = {net.item():.6f}, out = {out.item():.6f}, loss = {loss.item():.6f}")
print(f"dE/dnet = (out - 1) * out * (1 - out) = {net.grad.item():.6f}")
print(f"dE/dw = dE/dnet * x = {w.grad}")
print(f"dE/db = dE/dnet = {b.grad.item():.6f}")

# the same gradients by central differences
print("gradcheck:", cr.gradcheck(lambda w, b: 0.5 * (F.sigmoid((w * x).sum() + b) - 1.0) ** 2, [w, b]))

# the graph that backward walked, as Graphviz DOT (chainrule.explain.render draws it to SVG/PNG)
print(to_dot(loss, show_values=True, show_grads=True))

# a NaN, caught at the op that made it
with cr.detect_anomaly(), np.errstate(invalid="ignore"):
    try:
        cr.log(cr.tensor([1.0, -1.0], requires_grad=True))
    except cr.errors.AnomalyError as error:
        print("caught:", error)
