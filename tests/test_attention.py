"""The attention dispatch: backends agree, chunked memory stays bounded, diffusers models use it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from vidgen.attention import attention, set_attention_backend


@pytest.mark.parametrize("lq,lk", [(64, 64), (300, 77), (1000, 1000)])
@pytest.mark.parametrize("masked", [False, True])
def test_backends_agree(lq, lk, masked):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, n, 16, generator=g) for n in (lq, lk, lk))
    mask = None
    if masked:
        mask = torch.zeros(2, 1, 1, lk)
        mask[..., lk // 2:] = -1e4  # padding tokens, as a text mask makes them
    ref = attention(q, k, v, mask, backend="naive")
    for backend in ("sdpa", "chunked", "auto"):
        out = attention(q, k, v, mask, backend=backend, q_chunk=97, k_chunk=61)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5, msg=backend)


def test_unknown_backend():
    with pytest.raises(ValueError, match="chunked"):
        attention(*(torch.zeros(1, 1, 4, 4) for _ in range(3)), backend="magic")


def test_chunked_memory_is_bounded_by_its_chunks():
    """16k x 16k scores for 4 heads would take 4 GiB; chunked attention must stay far below."""
    code = textwrap.dedent("""
        import resource, torch
        from vidgen.attention import attention
        torch.set_num_threads(2)
        q = torch.randn(1, 4, 16384, 32); k = torch.randn(1, 4, 16384, 32); v = torch.randn(1, 4, 16384, 32)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = attention(q, k, v, backend="chunked", q_chunk=1024, k_chunk=1024)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) // 1024)  # MiB
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    grew_mib = int(r.stdout.strip().splitlines()[-1])
    # one 1024 x 1024 tile (one head at a time) is 4 MiB; a few such temporaries fit well inside 256 MiB
    assert grew_mib < 256, grew_mib


def test_diffusers_unet3d_gives_the_same_output_with_each_backend():
    from diffusers import UNet3DConditionModel

    torch.manual_seed(0)
    unet = UNet3DConditionModel(block_out_channels=(8, 16), down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
                                up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"), layers_per_block=1,
                                attention_head_dim=4, norm_num_groups=4, cross_attention_dim=16, sample_size=8).eval()
    x = torch.randn(1, 4, 4, 8, 8)
    text = torch.randn(1, 5, 16)
    with torch.no_grad():
        ref = unet(x, 10, encoder_hidden_states=text).sample
        for backend in ("naive", "chunked", "sdpa"):
            assert set_attention_backend(unet, backend, q_chunk=7, k_chunk=5) > 0
            torch.testing.assert_close(unet(x, 10, encoder_hidden_states=text).sample, ref, rtol=1e-4, atol=1e-5)
