"""ResNet encoders from torchvision (conv1 .. layer2 or layer3), never downloaded."""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn
from torchvision.ops.misc import FrozenBatchNorm2d

from methods.checkpoint import CheckpointError, load_torch_file

# channels of layer1, layer2, layer3
STAGE_CHANNELS = {
    "resnet18": (64, 128, 256),
    "resnet34": (64, 128, 256),
    "resnet50": (256, 512, 1024),
}


def load_resnet(name: str, weights: str | None) -> torchvision.models.ResNet:
    """A torchvision ResNet with random init, or with a local torchvision state dict loaded.

    Only the layers the encoders use (conv1, bn1, layer1-3) must be present in the file.
    """
    resnet = getattr(torchvision.models, name)(weights=None)
    if weights is None:
        return resnet
    try:
        state = load_torch_file(weights, what="backbone weights")
    except CheckpointError as err:
        raise ValueError(str(err)) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{weights}: not a state dict (got {type(state).__name__})")
    used = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    state = {k: v for k, v in state.items() if k.startswith(used)}
    try:
        result = resnet.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatch: another architecture
        raise ValueError(f"{weights}: does not fit {name}: {err}") from None
    missing = [k for k in result.missing_keys if k.startswith(used)]
    if missing:
        raise ValueError(f"{weights}: not a {name} state dict; missing {missing[:5]}"
                         f"{' ...' if len(missing) > 5 else ''}")
    return resnet


class ResNetEncoder(nn.Module):
    """ResNet stem and layers up to ``stage``; optional extra input channels on conv1.

    forward(x (N, 3+extra, H, W), ImageNet-normalised RGB first) -> features at strides
    4, 8[, 16]: [(N, c1, H/4, W/4), (N, c2, H/8, W/8), (N, c3, H/16, W/16)].
    Extra channels (the memory encoder's object and other-objects masks) get zero weights when
    pretrained weights are loaded, so the pretrained RGB features are unchanged at the start.
    """

    def __init__(self, backbone: str, stage: str, weights: str | None = None, extra_channels: int = 0):
        super().__init__()
        resnet = load_resnet(backbone, weights)
        conv1 = resnet.conv1
        if extra_channels:
            conv = nn.Conv2d(3 + extra_channels, conv1.out_channels, kernel_size=7, stride=2, padding=3, bias=False)
            with torch.no_grad():
                conv.weight[:, :3] = conv1.weight
                if weights is not None:
                    conv.weight[:, 3:] = 0.0
            conv1 = conv
        self.conv1, self.bn1, self.relu, self.maxpool = conv1, resnet.bn1, resnet.relu, resnet.maxpool
        self.layer1, self.layer2 = resnet.layer1, resnet.layer2
        self.layer3 = resnet.layer3 if stage == "layer3" else None
        channels = STAGE_CHANNELS[backbone]
        self.channels = channels if stage == "layer3" else channels[:2]

    def forward(self, x: Tensor) -> list[Tensor]:
        return self._layers(self.conv1(x))

    def forward_rows(self, images: Tensor, extra: Tensor, image_of_row: Tensor | None = None) -> list[Tensor]:
        """The memory encoder's input without repeating the frame for every object row:
        images (N, 3, H, W) normalised RGB, extra (R, E, H, W) the extra channels of each row, image_of_row
        (R,) the image of each row (None: row i is image i, or N = 1 and every row is that image). conv1 is
        linear and bias-free, so its RGB part is computed once per image and added to the extra channels'
        part: the same sums as on the concatenated input."""
        weight = self.conv1.weight
        options = {"stride": self.conv1.stride, "padding": self.conv1.padding}
        rgb = F.conv2d(images, weight[:, :3], **options)
        if image_of_row is not None:
            rgb = rgb[image_of_row]
        return self._layers(rgb + F.conv2d(extra.to(images.dtype), weight[:, 3:], **options))

    def _layers(self, x: Tensor) -> list[Tensor]:
        x = self.maxpool(self.relu(self.bn1(x)))
        feats = [self.layer1(x)]
        feats.append(self.layer2(feats[-1]))
        if self.layer3 is not None:
            feats.append(self.layer3(feats[-1]))
        return feats


def freeze_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm2d in ``module`` (in place) by torchvision's FrozenBatchNorm2d.

    Running statistics and affine parameters become buffers: train() cannot update them and the
    optimiser never sees them (paper 4.2.3: 'We froze the batch normalization layer').
    """
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            with torch.no_grad():
                if child.affine:
                    frozen.weight.copy_(child.weight)
                    frozen.bias.copy_(child.bias)
                if child.running_mean is not None:
                    frozen.running_mean.copy_(child.running_mean)
                    frozen.running_var.copy_(child.running_var)
            setattr(module, name, frozen)
        else:
            freeze_batchnorm(child)
    return module
