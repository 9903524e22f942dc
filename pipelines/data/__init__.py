"""Dataset readers (DAVIS-2016/2017, YouTube-VOS 2018, COCO), the training clip samplers and the
synthetic dataset generator."""
