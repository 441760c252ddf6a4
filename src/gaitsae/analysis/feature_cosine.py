"""The shared feature cosine, under the name analysis code knows it by; the definition lives in
gaitsae.features.cosine so that training (metrics.json's pca_likeness) can use it too."""

from gaitsae.features.cosine import between_stance_sd, cosine_matrix, sd_from_pointwise, unit_directions

__all__ = ["between_stance_sd", "cosine_matrix", "sd_from_pointwise", "unit_directions"]
