"""Issue 21's rare-latent simulation, the numbers of docs/clinical.md ("How far one rare latent
can move the index"): per-feature z of a firing at typical strength, and how far that firing
moves the deviation index of a stance, for a latent firing 3 % and one firing 45 % of the time.

    PYTHONPATH=src python benchmarks/rare_latent.py
    PYTHONPATH=OLD_CHECKOUT/src python benchmarks/rare_latent.py   # the same for an earlier version

A topk-like code: 100 latents firing 8 % of the time, latent 0 3 %, latent 1 45 %; firings
~ Gamma(8, 1/8); 2,000 reference stances of 100 subjects (the same as tests/test_clinical.py).
"""

from __future__ import annotations

import numpy as np

from gaitsae.clinical.deviation import cross_fit

Z_MAX = 2.575829303548901  # Φ⁻¹(0.995), the documented bound


def simulate(seed=0, n_subjects=100, per_subject=20, n_latents=100):
    rng = np.random.default_rng(seed)
    subjects = np.repeat([f"s{i}" for i in range(n_subjects)], per_subject)
    rates = np.full(n_latents, 0.08)
    rates[0], rates[1] = 0.03, 0.45
    fires = rng.random((len(subjects), n_latents)) < rates
    return subjects, np.where(fires, rng.gamma(8, 1 / 8, size=fires.shape), 0.0)


def main() -> None:
    subjects, latents = simulate()
    dev = cross_fit(latents, np.zeros((len(latents), 1, 101)), ("F_V",), subjects, np.ones(len(latents), bool))
    m = dev.model
    n = latents.shape[1]
    bound = 5 / m.log_d_sd * np.log1p(Z_MAX ** 2 / (n * np.exp(2 * m.log_d_mean)))
    print(f"sigma of ln d {m.log_d_sd:.3f}, e^mu {np.exp(m.log_d_mean):.3f}; documented bound (index <= 100): "
          f"{bound:.2f} points")
    for j, rate in ((0, "3 %"), (1, "45 %")):
        typical = np.median(latents[latents[:, j] > 0, j])
        silent = latents[latents[:, j] == 0]
        fired = silent.copy()
        fired[:, j] = typical
        z = m.profile(fired)[0, j]
        before = m.index(m.profile(silent))
        shift = before - m.index(m.profile(fired))
        print(f"latent firing {rate}: z of a typical firing {z:.2f}; index move: stances at index <= 100 max "
              f"{shift[before <= 100].max():.2f}, median {np.median(shift[before <= 100]):.2f}; all stances max "
              f"{shift.max():.1f}")


if __name__ == "__main__":
    main()
