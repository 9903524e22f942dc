"""ModelConfig validation and the variant registry."""

import pytest
import torch
from tiny_model import TINY_MODEL

from methods.config import ModelConfig
from methods.network import GVOSNet
from methods.variants import VARIANTS, build_model, is_learned, model_config

pytestmark = pytest.mark.usefixtures("one_thread")


def test_defaults_follow_the_paper_protocol():
    cfg = ModelConfig()
    assert (cfg.backbone, cfg.backbone_stage, cfg.stride) == ("resnet50", "layer3", 16)
    assert (cfg.key_dim, cfg.value_dim, cfg.readout, cfg.mem_every) == (128, 512, "gcm", 1)
    assert cfg.scm and cfg.aspp and cfg.refine and cfg.freeze_bn and cfg.weights is None


def test_round_trip():
    cfg = ModelConfig.from_dict(TINY_MODEL)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.stride == 8


@pytest.mark.parametrize("bad, word", [
    ({"bakbone": "resnet18"}, "bakbone"),
    ({"backbone": "vgg16"}, "backbone"),
    ({"backbone_stage": "layer4"}, "backbone_stage"),
    ({"key_dim": 0}, "key_dim"),
    ({"value_dim": 1.5}, "value_dim"),
    ({"readout": "attention"}, "readout"),
    ({"mem_every": True}, "mem_every"),
    ({"scm": "yes"}, "scm"),
    ({"aspp_rates": []}, "aspp_rates"),
    ({"aspp_rates": [6, -1]}, "aspp_rates"),
    ({"weights": ""}, "weights"),
])
def test_bad_values_are_named(bad, word):
    with pytest.raises(ValueError, match=word):
        ModelConfig.from_dict(bad)


def test_missing_weights_file_is_named(tmp_path):
    path = str(tmp_path / "nope.pth")
    with pytest.raises(ValueError, match="nope.pth"):
        build_model("gvos_scm", {**TINY_MODEL, "weights": path})


def test_variant_switches_override_the_base():
    assert model_config("stm_read", TINY_MODEL).readout == "stm"
    assert model_config("gvos_scm", {**TINY_MODEL, "readout": "stm", "scm": False}).readout == "gcm"
    assert model_config("no_scm", TINY_MODEL).scm is False
    assert model_config("no_refine", TINY_MODEL).refine is False
    assert model_config("no_aspp", TINY_MODEL).aspp is False
    assert model_config("stm_read", {**TINY_MODEL, "mem_every": 5}).mem_every == 5
    assert model_config("gvos_scm", TINY_MODEL).key_dim == 16


def test_registry():
    assert set(VARIANTS) == {"gvos_scm", "stm_read", "no_scm", "no_refine", "no_aspp", "copy_first_frame"}
    assert not is_learned("copy_first_frame") and is_learned("gvos_scm")
    assert build_model("copy_first_frame", TINY_MODEL) is None
    model = build_model("no_aspp", TINY_MODEL)
    assert isinstance(model, GVOSNet) and model.aspp is None and model.scm is not None
    with pytest.raises(ValueError, match="gvos_scm"):
        is_learned("gvos")
    with pytest.raises(ValueError, match="known variants"):
        model_config("nope")


def test_local_backbone_weights_are_loaded(tmp_path):
    import torchvision

    resnet = torchvision.models.resnet18(weights=None)
    path = tmp_path / "r18.pth"
    torch.save(resnet.state_dict(), path)
    model = build_model("gvos_scm", {**TINY_MODEL, "weights": str(path)})
    assert torch.equal(model.query_encoder.layer2[0].conv1.weight, resnet.layer2[0].conv1.weight)
    conv1 = model.memory_encoder.conv1.weight
    assert torch.equal(conv1[:, :3], resnet.conv1.weight) and not conv1[:, 3:].any()
    torch.save({"fc.weight": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="missing"):
        build_model("gvos_scm", {**TINY_MODEL, "weights": str(path)})
