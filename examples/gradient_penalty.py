"""A gradient penalty, WGAN-GP's (||grad_x D(x)|| - 1)^2, trained with gradients of gradients (create_graph=True).

The penalty's value depends on the gradient of the critic D with respect to its input, so training it needs the
gradient of that gradient with respect to D's weights: the recorded walk gives it, and plain backward() then
differentiates the penalty like any loss.
"""

import chainrule as cr
import chainrule.nn as nn

cr.manual_seed(0)
critic = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).double()
optimizer = cr.optim.Adam(critic.parameters(), lr=0.01)
points = cr.randn(64, 2, dtype=cr.float64)


def penalty() -> cr.Tensor:
    x = points.detach().requires_grad_(True)
    (grad_x,) = cr.autograd.grad(critic(x).sum(), x, create_graph=True)  # dD/dx for every point, a graph
    return ((grad_x.norm(dim=1) - 1) ** 2).mean()


for step in range(201):
    optimizer.zero_grad()
    loss = penalty()
    loss.backward()  # through the gradient's graph into the critic's weights
    optimizer.step()
    if step % 50 == 0:
        print(f"step {step}: gradient penalty {loss.item():.6f}")

norms = cr.autograd.grad(critic(points.requires_grad_(True)).sum(), points)[0].norm(dim=1)
low, high = norms.min().item(), norms.max().item()
print(f"|grad_x D(x)| over the points: mean {norms.mean().item():.4f}, range {low:.4f}-{high:.4f}")
