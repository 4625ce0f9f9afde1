"""MODNet portrait matting network (Ke et al., "MODNet: Real-Time Trimap-Free Portrait Matting
via Objective Decomposition", AAAI 2022), written for inference.

The module tree reproduces the parameter names of the official implementation, so the published
``modnet_photographic_portrait_matting.ckpt`` (a ``DataParallel`` state dict: every key starts
with ``module.``) loads into :class:`MODNet` with ``strict=True`` once that prefix is stripped.
Two consequences of matching those names:

* the MobileNetV2 encoder is registered twice, as ``backbone`` and as ``lr_branch.backbone``
  (one module, two names), so its tensors appear twice in ``state_dict()``, as they do in the
  official checkpoint;
* the layers that only serve training (``lr_branch.conv_lr`` and ``hr_branch.conv_hr``, the
  heads of the semantic and detail predictions) exist and hold weights, but the inference
  forward pass never runs them.

This module imports torch; the ONNX inference path (``modnet.matting``) must not import it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 (the usual name in PyTorch code)
from torch import nn

#: Channels of the encoder features at strides 2, 4, 8, 16 and 32.
ENCODER_CHANNELS: tuple[int, int, int, int, int] = (16, 24, 32, 96, 1280)
#: Width of the high-resolution branch.
HR_CHANNELS = 32
#: Input height and width must be multiples of this (the encoder's total stride).
SIZE_MULTIPLE = 32

# MobileNetV2 inverted-residual stages: (expansion, output channels, repeats, first stride).
_MOBILENET_V2_STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
_MOBILENET_V2_STEM_CHANNELS = 32
_MOBILENET_V2_HEAD_CHANNELS = 1280
# Indices in MobileNetV2.features after which the stride-2 and stride-4 features are taken.
_ENC2X_LAST_LAYER = 1
_ENC4X_LAST_LAYER = 3


def _upsample2x(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def _downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    return F.interpolate(x, scale_factor=1.0 / factor, mode="bilinear", align_corners=False)


# ---------------------------------------------------------------------------------------------
# MobileNetV2 encoder
# ---------------------------------------------------------------------------------------------


def _conv_bn_relu6(
    in_channels: int, out_channels: int, kernel_size: int, stride: int
) -> nn.Sequential:
    """Convolution (no bias), batch norm, ReLU6: the stem and the head of MobileNetV2."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expansion (skipped when ``expansion == 1``), 3x3 depthwise
    convolution, linear 1x1 projection; identity shortcut when the shape is kept."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [
                nn.Conv2d(in_channels, hidden, 1, 1, 0, bias=False),
                nn.BatchNorm2d(hidden),
                nn.ReLU6(inplace=True),
            ]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, out_channels, 1, 1, 0, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.has_shortcut = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return x + y if self.has_shortcut else y


class MobileNetV2(nn.Module):
    """MobileNetV2 (width 1.0) without its classifier: ``features`` holds 19 layers."""

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn_relu6(in_channels, _MOBILENET_V2_STEM_CHANNELS, 3, 2)]
        channels = _MOBILENET_V2_STEM_CHANNELS
        for expansion, out_channels, repeats, first_stride in _MOBILENET_V2_STAGES:
            for index in range(repeats):
                stride = first_stride if index == 0 else 1
                layers.append(InvertedResidual(channels, out_channels, stride, expansion))
                channels = out_channels
        layers.append(_conv_bn_relu6(channels, _MOBILENET_V2_HEAD_CHANNELS, 1, 1))
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class MobileNetV2Encoder(nn.Module):
    """The encoder of MODNet: returns the features at strides 2, 4 and 32."""

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        self.model = MobileNetV2(in_channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        enc2x = enc4x = x
        for index, layer in enumerate(self.model.features):
            x = layer(x)
            if index == _ENC2X_LAST_LAYER:
                enc2x = x
            elif index == _ENC4X_LAST_LAYER:
                enc4x = x
        return enc2x, enc4x, x


# ---------------------------------------------------------------------------------------------
# MODNet building blocks
# ---------------------------------------------------------------------------------------------


class InstanceBatchNorm(nn.Module):
    """Batch norm on the first half of the channels, instance norm (no affine) on the rest."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.batch_norm_channels = channels // 2
        self.bnorm = nn.BatchNorm2d(self.batch_norm_channels, affine=True)
        self.inorm = nn.InstanceNorm2d(channels - self.batch_norm_channels, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        split = self.batch_norm_channels
        return torch.cat((self.bnorm(x[:, :split]), self.inorm(x[:, split:])), dim=1)


class ConvNormRelu(nn.Module):
    """Convolution with bias, optionally followed by :class:`InstanceBatchNorm` and ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        *,
        normalize: bool = True,
        relu: bool = True,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=True)
        ]
        if normalize:
            layers.append(InstanceBatchNorm(out_channels))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def _projection(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1
) -> ConvNormRelu:
    """A plain convolution producing one prediction channel (no norm, no ReLU)."""
    return ConvNormRelu(in_channels, out_channels, kernel_size, stride, normalize=False, relu=False)


class SqueezeExcitation(nn.Module):
    """Channel attention: global average pool, bottleneck MLP, sigmoid gate."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(channels // reduction, channels, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.fc(x.mean(dim=(2, 3)))
        return x * gate[:, :, None, None]


# ---------------------------------------------------------------------------------------------
# The three branches
# ---------------------------------------------------------------------------------------------


class LowResolutionBranch(nn.Module):
    """Semantic branch: decodes the stride-32 encoder features to stride 8 (``lr8x``)."""

    def __init__(self, backbone: MobileNetV2Encoder) -> None:
        super().__init__()
        enc = ENCODER_CHANNELS
        # Registered here as well as on MODNet, only so that the parameter names match.
        self.backbone = backbone
        self.se_block = SqueezeExcitation(enc[4], reduction=4)
        self.conv_lr16x = ConvNormRelu(enc[4], enc[3], 5)
        self.conv_lr8x = ConvNormRelu(enc[3], enc[2], 5)
        self.conv_lr = _projection(enc[2], 1, 3, stride=2)  # training-only semantic head

    def forward(self, enc32x: torch.Tensor) -> torch.Tensor:
        lr16x = self.conv_lr16x(_upsample2x(self.se_block(enc32x)))
        return self.conv_lr8x(_upsample2x(lr16x))


class HighResolutionBranch(nn.Module):
    """Detail branch: refines boundaries at strides 4 and 2 from the image and encoder."""

    def __init__(self, hr: int = HR_CHANNELS) -> None:
        super().__init__()
        enc = ENCODER_CHANNELS
        self.tohr_enc2x = ConvNormRelu(enc[0], hr, 1)
        self.conv_enc2x = ConvNormRelu(hr + 3, hr, 3, stride=2)
        self.tohr_enc4x = ConvNormRelu(enc[1], hr, 1)
        self.conv_enc4x = ConvNormRelu(2 * hr, 2 * hr, 3)
        self.conv_hr4x = nn.Sequential(
            ConvNormRelu(3 * hr + 3, 2 * hr, 3),
            ConvNormRelu(2 * hr, 2 * hr, 3),
            ConvNormRelu(2 * hr, hr, 3),
        )
        self.conv_hr2x = nn.Sequential(
            ConvNormRelu(2 * hr, 2 * hr, 3),
            ConvNormRelu(2 * hr, hr, 3),
            ConvNormRelu(hr, hr, 3),
            ConvNormRelu(hr, hr, 3),
        )
        self.conv_hr = nn.Sequential(  # training-only detail head
            ConvNormRelu(hr + 3, hr, 3),
            _projection(hr, 1, 1),
        )

    def forward(
        self, img: torch.Tensor, enc2x: torch.Tensor, enc4x: torch.Tensor, lr8x: torch.Tensor
    ) -> torch.Tensor:
        enc2x = self.tohr_enc2x(enc2x)
        hr4x = self.conv_enc2x(torch.cat((_downsample(img, 2), enc2x), dim=1))
        hr4x = self.conv_enc4x(torch.cat((hr4x, self.tohr_enc4x(enc4x)), dim=1))
        hr4x = self.conv_hr4x(torch.cat((hr4x, _upsample2x(lr8x), _downsample(img, 4)), dim=1))
        return self.conv_hr2x(torch.cat((_upsample2x(hr4x), enc2x), dim=1))


class FusionBranch(nn.Module):
    """Fuses the semantic (``lr8x``) and detail (``hr2x``) features into the alpha matte."""

    def __init__(self, hr: int = HR_CHANNELS) -> None:
        super().__init__()
        self.conv_lr4x = ConvNormRelu(ENCODER_CHANNELS[2], hr, 5)
        self.conv_f2x = ConvNormRelu(2 * hr, hr, 3)
        self.conv_f = nn.Sequential(
            ConvNormRelu(hr + 3, hr // 2, 3),
            _projection(hr // 2, 1, 1),
        )

    def forward(self, img: torch.Tensor, lr8x: torch.Tensor, hr2x: torch.Tensor) -> torch.Tensor:
        lr2x = _upsample2x(self.conv_lr4x(_upsample2x(lr8x)))
        f2x = self.conv_f2x(torch.cat((lr2x, hr2x), dim=1))
        logits = self.conv_f(torch.cat((_upsample2x(f2x), img), dim=1))
        return torch.sigmoid(logits)


class MODNet(nn.Module):
    """MODNet for inference.

    ``forward(img)`` takes an (N, 3, H, W) float tensor, RGB scaled to [-1, 1], with H and W
    multiples of :data:`SIZE_MULTIPLE`, and returns the alpha matte (N, 1, H, W) in [0, 1].
    Call ``eval()`` first: the batch norms must use their running statistics.
    """

    def __init__(self) -> None:
        super().__init__()
        self.backbone = MobileNetV2Encoder(in_channels=3)
        self.lr_branch = LowResolutionBranch(self.backbone)
        self.hr_branch = HighResolutionBranch()
        self.f_branch = FusionBranch()

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        enc2x, enc4x, enc32x = self.backbone(img)
        lr8x = self.lr_branch(enc32x)
        hr2x = self.hr_branch(img, enc2x, enc4x, lr8x)
        return self.f_branch(img, lr8x, hr2x)


def build_random_modnet(seed: int = 0) -> MODNet:
    """A MODNet in eval mode with reproducible random weights, for tests and benchmarks.

    Besides the convolutions, the batch-norm affine parameters and running statistics are
    randomised too, so that a test comparing two runtimes exercises every tensor.
    """
    generator = torch.Generator().manual_seed(seed)
    model = MODNet()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                bound = (6.0 / fan_in) ** 0.5
                module.weight.uniform_(-bound, bound, generator=generator)
                if module.bias is not None:
                    module.bias.normal_(0.0, 0.1, generator=generator)
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.normal_(0.0, 0.1, generator=generator)
                module.running_mean.normal_(0.0, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)
    return model.eval()
