"""Newton's method with the engine's own second derivative (create_graph=True), against gradient descent.

y = x^4 - 2 x^2 has minima at x = +-1. Newton's step x <- x - y'(x) / y''(x) uses the curvature to jump
towards the minimum; gradient descent x <- x - lr y'(x) crawls down the slope. Both start at x = 2. The
second derivative is not written by hand: the gradient y'(x) is recorded as a graph, and differentiated again.
"""

import chainrule as cr


def f(x):
    return x**4 - 2 * x**2


def derivatives(x0: float):
    x = cr.tensor(x0, dtype=cr.float64, requires_grad=True)
    (dy,) = cr.autograd.grad(f(x), x, create_graph=True)  # y' = 4x^3 - 4x, itself a graph
    (d2y,) = cr.autograd.grad(dy, x)  # y'' = 12x^2 - 4, by differentiating that graph
    return dy.item(), d2y.item()


def newton(x: float, tolerance: float = 1e-10) -> tuple[float, int]:
    for step in range(1, 100):
        dy, d2y = derivatives(x)
        print(f"newton {step}: x = {x:.10f}  y' = {dy:+.3e}  y'' = {d2y:.4f}")
        x -= dy / d2y
        if abs(dy) < tolerance:
            return x, step
    return x, 100


def gradient_descent(x: float, lr: float = 0.001, tolerance: float = 1e-10) -> tuple[float, int]:
    for step in range(1, 100_000):
        dy, _ = derivatives(x)
        x -= lr * dy
        if abs(dy) < tolerance:
            return x, step
    return x, 100_000


if __name__ == "__main__":
    x_newton, newton_steps = newton(2.0)
    x_gd, gd_steps = gradient_descent(2.0)
    print(f"newton: x = {x_newton:.10f} after {newton_steps} steps")
    print(f"gradient descent (lr 0.001): x = {x_gd:.10f} after {gd_steps} steps")
