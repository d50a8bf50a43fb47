"""Text-to-video pipeline on tiny seeded components: shapes, determinism, save/load, schedulers, guidance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helpers import tiny_t2v_config, tiny_t2v_model
from vidgen.errors import OptionError, WeightsError
from vidgen.pipelines.text_to_video import TextToVideoPipeline

TINY = tiny_t2v_config()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_t2v_model(tmp_path_factory.mktemp("tiny_t2v"))


def run(pipe, **kw):
    args = dict(prompt="a red circle moving left", num_frames=8, num_inference_steps=2, seed=3)
    args.update(kw)
    return pipe(**args).frames


def test_layout_is_the_diffusers_one(tiny):
    for sub in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert (tiny / sub).is_dir()
    index = json.loads((tiny / "model_index.json").read_text())
    assert index["unet"] == ["diffusers", "UNet3DConditionModel"]


def test_frame_positions_make_temporal_attention_see_frame_order(tiny):
    """diffusers' temporal attention alone is frame-permutation equivariant; with vidgen's frame
    positions (the default) it is not. The setting survives save/load through model_index.json."""
    from diffusers import UNet3DConditionModel

    from vidgen.models.t2v import add_frame_positions

    pipe = TextToVideoPipeline.from_pretrained(tiny)
    assert json.loads((tiny / "model_index.json").read_text())["vidgen_frame_positions"] is True
    assert pipe.unet.vidgen_frame_positions
    plain = UNet3DConditionModel.from_pretrained(tiny / "unet").eval()  # same weights, no positions
    frames, perm = 6, torch.tensor([3, 0, 5, 1, 4, 2])
    x = torch.randn(frames, plain.config.block_out_channels[0], 8, 8, generator=torch.Generator().manual_seed(0))

    def temporal(unet, h):  # (frames, C, H, W) through the U-Net's first temporal transformer
        with torch.no_grad():
            return unet.transformer_in(h, num_frames=frames, return_dict=False)[0]

    assert torch.allclose(temporal(plain, x[perm]), temporal(plain, x)[perm], atol=1e-5)
    assert not torch.allclose(temporal(pipe.unet, x[perm]), temporal(pipe.unet, x)[perm], atol=1e-3)
    assert add_frame_positions(plain) > 0
    assert torch.allclose(temporal(plain, x), temporal(pipe.unet, x), atol=1e-6)


def test_shapes_range_and_determinism(tiny):
    pipe = TextToVideoPipeline.from_pretrained(tiny)
    a = run(pipe)
    assert a.shape == (1, 3, 8, 32, 32) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, run(pipe))
    assert not torch.equal(a, run(pipe, seed=4))
    assert run(pipe, prompt=["a red circle moving left", "a blue square moving right"]).shape[0] == 2


def test_save_load_round_trip(tiny, tmp_path):
    pipe = TextToVideoPipeline.from_pretrained(tiny)
    pipe.save_pretrained(tmp_path / "again")
    assert torch.equal(run(pipe), run(TextToVideoPipeline.from_pretrained(tmp_path / "again")))


def test_model_names_its_own_guidance_scale(tiny, tmp_path):
    """A model folder without ``vidgen_guidance_scale`` samples at 7.5; one that names a scale samples
    at that scale when none is given, and the setting survives save/load."""
    pipe = TextToVideoPipeline.from_pretrained(tiny)
    assert pipe.guidance_scale == 7.5
    assert torch.equal(run(pipe), run(pipe, guidance_scale=7.5))
    pipe.guidance_scale = 4.0
    pipe.save_pretrained(tmp_path / "own")
    assert json.loads((tmp_path / "own" / "model_index.json").read_text())["vidgen_guidance_scale"] == 4.0
    again = TextToVideoPipeline.from_pretrained(tmp_path / "own")
    assert again.guidance_scale == 4.0
    own = run(again)
    assert torch.equal(own, run(again, guidance_scale=4.0)) and not torch.equal(own, run(again, guidance_scale=7.5))
    index = json.loads((tmp_path / "own" / "model_index.json").read_text())
    index["vidgen_guidance_scale"] = "strong"
    (tmp_path / "own" / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(WeightsError, match="vidgen_guidance_scale"):
        TextToVideoPipeline.from_pretrained(tmp_path / "own")


def test_scheduler_swap_and_guidance(tiny):
    pipe = TextToVideoPipeline.from_pretrained(tiny)
    ddim = run(pipe, num_inference_steps=4)
    pipe.set_scheduler("dpm")
    dpm = run(pipe, num_inference_steps=4)
    assert type(pipe.scheduler).__name__ == "DPMSolverMultistepScheduler"
    assert dpm.shape == ddim.shape and not torch.equal(dpm, ddim)
    no_cfg = run(pipe, guidance_scale=1.0)
    cfg = run(pipe, guidance_scale=7.5)
    neg = run(pipe, guidance_scale=7.5, negative_prompt="a blue square")
    assert not torch.equal(no_cfg, cfg) and not torch.equal(cfg, neg)
    with pytest.raises(OptionError):
        pipe.set_scheduler("euler-magic")


def test_attention_backends_and_memory_features_keep_the_output(tiny):
    pipe = TextToVideoPipeline.from_pretrained(tiny)
    ref = run(pipe)
    pipe.set_attention("chunked", q_chunk=16, k_chunk=16)
    pipe.enable_vae_slicing()
    pipe.enable_forward_chunking(1)
    torch.testing.assert_close(run(pipe), ref, rtol=1e-4, atol=1e-4)


def test_bad_inputs(tiny, tmp_path):
    pipe = TextToVideoPipeline.from_pretrained(tiny)
    with pytest.raises(OptionError, match="multiple of 2"):
        run(pipe, height=31, width=32)
    with pytest.raises(OptionError):
        run(pipe, prompt="")
    with pytest.raises(WeightsError, match="model_index"):
        TextToVideoPipeline.from_pretrained(tmp_path)


def test_generate_cli(tiny, tmp_path):
    from vidgen.io import probe

    out = tmp_path / "v.mp4"
    r = subprocess.run([sys.executable, "-m", "vidgen", "generate", "a blue square moving right", "-o", str(out),
                        "--model", str(tiny), "--frames", "8", "--steps", "2", "--fps", "8", "--seed", "1", "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    info = probe(out)
    assert (info.width, info.height, info.fps) == (32, 32, 8)
    bad = subprocess.run([sys.executable, "-m", "vidgen", "generate", "x", "--model", str(tmp_path / "none")],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_training_both_phases_and_resume(tmp_path):
    from vidgen.training.t2v_options import T2VTrainConfig
    from vidgen.training.text_to_video import train

    def cfg(out):
        return T2VTrainConfig(out=str(tmp_path / out), vae_steps=2, unet_steps=4, vae_batch=2, batch_size=2, frames=4,
                              eval_every=2, save_every=2, workers=0, model=TINY)

    model = train(cfg("a"), progress=False)
    assert (model / "model_index.json").exists() and (model / "training.json").exists()
    pipe = TextToVideoPipeline.from_pretrained(model)
    assert pipe.vae.config.scaling_factor != 0.18215  # set from the trained VAE's latents
    assert run(pipe, num_frames=4).shape == (1, 3, 4, 32, 32)
    stopped = train(cfg("b"), progress=False, stop_after=4)  # 2 VAE steps + 2 U-Net steps
    assert stopped.name == "step_2" and stopped.parent.parent.name == "unet"
    from safetensors.torch import load_file

    from vidgen.errors import InputError
    from vidgen.training.text_to_video import export_checkpoint

    exported = TextToVideoPipeline.from_pretrained(export_checkpoint(tmp_path / "b", 2, tmp_path / "b_step2"))
    saved = load_file(stopped / "model.safetensors")
    for k, v in exported.unet.state_dict().items():
        assert torch.equal(v, saved[k])
    assert run(exported, num_frames=4).shape == (1, 3, 4, 32, 32)
    with pytest.raises(InputError, match="no U-Net checkpoint at step 3"):
        export_checkpoint(tmp_path / "b", 3, tmp_path / "none")
    resumed = train(cfg("b"), resume=True, progress=False)
    a = TextToVideoPipeline.from_pretrained(model).unet.state_dict()
    b = TextToVideoPipeline.from_pretrained(resumed).unet.state_dict()
    for k in a:  # a resumed run continues the same curve, to float noise (1.7e-5 seen)
        torch.testing.assert_close(a[k], b[k], rtol=1e-3, atol=1e-4)

    # --init continues a model folder (no VAE phase, VAE kept); --respread re-draws word embeddings
    from vidgen.training.text_to_video import respread_tokens

    c = cfg("c")
    c.init, c.unet_steps, c.respread, c.respread_norm, c.v_weight_cap = str(model), 2, ("left", "right"), 3.0, 10.0
    c.context_frames, c.context_noise_min, c.context_x0_weight = 1.0, 900, 0.1  # every clip: the x0 branch runs
    cont = train(c, progress=False)
    assert not (tmp_path / "c" / "vae").exists()
    base, after = TextToVideoPipeline.from_pretrained(model), TextToVideoPipeline.from_pretrained(cont)
    for k, v in base.vae.state_dict().items():
        assert torch.equal(v, after.vae.state_dict()[k])
    log = [json.loads(line) for line in (tmp_path / "c" / "unet" / "log.jsonl").read_text().splitlines()]
    assert "val_dir_gain" in log[0] and "val_dir_gain_ctx" in log[0]
    # a continued run's checkpoint exports with the rest of the model it continued
    part = TextToVideoPipeline.from_pretrained(export_checkpoint(tmp_path / "c", 2, tmp_path / "c_step2"))
    for k, v in after.unet.state_dict().items():
        assert torch.equal(v, part.unet.state_dict()[k])
    for k, v in base.vae.state_dict().items():
        assert torch.equal(v, part.vae.state_dict()[k])
    emb = base.text_encoder.get_input_embeddings().weight
    left, right, red = (base.tokenizer(w, add_special_tokens=False).input_ids[0] for w in ("left", "right", "red"))
    before_red = emb[red].clone()
    respread_tokens(base.text_encoder, base.tokenizer, ("left", "right"), 3.0, seed=0)
    assert abs(float(emb[left].norm()) - 3.0) < 1e-4 and float((emb[left] - emb[right]).norm()) > 2.0
    assert torch.equal(emb[red], before_red)
    with pytest.raises(OptionError, match="not one token"):
        respread_tokens(base.text_encoder, base.tokenizer, ("sideways",), 1.0, seed=0)


def test_warm_start_takes_the_tensors_that_fit_and_the_words_it_knows_and_refuses_another_vocabulary(tiny, tmp_path):
    from dataclasses import replace

    from helpers import T2V_WORDS
    from vidgen.models.t2v import small_components
    from vidgen.training.text_to_video import warm_start

    source = TextToVideoPipeline.from_pretrained(tiny)
    comps = small_components(T2V_WORDS, tmp_path / "tok", replace(TINY, latent_channels=8), seed=1)
    fresh_in = comps["unet"].conv_in.weight.clone()
    kept = warm_start(comps, source)
    assert kept["unet"] == ["conv_in.weight", "conv_out.bias", "conv_out.weight"] and kept["text_encoder"] == []
    assert torch.equal(comps["unet"].conv_in.weight, fresh_in)  # 8 latent channels: its own first layer
    mid = "mid_block.resnets.0.conv1.weight"
    assert torch.equal(comps["unet"].state_dict()[mid], source.unet.state_dict()[mid])
    for k, v in source.text_encoder.state_dict().items():
        assert torch.equal(comps["text_encoder"].state_dict()[k], v)
    captioned = small_components(T2V_WORDS, tmp_path / "tok", replace(TINY, temporal_text=True), seed=1)
    fresh = warm_start(captioned, source)["unet"]  # a model without the caption projections: they stay zero
    assert fresh and all(".pos_embed.proj." in k for k in fresh)
    assert all(float(captioned["unet"].state_dict()[k].abs().max()) == 0 for k in fresh)
    # another word: the shared tokens take their rows by token, whatever their numbers; the new word's stays
    other = small_components(T2V_WORDS + ["zebra"], tmp_path / "tok2", TINY, seed=1)
    zebra = other["tokenizer"].convert_tokens_to_ids("zebra</w>")
    fresh_zebra = other["text_encoder"].get_input_embeddings().weight[zebra].clone()
    warm_start(other, source)
    emb, theirs = other["text_encoder"].get_input_embeddings().weight, source.text_encoder.get_input_embeddings().weight
    assert torch.equal(emb[zebra], fresh_zebra)
    for word in T2V_WORDS:
        i, j = other["tokenizer"].convert_tokens_to_ids(word + "</w>"), source.tokenizer.convert_tokens_to_ids(word + "</w>")
        assert torch.equal(emb[i], theirs[j])
    assert other["tokenizer"].get_vocab() != source.tokenizer.get_vocab()
    unrelated = small_components(["zebra", "quokka", "yak", "ibis"], tmp_path / "tok3", TINY, seed=1)
    with pytest.raises(OptionError, match="another vocabulary"):
        warm_start(unrelated, source)


def test_every_word_is_one_token_even_where_another_word_s_merge_falls_inside_it(tmp_path):
    from vidgen.models.tokenizer import build_clip_tokenizer
    from vidgen.training.shapes import WORDS

    # "right" merges "r i" before "triangle"'s chain "t r" is reached, which used to leave triangle in 7 pieces
    words = WORDS + ["tri", "triangles", "rig"]
    tok = build_clip_tokenizer(words, tmp_path / "tok", max_length=16)
    for w in words:
        assert tok.tokenize(w) == [w + "</w>"], w
    assert tok.tokenize("a red triangle moving right") == ["a</w>", "red</w>", "triangle</w>", "moving</w>",
                                                           "right</w>"]


@pytest.mark.parametrize("mode", [True, "frames", "spacetime"])
def test_temporal_text_starts_as_the_model_without_it_and_round_trips(tmp_path, capfd, mode):
    from dataclasses import replace

    from helpers import T2V_WORDS
    from vidgen.models.t2v import small_components, temporal_text_tensors

    plain = small_components(T2V_WORDS, tmp_path / "tok", TINY, seed=0)
    comps = small_components(T2V_WORDS, tmp_path / "tok", replace(TINY, temporal_text=mode is True,
                                                                 frame_text=mode == "frames",
                                                                 space_time_text=mode == "spacetime"), seed=0)
    proj = temporal_text_tensors(comps["unet"].state_dict())
    from diffusers.models.transformers.transformer_temporal import TransformerTemporalModel

    blocks = sum(len(m.transformer_blocks) for m in plain["unet"].modules() if isinstance(m, TransformerTemporalModel))
    # a weight and a bias in each temporal block, twice with the frame-wise projection, three times with the
    # field's two layers
    assert blocks >= 3 and len(proj) == {True: 2, "frames": 4, "spacetime": 6}[mode] * blocks
    pipe = TextToVideoPipeline(**comps)
    ids = pipe.tokenizer(["a red circle moving left", "a blue square moving right"], padding="max_length",
                         max_length=pipe.tokenizer.model_max_length, return_tensors="pt").input_ids
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 8, 16, 16, generator=g)

    def out(unet):
        with torch.no_grad():
            return unet(x, torch.tensor([500, 500]), encoder_hidden_states=pipe.text_encoder(ids)[0]).sample

    torch.testing.assert_close(out(comps["unet"]), out(plain["unet"]))  # zero projections: the same model
    with torch.no_grad():
        for k, p in comps["unet"].named_parameters():
            if ".pos_embed." in k:
                p.normal_(0, 0.5, generator=g)
    moved = out(comps["unet"])
    assert (moved - out(plain["unet"])).abs().max() > 1e-3  # the caption now reaches the temporal layers
    pipe.save_pretrained(tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "model_index.json").read_text())["vidgen_temporal_text"]
    assert saved == mode
    capfd.readouterr()
    back = TextToVideoPipeline.from_pretrained(tmp_path / "m")
    assert "not used" not in capfd.readouterr().err  # diffusers' unused-weights warning: they are loaded
    torch.testing.assert_close(out(back.unet), moved)
    # an index that names the projections over weights without them is refused
    TextToVideoPipeline(**plain).save_pretrained(tmp_path / "p")
    index = json.loads((tmp_path / "p" / "model_index.json").read_text())
    (tmp_path / "p" / "model_index.json").write_text(json.dumps({**index, "vidgen_temporal_text": True}))
    with pytest.raises(WeightsError, match="caption projections"):
        TextToVideoPipeline.from_pretrained(tmp_path / "p")


def test_space_time_field_depends_on_caption_frame_and_pixel_and_unknown_modes_are_refused(tmp_path):
    from vidgen.models.t2v import SpaceTimeText

    torch.manual_seed(0)
    st = SpaceTimeText(text_dim=8, channels=4)
    text = torch.randn(2, 8)
    assert float(st(text, 5, 3, 4).abs().max()) == 0  # zero output layer: nothing added at the start
    torch.nn.init.normal_(st.out.weight)
    f = st(text, 5, 3, 4).view(2, 3, 4, 5, 4)  # (batch, y, x, frame, channels), the temporal blocks' row order
    assert (f[0] - f[1]).abs().max() > 1e-3  # another caption, another field
    assert (f[:, :, :, 0] - f[:, :, :, 4]).abs().max() > 1e-3  # first and last frame differ
    assert (f[:, :, 0] - f[:, :, 3]).abs().max() > 1e-3 and (f[:, 0] - f[:, 2]).abs().max() > 1e-3  # x and y
    torch.testing.assert_close(st(text[:1], 5, 3, 4), st(text, 5, 3, 4)[:12])  # each clip its own rows
    from helpers import T2V_WORDS
    from vidgen.models.t2v import small_components

    TextToVideoPipeline(**small_components(T2V_WORDS, tmp_path / "tok", TINY)).save_pretrained(tmp_path / "m")
    index = json.loads((tmp_path / "m" / "model_index.json").read_text())
    (tmp_path / "m" / "model_index.json").write_text(json.dumps({**index, "vidgen_temporal_text": "sideways"}))
    with pytest.raises(WeightsError, match="must be true"):
        TextToVideoPipeline.from_pretrained(tmp_path / "m")


def test_frame_wise_caption_term_differs_between_frames_and_the_plain_one_does_not():
    from vidgen.models.t2v import CaptionedFramePositions, FramePositions

    g = torch.Generator().manual_seed(1)
    x, text = torch.randn(6, 5, 8, generator=g), torch.randn(2, 3, 4, generator=g)  # 2 clips x 3 pixels, 5 frames
    base = FramePositions()(x)
    for frame_wise in (False, True):
        holder = {"text": text}
        m = CaptionedFramePositions(4, 8, holder, frame_wise)
        assert torch.equal(m(x), base)  # zero-initialised
        with torch.no_grad():
            for p in m.parameters():
                p.normal_(0, 1, generator=g)
            added = (m(x) - base).view(2, 3, 5, 8)
        assert torch.allclose(added[:, :1], added)  # the same for every pixel of a clip
        assert not torch.allclose(added[0], added[1])  # but not for another caption
        spread = float((added - added[:, :, :1]).abs().max())  # between frames
        assert (spread > 1e-2) == frame_wise


def test_context_mask_keeps_the_first_or_last_frames_of_a_share_of_clips():
    from vidgen.training.text_to_video import context_mask

    keep = context_mask(4000, 16, 0.3, torch.Generator().manual_seed(0))[:, 0, :, 0, 0]
    used = keep.any(1)
    assert abs(float(used.float().mean()) - 0.3) < 0.03
    n = keep.sum(1)[used]
    assert int(n.min()) == 1 and int(n.max()) == 4
    first = keep[used][:, 0]
    assert 0.4 < float(first.float().mean()) < 0.6  # from the start or from the end
    for row, k in zip(keep[used], n):  # one run of frames touching an end
        k = int(k)
        assert bool(row[:k].all()) or bool(row[-k:].all())
    assert not context_mask(50, 2, 1.0, torch.Generator().manual_seed(1)).all(2).any()  # never every frame
    assert not context_mask(50, 16, 0.0, torch.Generator().manual_seed(1)).any()


def test_spread_keeps_paths_near_the_centre_and_the_detector_reads_them():
    import numpy as np

    from vidgen.training.shapes import DIRECTIONS, detect, render_clip

    def path_middles(spread):
        out = []
        for i in range(40):
            d = DIRECTIONS[i % 4]
            v = render_clip(np.random.default_rng([3, i]), "red", "square", d, 16, 64, 0.0, spread)
            moving = np.abs(v.astype(np.float32) - np.median(v, axis=0)).max(3) > 40
            ys, xs = np.nonzero(moving.any(0))  # every pixel the shape covers over the clip
            out.append(((xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2))
            assert detect(v)["direction"] == d
        return np.abs(np.array(out) - 31.5).max(1)  # the path's middle, its farthest axis from the centre

    wide, narrow = path_middles(1.0), path_middles(0.3)
    assert narrow.max() <= 9 < wide.max()  # 0.3 of the +-25 px the full range allows, plus the outline
    assert narrow.mean() < wide.mean() / 2


def test_shape_vae_slicing_and_tiling_decode_the_same():
    from vidgen.models.vae import ShapeVAE

    torch.manual_seed(0)
    vae = ShapeVAE(block_out_channels=(8, 8, 8), latent_channels=4).eval()
    z = torch.randn(2, 4, 40, 56)  # larger than one 32-latent tile both ways
    with torch.no_grad():
        plain = vae.decode(z).sample
        vae.enable_slicing()
        vae.enable_tiling()
        tiled = vae.decode(z).sample
    assert plain.shape == (2, 3, 160, 224)
    assert torch.allclose(plain, tiled, atol=1e-5)
    with torch.no_grad():
        post = vae.encode(plain).latent_dist
    assert post.mode().shape == (2, 4, 40, 56) and float(post.std.max()) < 0.1  # small initial posterior noise


def test_shipped_model_is_the_default_and_loads():
    """The model in vidgen/weights/t2v (trained by training/text_to_video) is what generate uses without --model."""
    from vidgen.pipelines.text_to_video import default_model_dir

    index = json.loads((default_model_dir() / "model_index.json").read_text())
    assert index["vae"] == ["vidgen", "ShapeVAE"] and index["unet"] == ["diffusers", "UNet3DConditionModel"]
    pipe = TextToVideoPipeline.from_pretrained()
    a = pipe("a red circle moving left", num_frames=16, num_inference_steps=3, seed=0).frames
    assert a.shape == (1, 3, 16, 64, 64)
    assert torch.equal(a, pipe("a red circle moving left", num_frames=16, num_inference_steps=3, seed=0).frames)


def _tiny_guide(scale: float = 0.0, guided=None):
    from vidgen.models.t2v_guide import LatentAttributeClassifier
    from vidgen.training.t2v_guide import ATTRIBUTES

    torch.manual_seed(0)
    return LatentAttributeClassifier(attributes=ATTRIBUTES, width=8, default_scale=scale, guided=guided).eval()


def test_guide_reads_the_prompt_words_it_knows():
    guide = _tiny_guide()
    assert guide.labels_of("a red circle moving left") == {"color": 0, "shape": 0, "direction": 0}
    assert guide.labels_of("A boat, moving RIGHT") == {"direction": 1}
    assert guide.labels_of("a boat at sea") == {}
    assert _tiny_guide(guided=["direction"]).labels_of("a red circle moving up") == {"direction": 2}


def test_classifier_guidance_steers_toward_the_named_labels_and_round_trips(tiny, tmp_path):
    pipe = TextToVideoPipeline.from_pretrained(tiny)
    plain = run(pipe)
    pipe.guide = _tiny_guide(scale=50.0)
    assert torch.equal(run(pipe, classifier_scale=0.0), plain)  # off = the plain pipeline, exactly
    guided = run(pipe)  # the guide's default scale
    assert not torch.equal(guided, plain) and torch.equal(guided, run(pipe))  # it acts; same seed, same video
    # one guided step raises log p(label | latents) against the unguided step from the same latents
    x = torch.randn(1, 4, 8, 16, 16, generator=torch.Generator().manual_seed(1))
    t = 500
    pipe.scheduler.set_timesteps(10)
    labels = [pipe.guide.labels_of("a red circle moving left")]
    eps = torch.zeros_like(x)
    before = pipe.scheduler.step(eps, t, x).prev_sample
    pipe.scheduler.set_timesteps(10)
    after = pipe.scheduler.step(pipe.classifier_guided(eps, x, t, labels, 50.0), t, x).prev_sample
    ts = torch.tensor([t])
    with torch.no_grad():
        assert float(pipe.guide.log_prob(after, ts, labels)) > float(pipe.guide.log_prob(before, ts, labels))
    pipe.save_pretrained(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "model_index.json").read_text())["guide"] == ["vidgen",
                                                                                    "LatentAttributeClassifier"]
    again = TextToVideoPipeline.from_pretrained(tmp_path / "m")
    assert again.guide.config.default_scale == 50.0
    torch.testing.assert_close(run(again), guided, atol=1e-4, rtol=0)  # loaded weights: kernels differ by ~5e-6
    with pytest.raises(OptionError, match="classifier-guidance"):
        run(pipe, classifier_scale=-1.0)


def test_guide_training_writes_a_guided_model(tiny, tmp_path):
    from vidgen.training.t2v_guide import train
    from vidgen.training.t2v_options import GuideTrainConfig

    cfg = GuideTrainConfig(model=str(tiny), out=str(tmp_path / "g"), steps=2, batch_size=4, clips=8,
                           default_scale=3.0, eval_every=2, save_every=2)
    model = train(cfg, progress=False)
    log = [json.loads(line) for line in (tmp_path / "g" / "log.jsonl").read_text().splitlines()]
    assert "held_out_direction_t500" in log[0]
    pipe = TextToVideoPipeline.from_pretrained(model)
    assert pipe.guide is not None and pipe.guide.config.default_scale == 3.0
    assert (model / "guide" / "training.json").exists()
    base = TextToVideoPipeline.from_pretrained(tiny)
    for k, v in base.unet.state_dict().items():  # the U-Net is the input model's
        assert torch.equal(v, pipe.unet.state_dict()[k])


def test_candidates_keep_each_prompts_best_and_work_with_a_multistep_sampler(tiny):
    pipe = TextToVideoPipeline.from_pretrained(tiny)
    pipe.guide = _tiny_guide()
    labels = [pipe.guide.labels_of("a red circle moving left")] * 3 + [pipe.guide.labels_of("a blue square up")] * 3
    x = torch.randn(6, 4, 8, 16, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():  # each candidate scored alone, then the best of each prompt's three
        alone = torch.stack([pipe.guide.log_prob(x[i:i + 1], torch.tensor([300]), labels[i:i + 1])[0]
                             for i in range(6)])
    want = [int(alone[:3].argmax()), 3 + int(alone[3:].argmax())]
    assert pipe.pick_candidates(x, 300, labels, 3).tolist() == want
    pipe.set_scheduler("dpm")
    pipe.guide.register_to_config(select_timestep=600)  # chosen after two of four steps: DPM history is cut too
    a = run(pipe, prompt=["a red circle moving left", "a blue square moving up"], num_inference_steps=4, candidates=3)
    assert a.shape == (2, 3, 8, 32, 32)
    assert torch.equal(a, run(pipe, prompt=["a red circle moving left", "a blue square moving up"],
                              num_inference_steps=4, candidates=3))
    with pytest.raises(OptionError, match="candidates"):
        run(pipe, candidates=0)


@pytest.mark.parametrize("kind", ["epsilon", "v_prediction", "sample"])
def test_predicted_clean_latents_are_the_schedulers_own(tiny, kind):
    from diffusers import DDIMScheduler

    pipe = TextToVideoPipeline.from_pretrained(tiny)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config, prediction_type=kind)
    pipe.scheduler.set_timesteps(4)
    g = torch.Generator().manual_seed(4)
    x, out = torch.randn(2, 4, 8, 16, 16, generator=g), torch.randn(2, 4, 8, 16, 16, generator=g)
    t = pipe.scheduler.timesteps[1]
    want = pipe.scheduler.step(out, t, x).pred_original_sample
    assert torch.allclose(pipe.predicted_clean(x, out, t), want, atol=1e-5)
    pipe.scheduler.register_to_config(prediction_type="flow")
    with pytest.raises(ValueError, match="expected 'epsilon'"):
        pipe.predicted_clean(x, out, t)


def test_candidates_are_chosen_on_the_clean_latents_the_denoiser_predicts(tiny):
    """The guide steers every noisy candidate toward the wanted label, so they all read as right to it: the pick
    reads x0 = (x_t - sqrt(1 - alpha_bar) eps) / sqrt(alpha_bar) from the guided noise prediction, at t = 0."""
    pipe = TextToVideoPipeline.from_pretrained(tiny)  # DDIM: scale_model_input is the identity
    pipe.guide = _tiny_guide(scale=20.0)
    pipe.guide.register_to_config(select_timestep=600)
    seen, picked = [], []
    hook = pipe.unet.register_forward_hook(lambda m, args, kw_out: seen.append((args[0], args[1], kw_out.sample)),
                                           with_kwargs=False)
    pick = pipe.pick_candidates
    pipe.pick_candidates = lambda x, t, labels, n: picked.append((x, t, n)) or pick(x, t, labels, n)
    run(pipe, num_inference_steps=4, candidates=3, guidance_scale=3.0)
    hook.remove()
    assert len(picked) == 1
    x, t, n = picked[0]
    assert t == 0 and n == 3 and x.shape[0] == 3
    inp, step_t, noise = next(s for s in seen if s[0].shape[0] == 6 and int(s[1]) <= 600)  # the step it chose at
    uncond, cond = noise.chunk(2)
    eps = uncond + 3.0 * (cond - uncond)
    alpha_bar = pipe.scheduler.alphas_cumprod[int(step_t)]
    assert torch.allclose(x, (inp[:3] - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt(), atol=1e-5)


def test_latents_and_step_callback_as_in_diffusers(tiny):
    pipe = TextToVideoPipeline.from_pretrained(tiny)
    noise = pipe.prepare_latents(1, 8, 32, 32, torch.Generator().manual_seed(3))
    assert torch.equal(run(pipe, latents=noise), run(pipe))  # the seed's own noise, given explicitly
    seen = []

    def record(p, i, t, kw):
        assert p is pipe and set(kw) == {"latents", "pred_clean"}
        seen.append((i, int(t), kw["latents"].shape, kw["pred_clean"].shape))
        return {}

    out = run(pipe, callback_on_step_end=record, callback_on_step_end_tensor_inputs=["latents", "pred_clean"])
    assert torch.equal(out, run(pipe))  # a callback that returns nothing changes nothing
    assert [s[0] for s in seen] == [0, 1] and seen[0][2] == seen[0][3] == noise.shape
    assert seen[0][1] > seen[1][1]  # timesteps count down
    zeroed = run(pipe, callback_on_step_end=lambda p, i, t, kw: {"latents": kw["latents"] * 0})
    assert not torch.equal(zeroed, out)  # what it returns replaces the latents
    with pytest.raises(OptionError, match="not among"):
        run(pipe, callback_on_step_end=record, callback_on_step_end_tensor_inputs=["bogus"])
    with pytest.raises(OptionError, match="latents must be"):
        run(pipe, latents=noise[:, :, :4])


def test_v_prediction_model_trains_samples_and_is_refused_where_it_does_not_fit(tmp_path):
    import argparse
    import dataclasses

    from vidgen.training.t2v_options import T2VTrainConfig, add_t2v_arguments, config_from_args
    from vidgen.training.text_to_video import train

    cfg = T2VTrainConfig(out=str(tmp_path / "v"), vae_steps=2, unet_steps=2, vae_batch=2, batch_size=2, frames=4,
                         eval_every=2, save_every=2, workers=0,
                         model=dataclasses.replace(TINY, prediction="v_prediction"))
    pipe = TextToVideoPipeline.from_pretrained(train(cfg, progress=False))
    assert pipe.scheduler.config.prediction_type == "v_prediction"
    assert run(pipe, num_frames=4).shape == (1, 3, 4, 32, 32)
    pipe.set_scheduler("dpm")
    assert pipe.scheduler.config.prediction_type == "v_prediction"
    p = argparse.ArgumentParser()
    add_t2v_arguments(p)
    assert config_from_args(p.parse_args(["--prediction", "v_prediction"])).prediction == "v_prediction"
    with pytest.raises(OptionError, match="v loss is that weighting"):
        config_from_args(p.parse_args(["--prediction", "v_prediction", "--v-weight-cap", "5"]))
    cfg.v_weight_cap = 5.0  # the same refusal from Python
    with pytest.raises(OptionError, match="v loss is that weighting"):
        train(cfg, progress=False)
    with pytest.raises(OptionError, match="--init continues"):
        config_from_args(p.parse_args(["--prediction", "v_prediction", "--init", "somewhere"]))


def _first_v_loss(out, **weights) -> float:
    """The loss of step 1 of a tiny v-prediction run: same weights, batch and noise whatever ``weights``
    (T2VTrainConfig's loss weightings) say, so two calls differ only in the weighting."""
    import dataclasses

    from vidgen.training.t2v_options import T2VTrainConfig
    from vidgen.training.text_to_video import train

    cfg = T2VTrainConfig(out=str(out), vae_steps=1, unet_steps=1, vae_batch=2, batch_size=2, frames=4,
                         eval_every=1, save_every=1, workers=0, cfg_dropout=0.0,
                         model=dataclasses.replace(TINY, prediction="v_prediction"), **weights)
    train(cfg, progress=False)
    return json.loads((Path(out) / "unet" / "log.jsonl").read_text().splitlines()[0])["loss"]


def test_motion_loss_scores_the_clean_latents_frame_differences_and_is_refused_where_it_does_not_fit(tmp_path):
    import argparse

    from diffusers import DDIMScheduler

    from vidgen.models.t2v import clean_latents
    from vidgen.training.t2v_options import add_t2v_arguments, config_from_args

    # the true v of a clip, one noise level per clip, points back to the clip itself
    sched = DDIMScheduler(prediction_type="v_prediction")
    g = torch.Generator().manual_seed(2)
    lat, noise = torch.randn(3, 4, 5, 6, 6, generator=g), torch.randn(3, 4, 5, 6, 6, generator=g)
    t = torch.tensor([10, 500, 990])
    ab = sched.alphas_cumprod[t].view(-1, 1, 1, 1, 1)
    back = clean_latents(sched.add_noise(lat, noise, t), sched.get_velocity(lat, noise, t), ab, "v_prediction")
    assert torch.allclose(back, lat, atol=1e-4)

    assert _first_v_loss(tmp_path / "m", motion_weight=1.0) > _first_v_loss(tmp_path / "plain") > 0
    p = argparse.ArgumentParser()
    add_t2v_arguments(p)
    with pytest.raises(OptionError, match="needs --prediction v_prediction"):
        config_from_args(p.parse_args(["--motion-weight", "1"]))
    with pytest.raises(OptionError, match="does not combine with --context-frames"):
        config_from_args(p.parse_args(["--prediction", "v_prediction", "--motion-weight", "1",
                                       "--context-frames", "0.5"]))
    with pytest.raises(OptionError, match="0 \\(off\\) or more"):
        config_from_args(p.parse_args(["--prediction", "v_prediction", "--motion-weight", "-1"]))


def test_object_map_marks_what_stands_out_of_its_frame_and_the_weight_changes_the_loss(tmp_path):
    import argparse

    from vidgen.training.t2v_options import add_t2v_arguments, config_from_args
    from vidgen.training.text_to_video import object_map

    lat = torch.full((2, 4, 3, 8, 8), 0.5)
    lat[0, :, :, 2:4, 5:7] = -1.0  # clip 0: a 2x2 object on a flat background, in every frame
    lat[1, 1, 1, 6, 1] = 3.0  # clip 1: one pixel of one channel in frame 1
    m = object_map(lat)
    assert m.shape == (2, 1, 3, 8, 8) and float(m.min()) >= 0 and float(m.max()) <= 1
    assert torch.all(m[0, 0, :, 2:4, 5:7] == 1) and float(m[0].sum()) == 12  # the object, nothing else
    assert float(m[1, 0, 1, 6, 1]) == 1 and float(m[1].sum()) == 1

    assert _first_v_loss(tmp_path / "o", object_weight=8.0) != _first_v_loss(tmp_path / "plain")
    p = argparse.ArgumentParser()
    add_t2v_arguments(p)
    with pytest.raises(OptionError, match="0 \\(off\\) or more"):
        config_from_args(p.parse_args(["--object-weight", "-1"]))
    with pytest.raises(OptionError, match="build a fresh model"):
        config_from_args(p.parse_args(["--init", "m", "--space-time-text"]))
    assert config_from_args(p.parse_args(["--space-time-text", "--object-weight", "2"])).space_time_text


def test_classifier_guidance_moves_a_v_prediction_as_it_moves_the_noise(tiny):
    from vidgen.pipelines.text_to_video import make_scheduler

    class Pull(torch.nn.Module):  # log p grows toward latents of 0.5
        def log_prob(self, x, ts, labels):
            return -(x - 0.5).pow(2).flatten(1).sum(1)

    pipe = TextToVideoPipeline.from_pretrained(tiny)
    pipe.guide = Pull()
    gen = torch.Generator().manual_seed(0)
    x, eps = torch.randn(2, 4, 3, 4, 4, generator=gen), torch.randn(2, 4, 3, 4, 4, generator=gen)
    t = 700
    guided_eps = pipe.classifier_guided(eps, x, t, [{}, {}], 2.0)
    pipe.scheduler = make_scheduler("ddim", {**pipe.scheduler.config, "prediction_type": "v_prediction"})
    ab = float(pipe.scheduler.alphas_cumprod[t])
    v = (eps - (1 - ab) ** 0.5 * x) / ab ** 0.5
    guided_v = pipe.classifier_guided(v, x, t, [{}, {}], 2.0)
    assert not torch.allclose(guided_eps, eps)  # the guide moved it
    torch.testing.assert_close(ab ** 0.5 * guided_v + (1 - ab) ** 0.5 * x, guided_eps, rtol=1e-4, atol=1e-4)


def test_twins_differ_only_by_the_changed_word_and_the_pair_loss_scores_that_difference(tiny, tmp_path):
    import argparse
    import dataclasses

    import numpy as np

    from vidgen.training.shapes import HELD_OUT, detect, training_combinations
    from vidgen.training.t2v_options import T2VTrainConfig, add_t2v_arguments, config_from_args
    from vidgen.training.text_to_video import ShapeClips, train, twin_error

    combos = training_combinations()
    plain = ShapeClips(combos, 16, 64, 8, seed=4, textured=0.0)
    for words, changed in ((("shape",), 1), (("direction",), 2)):
        paired = ShapeClips(combos, 16, 64, 8, seed=4, textured=0.0, pair=words)
        for i in range(4):
            x, text, twin, twin_text = paired[i]
            assert torch.equal(x, plain[i][0]) and text == plain[i][1]  # the clip is the unpaired one
            a, b = text.split(" "), twin_text.split(" ")
            assert [k for k in range(5) if a[k] != b[k]] == [(1, 2, 4)[changed]]  # "a {colour} {shape} moving {dir}"
            assert (b[1], b[2], b[4]) not in HELD_OUT
            moved = (x - twin).abs().amax(0) > 0.05  # pixels that differ: the objects', a small part (two
            assert 0 < float(moved.float().mean()) < (0.1 if changed == 1 else 0.2)  # places for a direction)
            if changed == 1:
                clips = [((v.permute(1, 2, 3, 0) + 1) * 127.5).round().clamp(0, 255).numpy().astype(np.uint8)
                         for v in (x, twin)]
                found = [detect(c) for c in clips]
                assert found[0]["color"] == found[1]["color"] and found[0]["direction"] == found[1]["direction"]

    lat = torch.randn(4, 3, 2, 5, 5, generator=torch.Generator().manual_seed(0))
    texts = ["a red circle moving left", "a red square moving up", "a red square moving left", "a red circle moving up"]
    assert float(twin_error(lat, lat, texts)) == 0  # the true clean latents
    same = torch.cat([lat[:2], lat[:2]])  # twins predicted alike: the word ignored
    assert abs(float(twin_error(same, lat, texts)) - 1) < 1e-6
    assert float(twin_error(same, lat, ["", ""] + texts[2:])) == 0  # dropped captions teach nothing

    cfg = T2VTrainConfig(out=str(tmp_path / "p"), vae_steps=1, unet_steps=2, vae_batch=2, batch_size=2, frames=4,
                         eval_every=2, save_every=2, workers=0, pair_weight=1.0,
                         model=dataclasses.replace(TINY, prediction="v_prediction"))
    TextToVideoPipeline.from_pretrained(train(cfg, progress=False))
    log = [json.loads(line) for line in (tmp_path / "p" / "unet" / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["loss"]) for r in log if "loss" in r) and "val_shape_gain" in log[-1]
    p = argparse.ArgumentParser()
    add_t2v_arguments(p)
    with pytest.raises(OptionError, match="--pair-weight needs --prediction v_prediction"):
        config_from_args(p.parse_args(["--pair-weight", "1"]))
    with pytest.raises(OptionError, match="does not combine with --context-frames"):
        config_from_args(p.parse_args(["--prediction", "v_prediction", "--pair-weight", "1", "--context-frames", "1"]))
    a = config_from_args(p.parse_args(["--init", "m", "--pair-weight", "1", "--pair-words", "shape", "direction"]))
    assert a.pair_words == ("shape", "direction")  # an --init model's target is checked once loaded:
    eps = dataclasses.replace(cfg, out=str(tmp_path / "e"), init=str(tiny), model=None)
    with pytest.raises(OptionError, match="--pair-weight needs"):
        train(eps, progress=False)  # the tiny model predicts the noise


def test_captioned_decoder_starts_as_the_plain_one_then_reads_the_caption_alike_in_slices_and_tiles():
    from vidgen.models.vae import ShapeVAE

    torch.manual_seed(0)
    vae = ShapeVAE(block_out_channels=(8, 8, 8), latent_channels=4, text_dim=6).eval()
    z = torch.randn(2, 4, 40, 56)
    a, b = torch.randn(2, 5, 6), torch.randn(2, 5, 6)
    with torch.no_grad():
        plain = vae.decode(z).sample
        assert torch.equal(vae.decode(z, text_embeds=a).sample, plain)  # zero heads: as before training
        for head in vae.caption_film.heads:
            torch.nn.init.normal_(head.weight, std=0.5)
        with_a, with_b = vae.decode(z, text_embeds=a).sample, vae.decode(z, text_embeds=b).sample
        vae.enable_slicing()
        vae.enable_tiling()
        tiled_a = vae.decode(z, text_embeds=a).sample
    assert (with_a - with_b).abs().mean() > 1e-3 and (with_a - plain).abs().mean() > 1e-3
    assert torch.allclose(tiled_a, with_a, atol=1e-5)
    with pytest.raises(ValueError, match="3 captions for 2 latent frames"):
        vae.decode(z, text_embeds=torch.randn(3, 5, 6))
    # a decoder without a caption input ignores one
    still = ShapeVAE(block_out_channels=(8, 8, 8), latent_channels=4).eval()
    with torch.no_grad():
        assert torch.equal(still.decode(z, text_embeds=a).sample, still.decode(z).sample)


def test_decoder_input_mixes_twin_latents_by_weight_and_adds_noise():
    from vidgen.training.t2v_decoder import decoder_input

    z, twin = torch.zeros(3, 2, 4, 4), torch.ones(3, 2, 4, 4)
    g = torch.Generator().manual_seed(0)
    out = decoder_input(z, twin, torch.tensor([1.0, 0.0, 0.25]), torch.zeros(3), g)
    assert torch.equal(out[0], z[0]) and torch.equal(out[1], twin[1]) and torch.allclose(out[2], twin[2] * 0.75)
    noisy = decoder_input(z, twin, torch.ones(3), torch.tensor([0.0, 0.5, 2.0]), g)
    assert float(noisy[0].abs().max()) == 0 and 0.3 < float(noisy[1].std()) < 0.7 < 1.3 < float(noisy[2].std())


def test_shape_region_marks_where_twins_differ_grown_by_a_pixel():
    from vidgen.training.t2v_decoder import shape_region

    a = -torch.ones(2, 3, 8, 8)
    b = a.clone()
    b[0, 1, 3, 4] = 0.5  # one pixel, one channel, of the first frame
    b[1, :, 0, 0] = -0.95  # below the threshold
    region = shape_region(a, b)
    assert region.shape == (2, 1, 8, 8) and float(region[1].sum()) == 0
    expected = torch.zeros(8, 8)
    expected[2:5, 3:6] = 1
    assert torch.equal(region[0, 0], expected)


def test_decoder_training_gives_the_model_a_decoder_that_reads_the_caption(tiny, tmp_path):
    from vidgen.training.t2v_decoder import train
    from vidgen.training.t2v_options import DecoderTrainConfig

    cfg = DecoderTrainConfig(model=str(tiny), out=str(tmp_path / "d"), steps=3, batch_size=2, frames=2, lr=1e-2,
                             eval_every=3, save_every=3)
    model = train(cfg, progress=False)
    log = [json.loads(line) for line in (tmp_path / "d" / "log.jsonl").read_text().splitlines()]
    assert {"val_psnr", "val_twin_psnr", "val_twin_region_psnr"} <= set(log[0])
    base, pipe = TextToVideoPipeline.from_pretrained(tiny), TextToVideoPipeline.from_pretrained(model)
    assert pipe.vae.config.text_dim == pipe.text_encoder.config.hidden_size
    for k, v in base.unet.state_dict().items():  # the U-Net and the encoder are the input model's
        assert torch.equal(v, pipe.unet.state_dict()[k])
    for k, v in base.vae.encoder.state_dict().items():
        assert torch.equal(v, pipe.vae.encoder.state_dict()[k])
    assert json.loads((model / "training.json").read_text())["phase"].startswith("VAE decoder")
    # the pipeline hands the decoder the prompt: another prompt's caption changes the frames of the same latents
    latents = torch.randn(1, *pipe.latents_shape(1, 4, 32, 32)[1:], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        red = pipe.decode_latents(latents, pipe.encode_prompt(["a red square moving left"], None))
        blue = pipe.decode_latents(latents, pipe.encode_prompt(["a blue circle moving up"], None))
    assert red.shape == (1, 3, 4, 32, 32) and (red - blue).abs().mean() > 1e-4
    assert run(pipe).shape == (1, 3, 8, 32, 32)
    # and a run continues from its checkpoint
    cfg.steps = 4
    assert train(cfg, resume=True, progress=False) == model
    assert json.loads((tmp_path / "d" / "log.jsonl").read_text().splitlines()[-1])["step"] == 4


def test_decoder_training_refuses_impossible_options_in_one_line(tmp_path):
    for bad, says in ((["--mix", "2"], "--mix must be a share"), (["--frames", "0"], "must be at least 1"),
                      (["--spread", "0"], "--spread must be a share"),
                      (["--shape-weight", "-1"], "--shape-weight must be 0 or more")):
        res = subprocess.run([sys.executable, "-m", "vidgen", "train", "t2v-decoder", "--out", str(tmp_path / "x"), *bad],
                             capture_output=True, text=True)
        assert res.returncode != 0 and says in res.stderr and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
