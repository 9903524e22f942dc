"""The tiny network the method tests build: ResNet-18 to layer2, narrow keys, values and decoder."""

from methods.config import TOY_MODEL as TINY_MODEL

__all__ = ["TINY_MODEL"]
