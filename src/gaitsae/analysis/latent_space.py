"""The shape of the latent space: t-SNE coloured by metadata, and PCA → K-means clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score

from gaitsae.analysis.figures import subplots, svg

COLOURS = {"age_years": "age (years)", "height_cm": "height (cm)", "body_weight_n": "body weight (N)",
           "walking_speed_m_per_s": "walking speed (m/s)", "sex_code": "sex (0 f, 1 m)", "class_label": "class"}
PROFILE = ["walking_speed_m_per_s", "age_years", "height_cm", "body_weight_n", "sex_code"]


def tsne_figure(latents, stances, seed=0, max_points=1500) -> tuple[dict, str]:
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(latents), size=min(max_points, len(latents)), replace=False))
    emb = TSNE(n_components=2, perplexity=min(30, max(5, len(idx) // 4)), init="pca", random_state=seed,
               n_jobs=1).fit_transform(latents[idx].astype(np.float64))
    columns = [c for c in COLOURS if c in stances and stances[c].nunique(dropna=True) > 1]
    ncols = min(3, max(len(columns), 1))
    fig, axes = subplots(int(np.ceil(len(columns) / ncols)) or 1, ncols, width=3.4, height=3.0)
    for ax, c in zip(axes.flat, columns):
        values = stances[c].to_numpy()[idx]
        if c == "class_label":
            codes, names = pd.factorize(values)
            sc = ax.scatter(emb[:, 0], emb[:, 1], c=codes, s=4, cmap="tab10", rasterized=True)
            ax.legend(handles=sc.legend_elements()[0], labels=list(names), loc="best", frameon=False)
        else:
            sc = ax.scatter(emb[:, 0], emb[:, 1], c=values.astype(float), s=4, cmap="viridis", rasterized=True)
            fig.colorbar(sc, ax=ax, shrink=0.8)
        ax.set_title(COLOURS[c])
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(columns):]:
        ax.axis("off")
    return {"n_points": int(len(idx)), "coloured_by": columns}, svg(fig)


def clusters(latents, stances, k=5, seed=0) -> tuple[dict, str]:
    pcs = PCA(n_components=2, random_state=seed).fit(latents)
    xy = pcs.transform(latents)
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(xy)
    sample = np.random.default_rng(seed).choice(len(xy), size=min(5000, len(xy)), replace=False)
    silhouette = float(silhouette_score(xy[sample], labels[sample])) if len(set(labels[sample])) > 1 else float("nan")
    profile = stances[[c for c in PROFILE if c in stances]].assign(cluster=labels).groupby("cluster").mean()
    profile["n_stances"] = np.bincount(labels, minlength=k)
    fig, axes = subplots(1, 1, width=4.5, height=3.6)
    ax = axes[0, 0]
    ax.scatter(xy[:, 0], xy[:, 1], c=labels, s=4, cmap="tab10", rasterized=True)
    ax.set_xlabel(f"PC1 ({pcs.explained_variance_ratio_[0]:.0%})")
    ax.set_ylabel(f"PC2 ({pcs.explained_variance_ratio_[1]:.0%})")
    ax.set_title(f"K-means, k = {k}, silhouette {silhouette:.2f}")
    return {"k": k, "silhouette": silhouette, "explained_variance_ratio": pcs.explained_variance_ratio_.tolist(),
            "profiles": profile.round(4).reset_index().to_dict(orient="records")}, svg(fig)
