"""An offline CLIP tokenizer: byte-level BPE whose merges make each given word a single token.

Real CLIP vocabularies come from a hub; vidgen's small models need none. The files are the
standard ``vocab.json`` + ``merges.txt`` that ``transformers.CLIPTokenizer`` reads, so a model
folder saved with it loads anywhere. Words not in the list fall back to byte tokens.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (transformers 5 no longer exports it)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(keep, map(chr, chars)))


def bpe(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """What byte-level BPE makes of one word's ``symbols`` with merge ``ranks`` (lowest first), the way
    CLIP's tokenizer applies them: the best-ranked adjacent pair is merged everywhere, until none is left."""
    parts = list(symbols)
    while len(parts) > 1:
        pairs = {(a, b) for a, b in zip(parts, parts[1:]) if (a, b) in ranks}
        if not pairs:
            break
        first = min(pairs, key=ranks.__getitem__)
        merged, i = [], 0
        while i < len(parts):
            if i + 1 < len(parts) and (parts[i], parts[i + 1]) == first:
                merged.append(parts[i] + parts[i + 1])
                i += 2
            else:
                merged.append(parts[i])
                i += 1
        parts = merged
    return parts


def write_clip_tokenizer_files(words: list[str], folder: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``vocab.json`` and ``merges.txt`` into ``folder``; returns their paths.

    Each word's left-to-right merges alone do not make it one token: BPE applies every word's merges
    by rank, so an earlier word's pair inside a later one ("r i" of "right" in "triangle") merges
    first and strands the chain. Such a word gets further merges, ranked last, of the pieces BPE
    leaves it, until it is one token.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    byte_chars = list(bytes_to_unicode().values())
    vocab: list[str] = byte_chars + [c + "</w>" for c in byte_chars]
    merges: list[tuple[str, str]] = []
    seen = set(vocab)
    for word in sorted({w.lower() for w in words}):
        enc = "".join(bytes_to_unicode()[b] for b in word.encode("utf-8"))
        parts = [enc[0]] + [c for c in enc[1:]]
        parts[-1] += "</w>"
        if len(parts) == 1:
            continue
        left = parts[0]
        for right in parts[1:]:
            merges.append((left, right))
            left = left + right
            if left not in seen:
                seen.add(left)
                vocab.append(left)
    ranks = {m: i for i, m in enumerate(merges)}
    for word in sorted({w.lower() for w in words}):
        enc = "".join(bytes_to_unicode()[b] for b in word.encode("utf-8"))
        symbols = list(enc[:-1]) + [enc[-1] + "</w>"]
        while len(parts := bpe(symbols, ranks)) > 1:
            ranks[(parts[0], parts[1])] = len(merges)
            merges.append((parts[0], parts[1]))
            if parts[0] + parts[1] not in seen:
                seen.add(parts[0] + parts[1])
                vocab.append(parts[0] + parts[1])
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    vocab_file, merges_file = folder / "vocab.json", folder / "merges.txt"
    vocab_file.write_text(json.dumps({tok: i for i, tok in enumerate(vocab)}, ensure_ascii=False))
    merges_file.write_text("#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in merges) + "\n")
    return vocab_file, merges_file


def build_clip_tokenizer(words: list[str], folder: str | os.PathLike, max_length: int = 77):
    """A ``CLIPTokenizer`` over ``words`` (``model_max_length`` must be set, or the pipeline overflows)."""
    from transformers import CLIPTokenizer

    vocab_file, merges_file = write_clip_tokenizer_files(words, folder)
    return CLIPTokenizer(str(vocab_file), str(merges_file), model_max_length=max_length)


def build_t5_tokenizer(words: list[str], max_length: int = 128):
    """An offline T5-style tokenizer (SentencePiece unigram over ``words``, then single letters; ``</s>``
    closes every text), the kind Wan, LTX-Video and CogVideoX pipelines load from ``tokenizer/``.
    ``save_pretrained`` writes a ``tokenizer.json`` that ``AutoTokenizer`` reads back offline."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import T5TokenizerFast

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [("▁" + w, -1.0) for w in sorted({w.lower() for w in words})]
    pieces += [(c, -5.0) for c in "▁abcdefghijklmnopqrstuvwxyz0123456789"]
    tok = Tokenizer(models.Unigram(pieces, unk_id=2))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", 1)])
    return T5TokenizerFast(tokenizer_object=tok, eos_token="</s>", unk_token="<unk>", pad_token="<pad>", extra_ids=0,
                           model_max_length=max_length)
