"""A tiny causal language model built on the spot, for the local-target tests and benchmark.

``build_tiny_model(folder)`` writes a randomly initialised Llama-shaped model (hidden size 32,
two layers) with a byte-level BPE tokenizer trained on a few sentences, the special tokens a
chat model needs (``<|im_start|>``, ``<|im_end|>``, ``<pad>``) plus ``<think>``/``</think>``,
and a Jinja chat template whose generation prompt opens a thinking block, or writes an empty one
when ``enable_thinking`` is false. Everything is saved with safetensors; nothing is downloaded.

``behaviour`` shapes what the model does through its ``generation_config.json``:

- ``random``: whatever the random weights say;
- ``rambler``: never writes ``</think>`` nor the end-of-sequence token, so its trace never closes
  and it always runs to the token limit;
- ``closer``: writes ``</think>`` as soon as it can (a large bias on that token) and never ends
  the sequence on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

Behaviour = Literal["random", "rambler", "closer"]

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A careful assistant thinks before it answers a question.",
    "Safety tests ask whether a model refuses harmful requests.",
    "The answer follows the thinking trace, after the closing tag.",
    "Small models are fast to build and easy to test on a laptop.",
    "Numbers like 1, 2, 3 and 42 appear in questions too.",
    "How do I bake bread? Mix flour, water, salt and yeast, then wait.",
    "Please summarise the report in three short sentences.",
    "I can't help with that request, but here is something safer.",
    "Wait, let me check the steps again before answering.",
]

CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and not enable_thinking -%}"
    "{{ '<think>\\n\\n</think>\\n\\n' }}"
    "{%- else -%}"
    "{{ '<think>\\n' }}"
    "{%- endif -%}"
    "{%- endif -%}"
)

SPECIAL = ["<pad>", "<|im_start|>", "<|im_end|>"]
THINK = ["<think>", "</think>"]


def _tokenizer() -> Any:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=360,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(SENTENCES, trainer)
    raw.add_tokens([AddedToken(t, special=False, normalized=False) for t in THINK])
    tok = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token="<|im_end|>",
        pad_token="<pad>",
        additional_special_tokens=["<|im_start|>"],
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def build_tiny_model(
    folder: Path,
    behaviour: Behaviour = "random",
    *,
    seed: int = 0,
    hidden_size: int = 32,
    layers: int = 2,
) -> Path:
    """Write the tiny model to ``folder`` (created) and return it. The benchmark asks for a
    wider, deeper one through ``hidden_size`` and ``layers``."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging

    logging.disable_progress_bar()
    folder.mkdir(parents=True, exist_ok=True)
    tok = _tokenizer()
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    close = tok.convert_tokens_to_ids("</think>")
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        initializer_range=0.3,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=eos,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    gen: dict[str, Any] = {"eos_token_id": eos, "pad_token_id": tok.pad_token_id}
    if behaviour == "rambler":
        gen["suppress_tokens"] = [close, eos]
    elif behaviour == "closer":
        gen["suppress_tokens"] = [eos]
        gen["sequence_bias"] = [[[close], 100.0]]
    model.generation_config = GenerationConfig(**gen)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def write_remote_code_model(folder: Path, marker: Path) -> Path:
    """A model folder that asks for custom code (``auto_map``); importing that code would
    create ``marker``. Used to check that remote code is never run unless asked for."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(
        '{"model_type": "thinksafe-custom", "architectures": ["CustomForCausalLM"],'
        ' "auto_map": {"AutoConfig": "configuration_custom.CustomConfig",'
        ' "AutoModelForCausalLM": "modeling_custom.CustomForCausalLM"}}',
        encoding="utf-8",
    )
    code = f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"
    (folder / "configuration_custom.py").write_text(code, encoding="utf-8")
    (folder / "modeling_custom.py").write_text(code, encoding="utf-8")
    return folder
