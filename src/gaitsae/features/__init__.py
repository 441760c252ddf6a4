"""Features stage: stance curves ⇄ scaled wavelet (or time-domain) feature vectors."""

from gaitsae.features.transform import FeatureTransform

__all__ = ["FeatureTransform"]
