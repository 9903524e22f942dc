"""The tiny network the method tests build: ResNet-18 to layer2, narrow keys, values and decoder."""

TINY_MODEL = {"backbone": "resnet18", "backbone_stage": "layer2", "key_dim": 16, "value_dim": 32,
              "decoder_dim": 32, "aspp_rates": [2, 4]}
