"""Memory-efficient attention: one dispatch that every vidgen model uses.

Backends:

- ``xformers``: ``xformers.ops.memory_efficient_attention``, when xformers is installed and the
  tensors are on CUDA (it pins a CUDA torch, so it is an optional extra).
- ``sdpa``: ``torch.nn.functional.scaled_dot_product_attention``. On the CPU it has a flash kernel
  (no mask) and a math kernel that materialises the full score matrix.
- ``chunked``: queries and keys in blocks with an online softmax (the flash-attention recurrence
  written in PyTorch), heads grouped so one tile holds at most ``q_chunk * k_chunk`` scores: peak
  memory is a few such tiles whatever the batch, head count or length.
- ``naive``: ``softmax(q k^T * scale) v`` with the whole score matrix, for reference.
- ``auto``: xformers on CUDA when installed, else sdpa.

All backends agree to within 1e-5 (fp32) in ``tests/test_attention.py``. Diffusers models use the
dispatch through :class:`VidgenAttnProcessor`; :func:`set_attention_backend` installs it.
"""

from __future__ import annotations

import importlib.util
import math

import torch
import torch.nn.functional as F

from .choices import ATTENTION_BACKENDS


def xformers_available() -> bool:
    return importlib.util.find_spec("xformers") is not None


def _naive(q, k, v, mask, scale):
    scores = torch.matmul(q, k.transpose(-1, -2)) * scale
    if mask is not None:
        scores = scores + mask
    return torch.matmul(scores.softmax(-1), v)


def _chunked(q, k, v, mask, scale, q_chunk: int, k_chunk: int):
    """Online-softmax attention over (batch, head-group, query-block, key-block) tiles.

    Heads are taken in groups small enough that one tile's scores hold at most
    ``q_chunk * k_chunk`` elements, so the peak is a few such tiles whatever the batch, head
    count or sequence length (before this grouping, a ModelScope-size U-Net step peaked 1.2 GiB
    above SDPA because 160 heads x 1024 x 1024 scores were live at once).
    """
    out = torch.empty_like(q)
    b, heads, lq, _ = q.shape
    lk = k.shape[-2]
    tile = min(q_chunk, lq) * min(k_chunk, lk)
    group = max(1, (q_chunk * k_chunk) // tile)
    if mask is not None:
        mask = mask.expand(b, heads, lq, lk)  # a view: slicing it below copies nothing
    for bi in range(b):
        for h0 in range(0, heads, group):
            sl = (slice(bi, bi + 1), slice(h0, h0 + group))
            out[sl] = _chunked_tile(q[sl], k[sl], v[sl], None if mask is None else mask[sl], scale, q_chunk, k_chunk)
    return out


def _chunked_tile(q, k, v, mask, scale, q_chunk: int, k_chunk: int):
    out = torch.empty_like(q)
    lk = k.shape[-2]
    for qs in range(0, q.shape[-2], q_chunk):
        qb = q[..., qs:qs + q_chunk, :] * scale
        acc = torch.zeros_like(qb)
        row_max = torch.full(qb.shape[:-1] + (1,), -math.inf, dtype=q.dtype, device=q.device)
        row_sum = torch.zeros(qb.shape[:-1] + (1,), dtype=q.dtype, device=q.device)
        for ks in range(0, lk, k_chunk):
            s = torch.matmul(qb, k[..., ks:ks + k_chunk, :].transpose(-1, -2))
            if mask is not None:
                s = s + mask[..., qs:qs + q_chunk, ks:ks + k_chunk]
            new_max = torch.maximum(row_max, s.amax(-1, keepdim=True))
            correction = torch.exp(row_max - new_max)
            p = torch.exp(s - new_max)
            row_sum = row_sum * correction + p.sum(-1, keepdim=True)
            acc = acc * correction + torch.matmul(p, v[..., ks:ks + k_chunk, :])
            row_max = new_max
        out[..., qs:qs + q_chunk, :] = acc / row_sum
    return out


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
              scale: float | None = None, backend: str = "auto", q_chunk: int = 1024,
              k_chunk: int = 4096) -> torch.Tensor:
    """Scaled dot-product attention.

    ``q``: ``(B, heads, Lq, D)``; ``k``, ``v``: ``(B, heads, Lk, D)``; ``mask``: additive,
    broadcastable to ``(B, heads, Lq, Lk)``; ``scale`` defaults to ``D ** -0.5``. Returns
    ``(B, heads, Lq, D)``. Example::

        out = attention(q, k, v, backend="chunked", q_chunk=512)
    """
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    if backend == "auto":
        backend = "xformers" if q.is_cuda and xformers_available() else "sdpa"
    if backend == "sdpa":
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
    if backend == "chunked":
        return _chunked(q, k, v, mask, scale, q_chunk, k_chunk)
    if backend == "naive":
        return _naive(q, k, v, mask, scale)
    if backend == "xformers":
        if not (q.is_cuda and xformers_available()):
            raise RuntimeError("the xformers backend needs xformers installed and CUDA tensors")
        import xformers.ops as xops

        bias = None if mask is None else mask.expand(q.shape[0], q.shape[1], q.shape[2], k.shape[2])
        out = xops.memory_efficient_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                              attn_bias=bias, scale=scale)
        return out.transpose(1, 2)
    raise ValueError(f"unknown attention backend {backend!r}: choose one of {', '.join(ATTENTION_BACKENDS)}")


class VidgenAttnProcessor:
    """A diffusers attention processor that computes attention through :func:`attention`.

    It does what diffusers' ``AttnProcessor2_0`` does around the attention product (projections,
    group/spatial norms, masks, residual, rescale), so swapping it in changes only the kernel.
    """

    def __init__(self, backend: str = "auto", q_chunk: int = 1024, k_chunk: int = 4096):
        if backend not in ATTENTION_BACKENDS:
            raise ValueError(f"unknown attention backend {backend!r}: choose one of {', '.join(ATTENTION_BACKENDS)}")
        self.backend, self.q_chunk, self.k_chunk = backend, q_chunk, k_chunk

    def __call__(self, attn, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None, *args, **kwargs):
        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        input_ndim = hidden_states.ndim
        if input_ndim == 4:
            b, c, h, w = hidden_states.shape
            hidden_states = hidden_states.view(b, c, h * w).transpose(1, 2)
        batch, seq, _ = hidden_states.shape if encoder_hidden_states is None else encoder_hidden_states.shape
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, seq, batch)
            attention_mask = attention_mask.view(batch, attn.heads, -1, attention_mask.shape[-1])
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        query = attn.to_q(hidden_states)
        if encoder_hidden_states is None:
            encoder_hidden_states = hidden_states
        elif attn.norm_cross:
            encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)
        key = attn.to_k(encoder_hidden_states)
        value = attn.to_v(encoder_hidden_states)
        head_dim = key.shape[-1] // attn.heads
        # (B, L, heads * D) -> (B, heads, L, D)
        query, key, value = (t.view(batch, -1, attn.heads, head_dim).transpose(1, 2) for t in (query, key, value))
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)
        out = attention(query, key, value, attention_mask, attn.scale, self.backend, self.q_chunk, self.k_chunk)
        out = out.transpose(1, 2).reshape(batch, -1, attn.heads * head_dim).to(query.dtype)
        out = attn.to_out[1](attn.to_out[0](out))
        if input_ndim == 4:
            out = out.transpose(-1, -2).reshape(b, c, h, w)
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor


def set_attention_backend(model: torch.nn.Module, backend: str = "auto", q_chunk: int = 1024,
                          k_chunk: int = 4096) -> int:
    """Route every diffusers ``Attention`` inside ``model`` through :func:`attention`.

    Returns how many attention layers were switched. Example::

        set_attention_backend(pipe.unet, "chunked", q_chunk=512)
    """
    from diffusers.models.attention_processor import Attention

    n = 0
    for m in model.modules():
        if isinstance(m, Attention):
            m.set_processor(VidgenAttnProcessor(backend, q_chunk, k_chunk))
            n += 1
    return n
