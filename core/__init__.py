"""Anomaly Studio core: datasets, autoencoders, training, scoring, thresholds, metrics and runs.

Importing `core` is cheap: TensorFlow is imported only by the modules that build, train or load models.
"""

__version__ = "0.1.0"
