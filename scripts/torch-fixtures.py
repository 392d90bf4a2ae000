# Exports the PyTorch models the ONNX-import tests train (test/fixtures/torch-*.onnx).
# Not run by the tests: the files are committed. Re-create them with Debian's PyTorch:
#   apt-get install python3-torch && /usr/bin/python3 scripts/torch-fixtures.py
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
OUT = 'test/fixtures'


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, d, heads, t):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.out = nn.Linear(4 * d, d)
        self.gelu = nn.GELU()

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        hd = d // self.heads
        q = q.view(b, t, self.heads, hd).transpose(1, 2)
        k = k.view(b, t, self.heads, hd).transpose(1, 2)
        v = v.view(b, t, self.heads, hd).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        mask = torch.ones(t, t).tril() == 0
        att = att.masked_fill(mask, float('-inf'))
        y = F.softmax(att, dim=-1) @ v
        y = y.transpose(1, 2).contiguous().view(b, t, d)
        x = x + self.proj(y)
        return x + self.out(self.gelu(self.fc(self.ln2(x))))


class TinyGpt(nn.Module):
    def __init__(self, vocab=256, t=16, d=32, heads=2):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(t, d)
        self.block = Block(d, heads, t)
        self.lnf = nn.LayerNorm(d)
        self.t = t

    def forward(self, tokens):
        pos = torch.arange(0, self.t, dtype=torch.long)
        x = self.wte(tokens) + self.wpe(pos)
        x = self.lnf(self.block(x))
        return x @ self.wte.weight.t()


def export(model, example, name, input_name):
    model.eval()
    torch.onnx.export(model, example, f'{OUT}/{name}', input_names=[input_name], output_names=['logits'],
                      dynamic_axes={input_name: {0: 'B'}, 'logits': {0: 'B'}}, opset_version=17, do_constant_folding=True)


export(Mlp(), torch.randn(2, 784), 'torch-mlp.onnx', 'x')
export(TinyGpt(), torch.randint(0, 256, (2, 16)), 'torch-gpt.onnx', 'tokens')
print('written', torch.__version__)
