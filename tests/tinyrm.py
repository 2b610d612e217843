"""A tiny sequence-classification reward model built on the spot (one output unless
``num_labels`` says otherwise, random weights), sharing the tiny policy's tokenizer. Nothing is
downloaded."""

from __future__ import annotations

from pathlib import Path

from tests.tinymodel import SENTENCES, _tokenizer


def build_tiny_reward_model(
    folder: Path, *, seed: int = 0, hidden_size: int = 32, num_labels: int = 1
) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification

    folder.mkdir(parents=True, exist_ok=True)
    tok = _tokenizer()
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        num_labels=num_labels,
        pad_token_id=tok.pad_token_id,
        bos_token_id=None,
        eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
    )
    torch.manual_seed(seed)
    LlamaForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def build_tiny_cross_encoder(folder: Path, *, seed: int = 0) -> Path:
    """A tiny BERT-shaped sequence classifier with one output and a WordPiece tokenizer that
    writes sentence pairs as ``[CLS] a [SEP] b [SEP]`` with token types, as cross-encoder
    reward models read a question and an answer."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    words = sorted({w.strip(".,?!").lower() for s in SENTENCES for w in s.split()} - {""})
    vocab = folder / "vocab.txt"
    vocab.write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, ".", ",", "?"]) + "\n",
        encoding="utf-8",
    )
    tok = BertTokenizerFast(vocab_file=str(vocab))
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=512,
        num_labels=1,
    )
    torch.manual_seed(seed)
    BertForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
