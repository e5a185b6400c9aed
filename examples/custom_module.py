"""A custom nn.Module trained with fit(): callbacks, early stopping and a checkpoint you can reload."""

import os
import tempfile

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset, load_dataset
from chainrule.train import EarlyStopping, evaluate, fit, load_checkpoint, save_checkpoint


class TwoTower(nn.Module):
    """Two hidden paths, concatenated: parameters of child modules register themselves."""

    def __init__(self, features: int, classes: int):
        super().__init__()
        self.wide = nn.Linear(features, 64)
        self.deep = nn.Sequential(nn.Linear(features, 32), nn.ReLU(), nn.Linear(32, 32))
        self.head = nn.Linear(96, classes)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x):
        hidden = cr.concatenate([self.wide(x).relu(), self.deep(x).tanh()], axis=1)
        return self.head(self.dropout(hidden))


cr.manual_seed(0)
data = load_dataset("wine")
model = TwoTower(data.num_features, data.num_classes)
print(model)
train = DataLoader(TensorDataset(data.X_train, data.y_train), batch_size=16, shuffle=True, seed=0)
val = DataLoader(TensorDataset(data.X_val, data.y_val), batch_size=64)
history = fit(
    model,
    nn.CrossEntropyLoss(),
    optim.AdamW(model.parameters(), lr=3e-3),
    train,
    val,
    epochs=60,
    callbacks=[EarlyStopping(patience=8)],
)
print(f"{len(history)} epochs, best validation loss {min(history['val_loss']):.4f}")

test = DataLoader(TensorDataset(data.X_test, data.y_test), batch_size=64)
print(f"test accuracy {evaluate(model, test, nn.CrossEntropyLoss())['accuracy']:.2%}")

path = os.path.join(tempfile.mkdtemp(), "two_tower.safetensors")
save_checkpoint(path, model, metadata={"epochs": len(history)})
again = TwoTower(data.num_features, data.num_classes)
again.load_state_dict(load_checkpoint(path).model_state)
print("reloaded accuracy", f"{evaluate(again, test, nn.CrossEntropyLoss())['accuracy']:.2%}")
