"""Stepwise inference: ``engine.step(frame, mask=None, objects=None)`` one frame at a time.

Typical use (DAVIS: all objects given on frame 0; YouTube-VOS: objects may appear later)::

    engine = build_engine("gvos_scm", model)
    probs = engine.step(frame0, mask0)          # (1+N, H, W); channel i = engine.object_ids[i-1]
    for frame in rest:
        probs = engine.step(frame)
        labels = probs.argmax(0)                  # 0 background, i -> engine.object_ids[i-1]

Every frame's final prediction is written to the memory (GCM: into the running mean; STM: into
the bank, permanently every ``mem_every`` frames, else as the temporary previous-frame entry).
To fill the memory without running the network t times (benchmarks), step once with the first
mask, then ``key, value = engine.memory_entry(frame, mask)`` and ``engine.memory.update(key, value)``.
``with engine.intervene(intervention):`` runs the steps inside with a test-time intervention
(``methods.interventions``: the SCM's previous mask or the memory readout replaced); the weights are
never touched and the engine is unmodified after the block. ``step(..., previous_labels=truth)`` gives
the previous frame's ground truth to an intervention that needs it (the oracle).
Engines of one model that segment the same frames in lockstep (one per intervention, the probes) can
share a ``QueryCache``: the query encoder reads only the frame, so its features are computed once per
frame and handed to the others (the same tensors; every engine's output is unchanged).
``state = engine.snapshot()`` captures the per-video state (tracked objects, memory, previous mask)
without copying the memory's tensors, ``engine.restore(state)`` puts it back, ``engine.reset()``
clears it for a new video.

A step runs the sections of ``STEP_SECTIONS`` in that order (the first frame: ``memorize`` only).
Setting ``engine.section_hook`` to a callable ``name -> context manager`` brackets each section with
it (the benchmark's per-section clock and FLOP counter); None, the default, costs nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from methods.config import ModelConfig
from methods.interventions import Intervention
from methods.modules import soft_aggregate
from methods.network import GVOSNet, pad_to_multiple
from methods.precision import amp_dtype
from methods.variants import build_model, is_learned, model_config

STEP_SECTIONS = ("query_encoder", "readout", "decoder", "memorize")
"""query_encoder: encode_query; readout: memory read + concat with the query value; decoder: ASPP, SCM,
decoder, refinement, soft aggregation; memorize: memory encoder + memory update."""

SectionHook = Callable[[str], AbstractContextManager]


class QueryCache:
    """The query encoding of the last frame seen, for engines of one model and one precision stepping through
    the same frames:
    ``encode(model, x)`` returns the cached (key, value, skips) when ``x`` equals the last padded frame
    (same model, same values), else encodes it and keeps it. Equal input, same features: sharing them
    changes no engine's output."""

    def __init__(self) -> None:
        self._model: GVOSNet | None = None
        self._frame: Tensor | None = None
        self._features: tuple[Tensor, Tensor, list[Tensor]] | None = None

    def encode(self, model: GVOSNet, x: Tensor) -> tuple[Tensor, Tensor, list[Tensor]]:
        """x (1, 3, Hp, Wp) padded frame -> model.encode_query(x), computed once per distinct frame."""
        hit = (self._model is model and self._frame is not None and self._frame.shape == x.shape
               and self._frame.dtype == x.dtype and torch.equal(self._frame, x))
        if not hit:
            self._model, self._frame, self._features = model, x, model.encode_query(x)
        return self._features


def _check_image(image: Tensor) -> None:
    if not isinstance(image, Tensor) or image.dim() != 3 or image.shape[0] != 3 or not image.is_floating_point():
        raise ValueError(f"image must be a float tensor (3,H,W) in [0,1], got "
                         f"{getattr(image, 'dtype', type(image))} {tuple(getattr(image, 'shape', ()))}")


def given_objects(mask: Tensor | None, objects: list[int] | None, size: tuple[int, int]) -> list[int]:
    """The object ids introduced at this frame (void 255 and background 0 are never objects), checked against
    the mask; the peers' adapters (methods.peers) read a labelled frame's objects the same way."""
    if mask is None:
        if objects:
            raise ValueError("objects given without a mask")
        return []
    if not isinstance(mask, Tensor) or mask.dim() != 2 or mask.is_floating_point():
        raise ValueError(f"mask must be an integer tensor (H,W), got {getattr(mask, 'dtype', type(mask))} "
                         f"{tuple(getattr(mask, 'shape', ()))}")
    if tuple(mask.shape) != size:
        raise ValueError(f"mask size {tuple(mask.shape)} differs from the image size {size}")
    if objects is None:
        objects = [int(v) for v in torch.unique(mask) if int(v) not in (0, 255)]
    bad = [o for o in objects if not isinstance(o, int) or not 0 < o < 255]
    if bad:
        raise ValueError(f"object ids must be integers in 1..254, got {bad}")
    return list(dict.fromkeys(objects))


class _Tracker:
    """Object ids, the frame size and the snapshot / restore of the per-video state, shared by both engines."""

    memory: Any

    def reset(self) -> None:
        self.object_ids: list[int] = []
        self.size: tuple[int, int] | None = None
        self.frame_index = 0

    def snapshot(self) -> dict[str, Any]:
        """The per-video state; tensors are shared, not copied (nothing writes into a stored tensor)."""
        return {"object_ids": list(self.object_ids), "size": self.size, "frame_index": self.frame_index,
                "memory": self.memory.state(), **self._own_state()}

    def restore(self, state: dict[str, Any]) -> None:
        self.object_ids = list(state["object_ids"])
        self.size, self.frame_index = state["size"], state["frame_index"]
        self.memory.load_state(state["memory"])
        self._load_own_state(state)

    def _own_state(self) -> dict[str, Any]:
        return {}

    def _load_own_state(self, state: dict[str, Any]) -> None:
        pass

    def _start_step(self, image: Tensor, mask: Tensor | None, objects: list[int] | None) -> list[int]:
        _check_image(image)
        size = tuple(image.shape[-2:])
        if self.size is None:
            self.size = size
        elif size != self.size:
            raise ValueError(f"frame {self.frame_index}: size {size} differs from the video's {self.size}")
        given = given_objects(mask, objects, size)
        if not self.object_ids and not given:
            raise ValueError("the first step needs a mask with at least one object")
        return given


def apply_given_masks(probs: Tensor, object_ids: list[int], mask: Tensor, given: list[int]) -> Tensor:
    """Given masks override the prediction: probs (1+N, H, W) -> same, where each given object's
    channel equals its mask and pixels of any given mask are one-hot (YouTube-VOS protocol)."""
    probs = probs.clone()
    covered = torch.zeros_like(mask, dtype=torch.bool)
    for obj in given:
        channel = object_ids.index(obj) + 1
        region = mask == obj
        probs[0] += probs[channel] * ~region  # mass predicted outside the given mask -> background
        probs[channel] = region.to(probs.dtype)
        covered |= region
    probs[:, covered] = 0.0
    for obj in given:
        channel = object_ids.index(obj) + 1
        probs[channel][mask == obj] = 1.0
    return probs


class InferenceEngine(_Tracker):
    """Stepwise inference for a GVOSNet (any learned variant).

    step(image (3,H,W) float [0,1], mask (H,W) long | None, objects list[int] | None) -> probs
    (1+N, H, W) float32 on the CPU. ``amp``: autocast, float16 on CUDA, bfloat16 on the CPU. The model
    is moved to the device (channels-last unless ``channels_last=False``) and put in eval mode.
    """

    def __init__(self, model: GVOSNet, cfg: ModelConfig | dict | None = None, device: str | torch.device = "cpu",
                 amp: bool = False, channels_last: bool = True, query_cache: QueryCache | None = None):
        if cfg is not None:
            cfg = cfg if isinstance(cfg, ModelConfig) else ModelConfig.from_dict(cfg)
            if cfg != model.cfg:
                raise ValueError(f"engine config {cfg.to_dict()} differs from the model's {model.cfg.to_dict()}")
        self.device = torch.device(device)
        # channels-last convolutions: about 15% faster steps on the CPU (measured; docs/findings.md)
        memory_format = torch.channels_last if channels_last else torch.preserve_format
        self.model = model.to(self.device, memory_format=memory_format).eval()
        self.cfg = model.cfg
        self.amp = bool(amp)
        self.section_hook: SectionHook | None = None
        self.query_cache = query_cache  # shared with engines of the same model in lockstep (QueryCache)
        self._intervention: Intervention | None = None
        self.reset()

    @property
    def intervention(self) -> Intervention | None:
        """The intervention the steps run with (None: the model as trained); set by ``intervene``."""
        return self._intervention

    @contextlib.contextmanager
    def intervene(self, intervention: Intervention | None):
        """Steps inside the block run with ``intervention`` (None: none); the previous one is back after."""
        if intervention is not None and not intervention.applies_to(self.cfg):
            raise ValueError(f"intervention {intervention.name!r} acts on {intervention.target}, which this "
                             f"network does not have")
        before, self._intervention = self._intervention, intervention
        try:
            yield self
        finally:
            self._intervention = before

    def reset(self) -> None:
        super().reset()
        self.memory = self.model.new_memory()
        self.prev_probs: Tensor | None = None  # (N, 1, Hp, Wp) on the device

    def _own_state(self) -> dict[str, Any]:
        return {"prev_probs": self.prev_probs}

    def _load_own_state(self, state: dict[str, Any]) -> None:
        self.prev_probs = state["prev_probs"]

    def memory_bytes(self) -> int:
        return self.memory.nbytes()

    def _autocast(self):
        if self.amp:
            return torch.autocast(device_type=self.device.type, dtype=amp_dtype(self.device))
        return contextlib.nullcontext()

    def _section(self, name: str) -> AbstractContextManager:
        return contextlib.nullcontext() if self.section_hook is None else self.section_hook(name)

    def _pad(self, image: Tensor) -> Tensor:
        x = image.to(self.device, torch.float32)[None]
        return pad_to_multiple(x, self.model.pad_multiple, mode="replicate")[0]

    @torch.inference_mode()
    def memory_entry(self, image: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Encode a frame and a label mask into one memory entry for the tracked objects (state unchanged)."""
        _check_image(image)
        x = self._pad(image)
        with self._autocast():
            return self.model.memorize(x, self._object_masks(mask).transpose(0, 1))

    def _object_masks(self, labels: Tensor) -> Tensor:
        """A label map (H, W) -> the tracked objects' masks (N, 1, Hp, Wp) float32 on the device, padded."""
        labels = pad_to_multiple(labels.to(self.device)[None, None], self.model.pad_multiple)[0][0, 0]
        return torch.stack([(labels == obj).float() for obj in self.object_ids])[:, None]

    def _scm_input(self, previous_labels: Tensor | None) -> Tensor:
        """The previous mask the SCM reads: the engine's previous prediction, or the intervention's."""
        intervention = self._intervention
        if intervention is None or intervention.target != "scm_mask":
            return self.prev_probs
        truth = None
        if intervention.needs_truth:
            if previous_labels is None:
                raise ValueError(f"intervention {intervention.name!r} needs previous_labels (the previous "
                                 "frame's ground truth) at every step")
            truth = self._object_masks(previous_labels).to(self.prev_probs.dtype)
        return intervention.fn(self.prev_probs, truth)

    def _readout_transform(self) -> Callable[[Tensor], Tensor] | None:
        intervention = self._intervention
        return intervention.fn if intervention is not None and intervention.target == "readout" else None

    @torch.inference_mode()
    def step(self, image: Tensor, mask: Tensor | None = None, objects: list[int] | None = None,
             previous_labels: Tensor | None = None) -> Tensor:
        """One frame (module docstring); ``previous_labels`` (H, W) int: the previous frame's ground truth,
        read only by an intervention that needs it."""
        given = self._start_step(image, mask, objects)
        h, w = self.size
        x = self._pad(image)
        size = x.shape[-2:]
        tracked = len(self.object_ids)
        with self._autocast():
            if tracked and self.memory.num_frames:
                with self._section("query_encoder"):
                    q_key, q_value, skips = (self.model.encode_query(x) if self.query_cache is None
                                             else self.query_cache.encode(self.model, x))
                with self._section("readout"):
                    embedding = self.model.readout(self.memory, q_key[0], q_value, self._readout_transform())
                with self._section("decoder"):
                    coarse, refined = self.model.decode(embedding, skips, self._scm_input(previous_labels), size)
                    obj_probs = torch.sigmoid(refined.float()).reshape(1, tracked, *size)
                    probs = torch.softmax(soft_aggregate(obj_probs), dim=1)[0]
            else:
                probs = torch.ones(1, *size, device=self.device)
            new = [o for o in given if o not in self.object_ids]
            if new:
                self.object_ids.extend(new)
                probs = torch.cat([probs, probs.new_zeros(len(new), *size)])
            if given:
                labels = pad_to_multiple(mask.to(self.device)[None, None], self.model.pad_multiple)[0][0, 0]
                probs = apply_given_masks(probs, self.object_ids, labels, given)
            obj = probs[1:][None]
            with self._section("memorize"):
                self.memory.update(*self.model.memorize(x, obj))
            self.prev_probs = obj[0][:, None]
        self.frame_index += 1
        return probs[:, :h, :w].float().cpu()


class LabelMemory:
    """The copy_first_frame baseline's state: the latest given label map (H, W) int64."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.labels: Tensor | None = None
        self.num_frames = 0

    def update(self, labels: Tensor) -> None:
        self.labels = labels.clone()
        self.num_frames += 1

    def state(self) -> dict[str, Any]:
        return {"labels": self.labels, "num_frames": self.num_frames}

    def load_state(self, state: dict[str, Any]) -> None:
        self.labels, self.num_frames = state["labels"], state["num_frames"]

    def nbytes(self) -> int:
        return 0 if self.labels is None else self.labels.numel() * self.labels.element_size()


class CopyFirstFrameEngine(_Tracker):
    """Non-learned baseline with the engine API: every frame gets the given masks seen so far
    (objects given later are pasted over, as the YouTube-VOS protocol does for new objects)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.memory = LabelMemory()

    def memory_bytes(self) -> int:
        return self.memory.nbytes()

    @torch.inference_mode()
    def step(self, image: Tensor, mask: Tensor | None = None, objects: list[int] | None = None) -> Tensor:
        given = self._start_step(image, mask, objects)
        labels = self.memory.labels if self.memory.labels is not None else torch.zeros(self.size, dtype=torch.long)
        if given:
            mask = mask.to("cpu", torch.long)
            self.object_ids.extend(o for o in given if o not in self.object_ids)
            labels = labels.clone()
            for obj in given:
                labels[labels == obj] = 0  # re-anchored objects take only their new mask
                labels[mask == obj] = obj
            self.memory.update(labels)
        channel = torch.zeros_like(labels)
        for i, obj in enumerate(self.object_ids, start=1):
            channel[labels == obj] = i
        self.frame_index += 1
        return F.one_hot(channel, 1 + len(self.object_ids)).permute(2, 0, 1).float()


def build_engine(variant: str, model: GVOSNet | None = None, cfg: ModelConfig | dict | None = None,
                 device: str | torch.device = "cpu", amp: bool = False) -> InferenceEngine | CopyFirstFrameEngine:
    """The engine of a variant; a learned variant without ``model`` gets a fresh (untrained) network
    built from ``cfg`` (the `model:` section) with the variant's switches."""
    if not is_learned(variant):
        return CopyFirstFrameEngine()
    if model is None:
        model = build_model(variant, cfg)
        cfg = None
    elif cfg is not None:
        cfg = model_config(variant, cfg)
    return InferenceEngine(model, cfg, device=device, amp=amp)
