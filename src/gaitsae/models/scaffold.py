"""`scaffold`: a dense scaffold for how people normally vary, a sparse dictionary for how a stance
deviates from it.

    x̂ = m + Σ_i s_i S_i + Σ_{j ∈ support(x)} a_j D_j          (exactly n_scaffold + k numbers)

- m: the training mean; S [n_scaffold, n_inputs]: orthonormal dense directions. Gait has a dense
  core every stance carries (speed, size, personal style), and PCA codes it best (issue 28). At
  initialisation S is the training sample's top principal directions; after training it is refitted
  as the top principal directions of the stances minus their sparse part (after_training: low rank
  + sparse, Candès et al. 2011), because when patients dominate the sample its top principal
  directions hold the class patterns themselves.
- D [n_latents, n_inputs]: unit-norm atoms, chosen k per stance (support(x)) by a TopK SAE that
  reads the inputs WHITENED along their first `encoder_dims` principal directions. A squared error
  in whitened units counts every principal dimension alike, so the sparse code looks for the
  directions along which the data are sparse (Olshausen & Field 1996; FastICA whitens for the same
  reason, Hyvärinen & Oja 2000) instead of the few directions of largest variance. D_j is that
  SAE's decoder row mapped back into input space, whole: it keeps its share inside the scaffold's
  span.
- s and a: least squares, jointly, in input space, over the scaffold and the k chosen atoms. The
  scaffold takes what it can; an atom's magnitude is what its part outside the scaffold's span
  explains, but its direction stays the whole pattern. Training a rank-r linear part jointly with
  the dictionary instead (the layout of arXiv 2606.14040) lets the dense part absorb each pattern's
  share inside its subspace, and the atoms keep only the rest (issue 28's probe).

What is trained: the whitened TopK SAE (its own loss: squared error in whitened units + AuxK, and
the firing floor; models/topk.py with init = "random"). The whitening is a fixed statistic of the
training sample; the scaffold is refitted once, after training, from the trained atoms. `encode`
is exactly the model above (support, then the least squares), so every metric measures it. Early
stopping therefore watches the whitened SAE's validation loss, not the input-space error of the
whole model (which the metrics report).

Features come in two kinds (feature_kinds): the first n_scaffold latents are "scaffold" (dense,
signed, every stance), the rest "sparse" (signed magnitudes, k non-zero per stance).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gaitsae.configs import MAX_COUNT, MAX_LATENTS, param
from gaitsae.errors import ConfigError
from gaitsae.features.transform import MAX_WHITEN_DIMS
from gaitsae.models import topk
from gaitsae.models.base import SCAFFOLD, SPARSE, GaitModel

RIDGE = 1e-6  # added to the least-squares Gram diagonal: two nearly parallel active atoms stay solvable
CODE_ROWS = 1024  # stances solved at once by encode
FLAT = 1e-6  # a principal dimension with SD below this share of the first one is not whitened (set to 0)


@dataclass
class Config:
    n_scaffold: int = param(4, min=0, max=MAX_LATENTS,
                            help="dense scaffold components (training principal directions), coded on every stance")
    n_latents: int = param(0, min=0, max=MAX_LATENTS, help="sparse dictionary size; 0 = auto: 8k")
    k: int = param(4, min=1, max=MAX_LATENTS, help="active sparse atoms per stance")
    encoder_dims: int = param(0, min=0, max=MAX_WHITEN_DIMS,
                              help="principal dimensions the sparse encoder reads, each scaled to unit SD; "
                                   "0 = auto: training stances / 16, between 10 and 80")
    aux_k: int = param(0, min=0, max=MAX_LATENTS, help="dead atoms used by AuxK; 0 = whitened dims / 2")
    aux_weight: float = param(1.0, min=0.0, help="weight of the AuxK term")
    dead_after: int = param(2_500, min=1, max=MAX_COUNT, help="training stances without firing before an atom counts as dead")
    min_firing: float = param(0.25, min=0.0, max=1.0,
                              help="firing-rate floor as a fraction of the mean rate k / n_latents (0 = off)")
    bonus_step: float = param(1e-3, min=0.0, help="change of an atom's selection bonus per training step")
    candidates: int = param(0, min=0, max=MAX_LATENTS, absent=0,
                            help="atoms the whitened encoder proposes beyond k; of those k + candidates, the k that "
                                 "best reconstruct the stance with the scaffold are chosen greedily (orthogonal least "
                                 "squares); 0 = the whitened encoder's top k")
    robust_steps: int = param(6, min=0, max=MAX_COUNT, absent=0,
                              help="after training, refits of the scaffold as the top principal directions of the "
                                   "stances minus their sparse part (low rank + sparse); 0 = the scaffold stays the "
                                   "PCA of all training stances")

    def __post_init__(self):
        if self.n_latents and self.k > self.n_latents:
            raise ConfigError(f"model.k must be <= model.n_latents ({self.n_latents}), got {self.k}")


ATOMS_PER_K = 8
STANCES_PER_DIM, MIN_DIMS, MAX_DIMS = 16, 10, 80


def auto_latents(k: int) -> int:
    """Default dictionary size, 8k. Chosen on validation splits of a SYNTHETIC GaitRec-like
    phantom with the impairment tripled (docs/models.md): at k = 4, 32 atoms isolated 3 of the 4
    planted classes on 3 of 3 seeds against 3, 2, 2 for 128 atoms, at 1.09–1.30× PCA-8's fvu
    (128 atoms: 1.05–1.14×)."""
    return int(min(ATOMS_PER_K * k, MAX_LATENTS))


def auto_encoder_dims(n_train: int) -> int:
    """Default whitened dimensions: at least 16 training stances per dimension, between 10 and
    80. Measured at the two ends (docs/models.md): 10 dims on 160 training stances (10 subjects,
    F_V) reconstruct like PCA where 80 reach twice PCA's fvu; 80 on 23.5k stances."""
    return int(min(max(n_train // STANCES_PER_DIM, MIN_DIMS), MAX_DIMS))


def _signed_svd(centred: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(singular values, directions [rank, n_inputs]) of `centred`, each direction's sign fixed
    (largest |entry| positive: a principal direction's sign is arbitrary, and runs must compare)."""
    _, values, directions = torch.linalg.svd(centred, full_matrices=False)
    peak = directions.gather(1, directions.abs().argmax(dim=1, keepdim=True))
    return values, directions * torch.where(peak < 0, -1.0, 1.0)


def _least_squares(basis: torch.Tensor, centred: torch.Tensor) -> torch.Tensor:
    """[batch, m]: per stance, the coefficients of its m basis rows [batch, m, n_inputs] that best
    fit it (a small ridge keeps nearly parallel rows solvable). Solved in float64: an atom that
    lies largely inside the scaffold makes the system ill-conditioned, and float32 rounding would
    then differ between one stance and a batch."""
    b, c = basis.double(), centred.double()
    gram = b @ b.transpose(1, 2) + RIDGE * torch.eye(basis.shape[1], dtype=b.dtype, device=b.device)
    return torch.linalg.solve(gram, (b @ c.unsqueeze(2)).squeeze(2)).to(centred.dtype)


class ScaffoldSAE(GaitModel):
    name = "scaffold"
    Config = Config

    def __init__(self, n_inputs: int, config: Config):
        super().__init__()
        if config.n_latents < 1 or config.encoder_dims < 1:
            raise ConfigError("model.n_latents and model.encoder_dims must be resolved (>= 1) before the model is built")
        if config.n_scaffold > n_inputs:
            raise ConfigError(f"model.n_scaffold must be <= the number of input features ({n_inputs}), "
                              f"got {config.n_scaffold}")
        self.config = config
        self.n_whiten = min(config.encoder_dims, n_inputs)
        self.register_buffer("mean", torch.zeros(n_inputs))
        # Until init_from_data: the first coordinate axes, unscaled (a usable model, not a zero one).
        self.register_buffer("scaffold", torch.eye(config.n_scaffold, n_inputs))
        self.register_buffer("whiten_basis", torch.eye(self.n_whiten, n_inputs))
        self.register_buffer("whiten_sd", torch.ones(self.n_whiten))
        self.sparse = topk.TopKSAE(self.n_whiten, topk.Config(
            n_latents=config.n_latents, k=config.k, aux_k=config.aux_k, aux_weight=config.aux_weight,
            dead_after=config.dead_after, min_firing=config.min_firing, bonus_step=config.bonus_step,
            init="random"))

    @classmethod
    def resolve_params(cls, params: dict, n_train: int) -> dict:
        params = dict(params)
        if params.get("n_latents", 0) == 0:
            params["n_latents"] = auto_latents(params.get("k", Config.k))
        if params.get("encoder_dims", 0) == 0:
            params["encoder_dims"] = auto_encoder_dims(n_train)
        return params

    # -- the parts ---------------------------------------------------------------------------
    def whiten(self, x: torch.Tensor) -> torch.Tensor:
        """[batch, n_whiten]: coordinates along the whitened principal directions, unit SD."""
        return (x - self.mean) @ self.whiten_basis.T / self.whiten_sd

    def atoms(self) -> torch.Tensor:
        """D [n_latents, n_inputs]: the whitened SAE's decoder rows in input space, unit norm."""
        rows = (self.sparse.decoder * self.whiten_sd) @ self.whiten_basis
        return rows / rows.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def support(self, x: torch.Tensor) -> torch.Tensor:
        """[batch, k]: the atoms chosen for each stance. The whitened encoder proposes its k +
        `candidates` largest pre-activations (plain TopK, the training-only selection bonus is not
        used); with candidates, the k of them are picked by `_pick`."""
        proposed = self.sparse.pre_activations(self.whiten(x)).topk(
            min(self.config.k + self.config.candidates, self.config.n_latents), dim=1).indices
        return proposed if not self.config.candidates else self._pick(x - self.mean, proposed, self.atoms())

    def _pick(self, centred, proposed, atoms):
        """[batch, k] of `proposed` [batch, c]: forward selection by orthogonal least squares in input
        space, starting from the scaffold: each step adds the proposed atom whose part outside the
        span so far explains most of the stance's remaining residual. The whitened encoder decides
        which patterns are candidates (isolation); this step only chooses among them
        (reconstruction). Float64, as the least squares."""
        k, rows = self.config.k, torch.arange(len(centred), device=centred.device)
        scaffold, residual = self.scaffold.double(), centred.double()
        residual = residual - (residual @ scaffold.T) @ scaffold
        span = scaffold.expand(len(centred), -1, -1)  # orthonormal rows [batch, m, n]
        candidates = atoms.double()[proposed]  # [batch, c, n]
        free = torch.ones(proposed.shape, dtype=torch.bool, device=centred.device)
        chosen = []
        for _ in range(k):
            outside = candidates - (candidates @ span.transpose(1, 2)) @ span  # parts outside the span
            size = outside.norm(dim=2)
            gain = (outside @ residual.unsqueeze(2)).squeeze(2).abs() / size.clamp_min(1e-12)
            gain = torch.where(free & (size > 1e-6), gain, torch.full_like(gain, -1.0))
            best = gain.argmax(dim=1)
            free[rows, best] = False
            chosen.append(proposed[rows, best])
            unit = outside[rows, best] / size[rows, best].clamp_min(1e-12).unsqueeze(1)
            residual = residual - (residual * unit).sum(dim=1, keepdim=True) * unit
            span = torch.cat([span, unit.unsqueeze(1)], dim=1)
        return torch.stack(chosen, dim=1)

    def feature_kinds(self) -> list[str]:
        return [SCAFFOLD] * self.config.n_scaffold + [SPARSE] * self.config.n_latents

    # -- the GaitModel interface -------------------------------------------------------------
    def encode(self, x):
        """[batch, n_scaffold + n_latents]: scaffold coordinates, then k signed atom magnitudes
        (zeros elsewhere), all from one least-squares fit of x − m (rows in blocks, so the
        per-stance bases [rows, n_scaffold + k, n_inputs] stay small)."""
        atoms = self.atoms()
        return torch.cat([self._code(rows, self.support(rows), atoms) for rows in x.split(CODE_ROWS)]) if len(x) \
            else x.new_zeros(0, self.config.n_scaffold + self.config.n_latents)

    def _code(self, x, index, atoms):
        r = self.config.n_scaffold
        centred = x - self.mean
        chosen = atoms[index]  # [batch, k, n_inputs]
        basis = torch.cat([self.scaffold.expand(len(x), -1, -1), chosen], dim=1)  # [batch, r + k, n_inputs]
        solution = _least_squares(basis, centred)
        codes = x.new_zeros(len(x), r + self.config.n_latents)
        codes[:, :r] = solution[:, :r]
        codes[:, r:] = codes[:, r:].scatter(1, index, solution[:, r:])
        return codes

    def decode(self, latents):
        r = self.config.n_scaffold
        return self.mean + latents[:, :r] @ self.scaffold + latents[:, r:] @ self.atoms()

    def loss_terms(self, x):
        """The whitened TopK SAE's terms (mse in whitened units, auxk): what training moves."""
        return self.sparse.loss_terms(self.whiten(x))

    def decoder_directions(self):
        return torch.cat([self.scaffold, self.atoms()])

    def encoder_weights(self):
        """Scaffold rows read x − m directly (up to the joint least squares); sparse rows are the
        whitened encoder's selection weights in input space."""
        selection = (self.sparse.encoder / self.whiten_sd) @ self.whiten_basis
        return torch.cat([self.scaffold, selection])

    # -- training hooks ------------------------------------------------------------------------
    @torch.no_grad()
    def init_from_data(self, x):
        """Mean, scaffold and whitening from a training sample [n, n_inputs], then the sparse
        SAE's own start (random atoms, geometric-median bias in whitened space)."""
        self.mean.copy_(x.mean(dim=0))
        values, directions = _signed_svd(x - self.mean)
        sd = values / max(len(x) - 1, 1) ** 0.5
        r, d = self.config.n_scaffold, min(self.n_whiten, len(directions))
        if r > len(directions):
            raise ConfigError(f"model.n_scaffold ({r}) is more than the training sample spans ({len(directions)} "
                              "directions)")
        self.scaffold.copy_(directions[:r])
        kept = sd[:d] > FLAT * sd[0].clamp_min(1e-30)
        self.whiten_basis.zero_()
        self.whiten_sd.fill_(1.0)
        self.whiten_basis[:d] = directions[:d] * kept[:, None]
        self.whiten_sd[:d] = torch.where(kept, sd[:d], torch.ones_like(sd[:d]))
        self.sparse.init_from_data(self.whiten(x))

    @torch.no_grad()
    def after_training(self, x):
        """The robust scaffold: the scaffold as the low-rank part of x − m once each stance's sparse
        part is taken out (robust PCA's low rank + sparse, Candès et al. 2011, with the sparse part
        given by the trained atoms). The PCA of all training stances is dominated by patients, so
        its top directions hold the class patterns themselves; an atom inside that span keeps only
        a small remainder for its least-squares magnitude, and its code stops following the amount.
        First the sparse part is each stance's chosen atoms fitted alone (they take their whole
        pattern), then `robust_steps` − 1 alternations of the scaffold as the top principal
        directions of x − m − sparse part and the sparse part from the joint least-squares code
        (each alternation lowers the training error: block coordinate descent). Deterministic."""
        r = self.config.n_scaffold
        if not self.config.robust_steps or not r:
            return
        centred, atoms = x - self.mean, self.atoms()
        index = self.support(x)
        sparse = self._sparse_part(centred, index, atoms, with_scaffold=False)
        for step in range(self.config.robust_steps):
            if step:
                sparse = self._sparse_part(centred, index, atoms, with_scaffold=True)
            self.scaffold.copy_(_signed_svd(centred - sparse)[1][:r])

    def _sparse_part(self, centred, index, atoms, with_scaffold):
        """[batch, n_inputs]: the chosen atoms times their least-squares magnitudes, fitted with the
        scaffold (the model's code) or alone; in blocks of CODE_ROWS stances, as encode."""
        parts = []
        for rows, chosen in zip(centred.split(CODE_ROWS), index.split(CODE_ROWS)):
            basis = atoms[chosen]
            if with_scaffold:
                basis = torch.cat([self.scaffold.expand(len(rows), -1, -1), basis], dim=1)
            magnitudes = _least_squares(basis, rows)[:, -self.config.k:]
            parts.append((magnitudes.unsqueeze(2) * atoms[chosen]).sum(dim=1))
        return torch.cat(parts)

    def after_backward(self):
        self.sparse.after_backward()

    def after_step(self):
        self.sparse.after_step()
