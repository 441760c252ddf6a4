"""gaitsae: interpretable dictionaries of human gait features learned with sparse autoencoders.

The pipeline, one sub-package per stage:
data (read, phantom, download) -> features (wavelet, scaling) -> models -> training
-> analysis -> report, with the command line (`gaitsae ...`) a thin layer on top.
"""

__version__ = "0.1.0"
