"""Networks as plain ``nn.Module``s: the tabular network (``tabular``), the picture networks and what
goes with them (``image``, ``tuning``); the boosted trees fitted beside the network (``trees``); and
the thin Lightning wrappers that train them (``module``), which are imported from there, and only to
train: predicting with a saved model never loads Lightning.
"""

from .image import (
    ResNet18,
    SmallCNN,
    backbone_macs,
    cnn_macs,
    featurise,
    gradcam,
    load_backbone,
    overlay_png,
    refresh_batchnorm,
    to_input,
    tune_macs,
)
from .networks import (
    EFFICIENTNET,
    NETWORKS,
    RESNET18,
    PictureNetwork,
    feature_cost,
    input_scaling,
    load_network,
    network_of,
    tune_cost,
)
from .tabular import IMAGE_EMBEDDING, N_BINS, NUMBER_EMBEDDING, TEXT_DIM, TabularNet, embedding_dim
from .trees import MIN_TREE_ROUNDS, TREE_ROUNDS, Trees, fit_trees, trees_available

__all__ = [
    "TabularNet",
    "embedding_dim",
    "IMAGE_EMBEDDING",
    "NUMBER_EMBEDDING",
    "N_BINS",
    "TEXT_DIM",
    "ResNet18",
    "SmallCNN",
    "load_backbone",
    "featurise",
    "gradcam",
    "overlay_png",
    "to_input",
    "refresh_batchnorm",
    "backbone_macs",
    "cnn_macs",
    "tune_macs",
    "EFFICIENTNET",
    "RESNET18",
    "NETWORKS",
    "PictureNetwork",
    "load_network",
    "network_of",
    "input_scaling",
    "feature_cost",
    "tune_cost",
    "Trees",
    "TREE_ROUNDS",
    "MIN_TREE_ROUNDS",
    "fit_trees",
    "trees_available",
]
