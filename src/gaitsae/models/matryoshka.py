"""`matryoshka`: the Matryoshka SAE of Bussmann, Nabeshima, Karvonen & Nanda 2025 ("Learning
Multi-Level Features with Matryoshka Sparse Autoencoders"; Nabeshima 2024), over BatchTopK.

The dictionary is cut into `n_groups` groups whose sizes double (for 100 latents and 4 groups:
7, 13, 27, 53), and every prefix — the first group, the first two, …, all — must reconstruct the
stance on its own from the same BatchTopK activations: loss = Σ_prefixes ‖x − x̂_prefix‖² + AuxK,
x̂_prefix = Σ_{i in prefix} h_i d_i + b_pre. The early latents cannot lean on later ones, so they
learn the general shapes (the mean stance's big deviations) and later ones the specifics, which
reduces feature absorption. Latent order therefore means something: low indices are general.
`encode` is batchtopk's (the learned threshold). Logged terms: `mse` (all latents, comparable to
the other models), `mse_prefixes` (the shorter prefixes' sum) and `auxk`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gaitsae.configs import param
from gaitsae.errors import ConfigError
from gaitsae.models import batchtopk, losses


def prefix_ends(n_latents: int, n_groups: int) -> list[int]:
    """End index of each prefix: group sizes ∝ 1, 2, 4, …, the last prefix all n_latents."""
    total = 2 ** n_groups - 1
    return [round(n_latents * (2 ** (g + 1) - 1) / total) for g in range(n_groups)]


@dataclass
class Config(batchtopk.Config):
    n_groups: int = param(4, min=1, max=16, help="nested prefixes; group sizes double")

    def __post_init__(self):
        super().__post_init__()
        if not self.n_latents:  # auto: checked again once the training data has sized it
            return
        ends = prefix_ends(self.n_latents, self.n_groups)
        if len(set(ends)) < len(ends) or ends[0] < 1:
            raise ConfigError(f"model.n_groups = {self.n_groups} leaves an empty group among "
                              f"{self.n_latents} latents; use fewer groups or more latents")


class MatryoshkaSAE(batchtopk.BatchTopKSAE):
    name = "matryoshka"
    Config = Config

    def __init__(self, n_inputs: int, config: Config):
        super().__init__(n_inputs, config)
        self.prefix_ends = prefix_ends(config.n_latents, config.n_groups)

    def reconstruction_terms(self, x, h, x_hat):
        partial, start, prefixes = self.pre_bias, 0, x.new_zeros(())
        for end in self.prefix_ends[:-1]:
            partial = partial + h[:, start:end] @ self.decoder[start:end]
            prefixes = prefixes + losses.squared_error(x, partial)
            start = end
        return {"mse": losses.squared_error(x, x_hat), "mse_prefixes": prefixes}
