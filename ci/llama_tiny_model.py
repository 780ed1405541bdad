#!/usr/bin/env python3
"""Writes a tiny random-weight llama GGUF and its Hugging Face tokenizer for `ix bench` tests.

usage: llama_tiny_model.py VOCAB_GGUF OUT_DIR

OUT_DIR/tiny.gguf: llama architecture, 2 blocks, width 64, 4 heads, FFN 128, context 4096, f32,
the vocabulary of VOCAB_GGUF (byte-level BPE) plus two ChatML control tokens, a ChatML template,
and an output head that never picks EOS or a control token (so streams always run to max_tokens).
OUT_DIR/tokenizer/: the same vocabulary as a fast tokenizer (tokenizer.json and friends).
"""
import json
import os
import sys

import gguf
import numpy as np

LAYERS, WIDTH, HEADS, FFN, CONTEXT = 2, 64, 4, 128, 4096
CONTROL = ["<|im_start|>", "<|im_end|>"]
TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def field_strings(reader, key):
    field = reader.fields[key]
    return [bytes(field.parts[idx]).decode("utf-8") for idx in field.data]


def field_ints(reader, key):
    field = reader.fields[key]
    return [int(field.parts[idx][0]) for idx in field.data]


def field_int(reader, key):
    return field_ints(reader, key)[0]


def field_text(reader, key):
    return bytes(reader.fields[key].parts[-1]).decode("utf-8")


def write_model(path, vocab, rng):
    tokens, types, merges, bos, eos, pre = vocab
    n_vocab = len(tokens)

    def weights(*shape, scale=0.02):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    out = gguf.GGUFWriter(path, "llama")
    out.add_name("ix-tiny-llama")
    out.add_context_length(CONTEXT)
    out.add_embedding_length(WIDTH)
    out.add_block_count(LAYERS)
    out.add_feed_forward_length(FFN)
    out.add_head_count(HEADS)
    out.add_head_count_kv(HEADS)
    out.add_rope_dimension_count(WIDTH // HEADS)
    out.add_layer_norm_rms_eps(1e-5)
    out.add_file_type(0)
    out.add_vocab_size(n_vocab)
    out.add_tokenizer_model("gpt2")
    out.add_tokenizer_pre(pre)
    out.add_token_list(tokens)
    out.add_token_types(types)
    out.add_token_merges(merges)
    out.add_bos_token_id(bos)
    out.add_eos_token_id(eos)
    out.add_add_bos_token(False)
    out.add_chat_template(TEMPLATE)

    embedding = weights(n_vocab, WIDTH, scale=0.05)
    embedding[:, 0] = 1.0  # a constant feature the output head can use as a bias
    out.add_tensor("token_embd.weight", embedding)
    for block in range(LAYERS):
        prefix = f"blk.{block}."
        out.add_tensor(prefix + "attn_norm.weight", np.ones(WIDTH, np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            out.add_tensor(prefix + name + ".weight", weights(WIDTH, WIDTH))
        out.add_tensor(prefix + "ffn_norm.weight", np.ones(WIDTH, np.float32))
        out.add_tensor(prefix + "ffn_gate.weight", weights(FFN, WIDTH))
        out.add_tensor(prefix + "ffn_up.weight", weights(FFN, WIDTH))
        out.add_tensor(prefix + "ffn_down.weight", weights(WIDTH, FFN))
    out.add_tensor("output_norm.weight", np.ones(WIDTH, np.float32))
    head = weights(n_vocab, WIDTH, scale=1.0)
    head[:, 0] = 0.0
    for banned in {bos, eos, n_vocab - 2, n_vocab - 1}:
        head[banned, :] = 0.0
        head[banned, 0] = -50.0  # far below any other logit: never sampled, even greedily
    out.add_tensor("output.weight", head)
    out.write_header_to_file()
    out.write_kv_data_to_file()
    out.write_tensors_to_file()
    out.close()


def write_tokenizer(folder, vocab):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tokens, _types, merges, bos, eos, _pre = vocab
    bpe = models.BPE(
        vocab={token: idx for idx, token in enumerate(tokens)},
        merges=[tuple(merge.split(" ", 1)) for merge in merges],
        fuse_unk=False,
    )
    tokenizer = Tokenizer(bpe)
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    specials = [tokens[eos]] + CONTROL
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=tokens[bos],
        eos_token=tokens[eos],
        unk_token=tokens[eos],
        model_max_length=CONTEXT,
    )
    fast.chat_template = TEMPLATE
    fast.save_pretrained(folder)
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as handle:
        json.dump({"model_type": "gpt2", "vocab_size": len(tokens)}, handle)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    vocab_path, out_dir = sys.argv[1], sys.argv[2]
    reader = gguf.GGUFReader(vocab_path)
    if field_text(reader, "tokenizer.ggml.model") != "gpt2":
        sys.exit("only byte-level BPE (gpt2) vocabularies are supported")
    vocab = (
        field_strings(reader, "tokenizer.ggml.tokens") + CONTROL,
        field_ints(reader, "tokenizer.ggml.token_type") + [3] * len(CONTROL),
        field_strings(reader, "tokenizer.ggml.merges"),
        field_int(reader, "tokenizer.ggml.bos_token_id"),
        field_int(reader, "tokenizer.ggml.eos_token_id"),
        field_text(reader, "tokenizer.ggml.pre"),
    )
    os.makedirs(out_dir, exist_ok=True)
    tmp_model = os.path.join(out_dir, "tiny.gguf.tmp")
    write_model(tmp_model, vocab, np.random.default_rng(0))
    write_tokenizer(os.path.join(out_dir, "tokenizer"), vocab)
    os.replace(tmp_model, os.path.join(out_dir, "tiny.gguf"))


if __name__ == "__main__":
    main()
