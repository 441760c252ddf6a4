"""A short plain-language summary, written from the numbers (nothing here is hand-typed)."""

from __future__ import annotations

from gaitsae.analysis.run import RunAnalysis

NAMES = {"topk": "TopK sparse autoencoder", "sae": "sparse autoencoder (report baseline)",
         "sae-disent": "sparse autoencoder with disentanglement loss", "svae": "sparse variational autoencoder"}


def summary_sentences(runs: list[RunAnalysis]) -> list[str]:
    out = []
    for a in runs:
        m, n = a.metrics, a.numbers
        r2 = m.get("r2_time") or {}
        worst = min(r2, key=r2.get) if r2 else None
        text = (f"{NAMES.get(a.model, a.model)}: reconstructs the held-out stances with "
                f"{(1 - m['fvu']):.1%} of their curves' variance explained (mean over channels)")
        if worst:
            text += f" (weakest channel {worst}: {r2[worst]:.1%})"
        text += f", using on average {m['l0']:.1f} of {len(n['activations']['firing_rate'])} features per stance"
        dead = n["activations"]["type_counts"]["dead"]
        among = f" of these {n['n_stances']:,} stances"
        text += f"; {dead} features never fire on any{among}." if dead else f"; every feature fires on some{among}."
        speed = n["metadata"]["walking_speed_m_per_s"]
        if speed["best_abs_r"] is not None:
            text += (f" Feature {speed['best_feature']} follows walking speed most closely "
                     f"(|r| = {speed['best_abs_r']:.2f} between subjects' means, n = {speed['n']}).")
        peaks = m.get("peak_error")
        if peaks:
            first, second = (100 * peaks[p]["absolute"] for p in ("first", "second"))
            text += (f" Vertical force peaks are off by {first:.2f} % (first) and {second:.2f} % (second) "
                     f"per stance on average.")
        out.append(text)
    return out
