"""The README's API example: a two-layer network on scikit-learn's handwritten digits."""

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset, load_dataset

cr.manual_seed(0)
data = load_dataset("digits")  # 8x8 images, split 80/10/10, standardised
model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
optimizer = optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()  # softmax + cross-entropy, fused
loader = DataLoader(TensorDataset(data.X_train, data.y_train), batch_size=32, shuffle=True)
for epoch in range(10):
    total, seen = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()  # gradients add up unless zeroed
        loss = loss_fn(model(x), y)
        loss.backward()  # the chain rule, backwards over the graph
        optimizer.step()
        total, seen = total + loss.item() * len(y), seen + len(y)
    print(f"epoch {epoch + 1}: mean loss {total / seen:.4f}")  # over the epoch, not the last batch's
