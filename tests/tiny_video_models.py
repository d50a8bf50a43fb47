"""Tiny random pipelines of each diffusers video family, built from their configs offline (the way
diffusers' own tests build them, with vidgen's offline tokenizers), saved as model folders."""

from __future__ import annotations

from pathlib import Path

WORDS = ["a", "red", "blue", "circle", "square", "boat", "moving", "left", "right", "sea"]


def _t5(tmp: Path, umt5: bool = False):
    """A tiny T5 (Wan: UMT5) text encoder with d_model 32, and the offline tokenizer."""
    import torch
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    from vidgen.models.tokenizer import build_t5_tokenizer

    tok = build_t5_tokenizer(WORDS, max_length=32)
    torch.manual_seed(0)
    config, model = (UMT5Config, UMT5EncoderModel) if umt5 else (T5Config, T5EncoderModel)
    enc = model(config(vocab_size=len(tok) + 8, d_model=32, d_kv=8, d_ff=37, num_layers=1, num_heads=4,
                       pad_token_id=0, eos_token_id=1))
    return enc, tok


def wan(folder: Path, i2v: bool = False) -> Path:
    import torch
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline, WanPipeline, \
        WanTransformer3DModel

    enc, tok = _t5(folder, umt5=True)
    torch.manual_seed(0)
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True])
    torch.manual_seed(0)
    tr = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                               in_channels=36 if i2v else 16, out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32,
                               num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
                               image_dim=4 if i2v else None)
    parts = dict(transformer=tr, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), text_encoder=enc,
                 tokenizer=tok)
    if i2v:
        from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

        torch.manual_seed(0)
        parts["image_encoder"] = CLIPVisionModelWithProjection(CLIPVisionConfig(
            hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2, image_size=32,
            intermediate_size=16, patch_size=1))
        parts["image_processor"] = CLIPImageProcessor(crop_size=32, size=32)
        pipe = WanImageToVideoPipeline(**parts)
    else:
        pipe = WanPipeline(**parts)
    out = folder / ("wan_i2v" if i2v else "wan")
    pipe.save_pretrained(out)
    return out


def ltx(folder: Path) -> Path:
    import torch
    from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXPipeline, \
        LTXVideoTransformer3DModel

    enc, tok = _t5(folder)
    torch.manual_seed(0)
    tr = LTXVideoTransformer3DModel(in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4,
                                    attention_head_dim=8, cross_attention_dim=32, num_layers=1, caption_channels=32)
    torch.manual_seed(0)
    vae = AutoencoderKLLTXVideo(latent_channels=8, block_out_channels=(8, 8, 8, 8),
                                spatio_temporal_scaling=(True, True, False, False), layers_per_block=(1, 1, 1, 1, 1),
                                patch_size=1, patch_size_t=1, encoder_causal=True, decoder_causal=False)
    pipe = LTXPipeline(transformer=tr, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(), text_encoder=enc,
                       tokenizer=tok)
    out = folder / "ltx"
    pipe.save_pretrained(out)
    return out


def cogvideox(folder: Path, i2v: bool = False) -> Path:
    import torch
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXImageToVideoPipeline, \
        CogVideoXPipeline, CogVideoXTransformer3DModel

    enc, tok = _t5(folder)
    torch.manual_seed(0)
    extra = dict(num_attention_heads=2, attention_head_dim=16, in_channels=8, use_rotary_positional_embeddings=True,
                 use_learned_positional_embeddings=True) if i2v else \
        dict(num_attention_heads=4, attention_head_dim=8, in_channels=4)
    tr = CogVideoXTransformer3DModel(out_channels=4, time_embed_dim=2, text_embed_dim=32, num_layers=1,
                                     sample_width=2, sample_height=2, sample_frames=9, patch_size=2,
                                     temporal_compression_ratio=4, max_text_seq_length=16, **extra)
    torch.manual_seed(0)
    vae = AutoencoderKLCogVideoX(in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
                                 up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8),
                                 latent_channels=4, layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4)
    cls = CogVideoXImageToVideoPipeline if i2v else CogVideoXPipeline
    pipe = cls(transformer=tr, vae=vae, scheduler=CogVideoXDDIMScheduler(), text_encoder=enc, tokenizer=tok)
    out = folder / ("cogvideox_i2v" if i2v else "cogvideox")
    pipe.save_pretrained(out)
    return out


def animatediff(folder: Path) -> Path:
    import torch
    from diffusers import AnimateDiffPipeline, AutoencoderKL, DDIMScheduler, MotionAdapter, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from vidgen.models.tokenizer import build_clip_tokenizer

    tok = build_clip_tokenizer(WORDS, folder / "clip_tok", max_length=77)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=2, sample_size=8, in_channels=4,
                                out_channels=4, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
                                norm_num_groups=2)
    torch.manual_seed(0)
    motion = MotionAdapter(block_out_channels=(8, 16), motion_layers_per_block=2, motion_norm_num_groups=2,
                           motion_num_attention_heads=4)
    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=[8, 16], in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                        latent_channels=4, norm_num_groups=2)
    torch.manual_seed(0)
    enc = CLIPTextModel(CLIPTextConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                                       num_attention_heads=4, max_position_embeddings=77, bos_token_id=tok.bos_token_id,
                                       eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id))
    scheduler = DDIMScheduler(beta_schedule="linear", clip_sample=False)
    pipe = AnimateDiffPipeline(unet=unet, motion_adapter=motion, vae=vae, text_encoder=enc, tokenizer=tok,
                               scheduler=scheduler, feature_extractor=None, image_encoder=None)
    out = folder / "animatediff"
    pipe.save_pretrained(out)
    return out


BUILDERS = {"wan": wan, "ltx": ltx, "cogvideox": cogvideox, "animatediff": animatediff}
