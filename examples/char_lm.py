"""A character-level language model, written as PyTorch code: an embedding, a 2-layer LSTM and a linear
head learn to predict the next character of a text, then sample new text with torch.multinomial from a
seeded generator. Only the first import makes it chainrule: with ``import torch`` it runs on PyTorch.

    python examples/char_lm.py [--model lstm|transformer] [--steps 300]
"""

import argparse
import math

import chainrule as torch  # the only line that differs from the PyTorch program
import chainrule.nn as nn
import chainrule.nn.functional as F

# The opening of Alice's Adventures in Wonderland (Lewis Carroll, 1865; public domain, Project Gutenberg).
TEXT = (
    "Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: "
    "once or twice she had peeped into the book her sister was reading, but it had no pictures or conversations "
    "in it, 'and what is the use of a book,' thought Alice 'without pictures or conversations?' So she was "
    "considering in her own mind (as well as she could, for the hot day made her feel very sleepy and stupid), "
    "whether the pleasure of making a daisy-chain would be worth the trouble of getting up and picking the "
    "daisies, when suddenly a White Rabbit with pink eyes ran close by her. There was nothing so very remarkable "
    "in that; nor did Alice think it so very much out of the way to hear the Rabbit say to itself, 'Oh dear! Oh "
    "dear! I shall be late!' (when she thought it over afterwards, it occurred to her that she ought to have "
    "wondered at this, but at the time it all seemed quite natural); but when the Rabbit actually took a watch "
    "out of its waistcoat-pocket, and looked at it, and then hurried on, Alice started to her feet, for it "
    "flashed across her mind that she had never before seen a rabbit with either a waistcoat-pocket, or a watch "
    "to take out of it, and burning with curiosity, she ran across the field after it, and fortunately was just "
    "in time to see it pop down a large rabbit-hole under the hedge."
)


class CharLSTM(nn.Module):
    def __init__(self, vocab_size, embed=32, hidden=128, layers=2, dropout=0.1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.embed(idx), state)
        return self.head(out), state


class CharTransformer(nn.Module):
    def __init__(self, vocab_size, block, embed=64, heads=4, layers=2, dropout=0.1):
        super().__init__()
        self.block = block
        self.embed = nn.Embedding(vocab_size, embed)
        self.position = nn.Embedding(block, embed)
        layer = nn.TransformerEncoderLayer(embed, heads, 4 * embed, dropout, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers)
        self.norm = nn.LayerNorm(embed)
        self.head = nn.Linear(embed, vocab_size)

    def forward(self, idx, state=None):
        t = idx.shape[1]
        x = self.embed(idx) + self.position(torch.arange(t))
        mask = nn.Transformer.generate_square_subsequent_mask(t)
        return self.head(self.norm(self.blocks(x, mask=mask, is_causal=True))), None


def batches(data, block, batch, generator):
    starts = torch.randint(0, len(data) - block - 1, (batch,), generator=generator)
    x = torch.stack([data[s : s + block] for s in starts.tolist()])
    y = torch.stack([data[s + 1 : s + block + 1] for s in starts.tolist()])
    return x, y


@torch.no_grad()
def sample(model, start, stoi, itos, length, block, generator, temperature=0.8):
    model.eval()
    idx = torch.tensor([[stoi[c] for c in start]])
    state, out = None, list(start)
    for _ in range(length):
        context = idx[:, -block:] if state is None else idx[:, -1:]
        logits, new_state = model(context, state)
        state = new_state  # the LSTM carries its state; the transformer rereads its context
        probs = F.softmax(logits[:, -1, :] / temperature, dim=-1)
        nxt = torch.multinomial(probs, num_samples=1, generator=generator)
        idx = torch.cat([idx, nxt], dim=1)
        out.append(itos[nxt.item()])
    model.train()
    return "".join(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["lstm", "transformer"], default="lstm")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    torch.manual_seed(1337)
    g = torch.Generator().manual_seed(2147483647)
    chars = sorted(set(TEXT))
    stoi, itos = {c: i for i, c in enumerate(chars)}, dict(enumerate(chars))
    data = torch.tensor([stoi[c] for c in TEXT], dtype=torch.long)
    block, batch = 32, 16
    model = CharLSTM(len(chars)) if args.model == "lstm" else CharTransformer(len(chars), block)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    print(f"{len(TEXT)} characters, {len(chars)} distinct; uniform guessing: {math.log(len(chars)):.3f} nats")
    for step in range(1, args.steps + 1):
        x, y = batches(data, block, batch, g)
        logits, _ = model(x)
        loss = F.cross_entropy(logits.view(-1, len(chars)), y.view(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step == 1 or step % 50 == 0:
            print(f"step {step}: loss {loss.item():.4f}")
    print("sample:", sample(model, "Alice ", stoi, itos, 120, block, g))


if __name__ == "__main__":
    main()
