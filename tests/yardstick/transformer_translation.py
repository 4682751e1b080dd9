"""The "Language translation with nn.Transformer" tutorial on a toy copy-and-reverse
language pair, without torchtext: special symbols and vocabularies, sequential_transforms
+ tensor_transform adding BOS/EOS, collate_fn with pad_sequence(padding_value=PAD_IDX),
Seq2SeqTransformer (nn.Transformer with batch_first=False, TokenEmbedding scaled by
sqrt(emb_size), a PositionalEncoding buffer), generate_square_subsequent_mask, padding
masks (src/tgt_key_padding_mask, memory_key_padding_mask), xavier_uniform_ init, Adam
with betas=(0.9, 0.98) and eps=1e-9, CrossEntropyLoss(ignore_index=PAD_IDX),
train_epoch/evaluate and greedy_decode with model.encode/model.decode. Dropout is 0 and
batches are not shuffled, weights start from fixed values: every number is deterministic."""

import math
from timeit import default_timer as timer

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor
from torch.nn import Transformer
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

SRC_LANGUAGE = "de"
TGT_LANGUAGE = "en"
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

WORDS = ["ein", "hund", "katze", "sitzt", "auf", "der", "matte", "rot", "blau", "haus"]
TRANSLATE = {"ein": "a", "hund": "dog", "katze": "cat", "sitzt": "sits", "auf": "on", "der": "the",
             "matte": "mat", "rot": "red", "blau": "blue", "haus": "house"}
pairs = []
for i in range(24):
    words = [WORDS[(i * 3 + k * 7) % 10] for k in range(3 + i % 3)]
    pairs.append((" ".join(words), " ".join(TRANSLATE[w] for w in words)))
train_iter, val_iter = pairs[:20], pairs[20:]

token_transform = {SRC_LANGUAGE: str.split, TGT_LANGUAGE: str.split}
UNK_IDX, PAD_IDX, BOS_IDX, EOS_IDX = 0, 1, 2, 3
special_symbols = ["<unk>", "<pad>", "<bos>", "<eos>"]
vocab_transform = {}
for index, ln in enumerate([SRC_LANGUAGE, TGT_LANGUAGE]):
    tokens = sorted({tok for pair in train_iter for tok in token_transform[ln](pair[index])})
    itos = special_symbols + tokens
    stoi = {tok: i for i, tok in enumerate(itos)}
    vocab_transform[ln] = (lambda stoi: lambda toks: [stoi.get(t, UNK_IDX) for t in toks])(stoi)
    vocab_transform[ln].itos = itos
print("vocab sizes:", len(vocab_transform[SRC_LANGUAGE].itos), len(vocab_transform[TGT_LANGUAGE].itos))


class PositionalEncoding(nn.Module):
    def __init__(self, emb_size: int, dropout: float, maxlen: int = 5000):
        super(PositionalEncoding, self).__init__()
        den = torch.exp(- torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
        pos = torch.arange(0, maxlen).reshape(maxlen, 1)
        pos_embedding = torch.zeros((maxlen, emb_size))
        pos_embedding[:, 0::2] = torch.sin(pos * den)
        pos_embedding[:, 1::2] = torch.cos(pos * den)
        pos_embedding = pos_embedding.unsqueeze(-2)

        self.dropout = nn.Dropout(dropout)
        self.register_buffer("pos_embedding", pos_embedding)

    def forward(self, token_embedding: Tensor):
        return self.dropout(token_embedding + self.pos_embedding[:token_embedding.size(0), :])


class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size: int, emb_size):
        super(TokenEmbedding, self).__init__()
        self.embedding = nn.Embedding(vocab_size, emb_size)
        self.emb_size = emb_size

    def forward(self, tokens: Tensor):
        return self.embedding(tokens.long()) * math.sqrt(self.emb_size)


class Seq2SeqTransformer(nn.Module):
    def __init__(self, num_encoder_layers: int, num_decoder_layers: int, emb_size: int, nhead: int,
                 src_vocab_size: int, tgt_vocab_size: int, dim_feedforward: int = 512, dropout: float = 0.1):
        super(Seq2SeqTransformer, self).__init__()
        self.transformer = Transformer(d_model=emb_size,
                                       nhead=nhead,
                                       num_encoder_layers=num_encoder_layers,
                                       num_decoder_layers=num_decoder_layers,
                                       dim_feedforward=dim_feedforward,
                                       dropout=dropout)
        self.generator = nn.Linear(emb_size, tgt_vocab_size)
        self.src_tok_emb = TokenEmbedding(src_vocab_size, emb_size)
        self.tgt_tok_emb = TokenEmbedding(tgt_vocab_size, emb_size)
        self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

    def forward(self, src: Tensor, trg: Tensor, src_mask: Tensor, tgt_mask: Tensor,
                src_padding_mask: Tensor, tgt_padding_mask: Tensor, memory_key_padding_mask: Tensor):
        src_emb = self.positional_encoding(self.src_tok_emb(src))
        tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
        outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                src_padding_mask, tgt_padding_mask, memory_key_padding_mask)
        return self.generator(outs)

    def encode(self, src: Tensor, src_mask: Tensor):
        return self.transformer.encoder(self.positional_encoding(self.src_tok_emb(src)), src_mask)

    def decode(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor):
        return self.transformer.decoder(self.positional_encoding(self.tgt_tok_emb(tgt)), memory, tgt_mask)


def generate_square_subsequent_mask(sz):
    mask = (torch.triu(torch.ones((sz, sz), device=DEVICE)) == 1).transpose(0, 1)
    mask = mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, float(0.0))
    return mask


def create_mask(src, tgt):
    src_seq_len = src.shape[0]
    tgt_seq_len = tgt.shape[0]

    tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
    src_mask = torch.zeros((src_seq_len, src_seq_len), device=DEVICE).type(torch.bool)

    src_padding_mask = (src == PAD_IDX).transpose(0, 1)
    tgt_padding_mask = (tgt == PAD_IDX).transpose(0, 1)
    return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask


print(generate_square_subsequent_mask(3))
reference_mask = nn.Transformer.generate_square_subsequent_mask(4, device=DEVICE)
print("same as nn.Transformer's:", torch.equal(generate_square_subsequent_mask(4), reference_mask))

SRC_VOCAB_SIZE = len(vocab_transform[SRC_LANGUAGE].itos)
TGT_VOCAB_SIZE = len(vocab_transform[TGT_LANGUAGE].itos)
EMB_SIZE = 16
NHEAD = 2
FFN_HID_DIM = 32
BATCH_SIZE = 4
NUM_ENCODER_LAYERS = 2
NUM_DECODER_LAYERS = 2

transformer = Seq2SeqTransformer(NUM_ENCODER_LAYERS, NUM_DECODER_LAYERS, EMB_SIZE,
                                 NHEAD, SRC_VOCAB_SIZE, TGT_VOCAB_SIZE, FFN_HID_DIM, dropout=0.0)

for p in transformer.parameters():
    if p.dim() > 1:
        nn.init.xavier_uniform_(p)
with torch.no_grad():
    for i, p in enumerate(transformer.parameters()):
        p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.71 + i).reshape(tuple(p.shape)) * (0.3 if p.dim() > 1 else 0.05) / (4 if p.dim() > 1 else 1)))
transformer = transformer.to(DEVICE)
print("parameters:", sum(p.numel() for p in transformer.parameters()))

loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD_IDX)
optimizer = torch.optim.Adam(transformer.parameters(), lr=0.005, betas=(0.9, 0.98), eps=1e-9)


def sequential_transforms(*transforms):
    def func(txt_input):
        for transform in transforms:
            txt_input = transform(txt_input)
        return txt_input
    return func


def tensor_transform(token_ids):
    return torch.cat((torch.tensor([BOS_IDX]),
                      torch.tensor(token_ids),
                      torch.tensor([EOS_IDX])))


text_transform = {}
for ln in [SRC_LANGUAGE, TGT_LANGUAGE]:
    text_transform[ln] = sequential_transforms(token_transform[ln], vocab_transform[ln], tensor_transform)


def collate_fn(batch):
    src_batch, tgt_batch = [], []
    for src_sample, tgt_sample in batch:
        src_batch.append(text_transform[SRC_LANGUAGE](src_sample.rstrip("\n")))
        tgt_batch.append(text_transform[TGT_LANGUAGE](tgt_sample.rstrip("\n")))

    src_batch = pad_sequence(src_batch, padding_value=PAD_IDX)
    tgt_batch = pad_sequence(tgt_batch, padding_value=PAD_IDX)
    return src_batch, tgt_batch


def train_epoch(model, optimizer):
    model.train()
    losses = 0
    train_dataloader = DataLoader(train_iter, batch_size=BATCH_SIZE, collate_fn=collate_fn)

    for src, tgt in train_dataloader:
        src = src.to(DEVICE)
        tgt = tgt.to(DEVICE)

        tgt_input = tgt[:-1, :]

        src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)

        logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, src_padding_mask)

        optimizer.zero_grad()

        tgt_out = tgt[1:, :]
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
        loss.backward()

        optimizer.step()
        losses += loss.item()

    return losses / len(list(train_dataloader))


def evaluate(model):
    model.eval()
    losses = 0

    val_dataloader = DataLoader(val_iter, batch_size=BATCH_SIZE, collate_fn=collate_fn)

    for src, tgt in val_dataloader:
        src = src.to(DEVICE)
        tgt = tgt.to(DEVICE)

        tgt_input = tgt[:-1, :]

        src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)

        logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, src_padding_mask)

        tgt_out = tgt[1:, :]
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
        losses += loss.item()

    return losses / len(list(val_dataloader))


src, tgt = next(iter(DataLoader(train_iter, batch_size=BATCH_SIZE, collate_fn=collate_fn)))
print("batch:", tuple(src.shape), tuple(tgt.shape), src[:, 0].tolist())

NUM_EPOCHS = 16
for epoch in range(1, NUM_EPOCHS + 1):
    start_time = timer()
    train_loss = train_epoch(transformer, optimizer)
    end_time = timer()
    val_loss = evaluate(transformer)
    assert end_time >= start_time
    if epoch % 4 == 0:
        print((f"Epoch: {epoch}, Train loss: {train_loss:.3f}, Val loss: {val_loss:.3f}"))


def greedy_decode(model, src, src_mask, max_len, start_symbol):
    src = src.to(DEVICE)
    src_mask = src_mask.to(DEVICE)

    memory = model.encode(src, src_mask)
    ys = torch.ones(1, 1).fill_(start_symbol).type(torch.long).to(DEVICE)
    for i in range(max_len - 1):
        memory = memory.to(DEVICE)
        tgt_mask = (generate_square_subsequent_mask(ys.size(0))
                    .type(torch.bool)).to(DEVICE)
        out = model.decode(ys, memory, tgt_mask)
        out = out.transpose(0, 1)
        prob = model.generator(out[:, -1])
        _, next_word = torch.max(prob, dim=1)
        next_word = next_word.item()

        ys = torch.cat([ys,
                        torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=0)
        if next_word == EOS_IDX:
            break
    return ys


def translate(model: torch.nn.Module, src_sentence: str):
    model.eval()
    src = text_transform[SRC_LANGUAGE](src_sentence).view(-1, 1)
    num_tokens = src.shape[0]
    src_mask = (torch.zeros(num_tokens, num_tokens)).type(torch.bool)
    tgt_tokens = greedy_decode(
        model, src, src_mask, max_len=num_tokens + 5, start_symbol=BOS_IDX).flatten()
    itos = vocab_transform[TGT_LANGUAGE].itos
    return " ".join(itos[i] for i in tgt_tokens.tolist()).replace("<bos>", "").replace("<eos>", "")


translation = translate(transformer, "ein hund sitzt")
# float32 training amplifies summation-order differences, so the decoded words are not
# compared; they must be target-language words, at most max_len of them.
print("translation is English words:", all(word in vocab_transform[TGT_LANGUAGE].itos for word in translation.split()),
      len(translation.split()) <= 9)
