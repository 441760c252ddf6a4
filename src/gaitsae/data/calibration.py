"""Calibration targets: what real healthy walking looks like in the statistics of gaitsae.data.stats.

The one table both the phantom's tests and `gaitsae inspect --stats` read. Each target is a range
"in kind" (the phantom should land inside it), the real value where one was measured, and its
source; docs/phantom.md gives the sources in full and the values measured on the phantom.

PCA and high-frequency targets come from issue 12's real recording (healthy adults, 10 subjects
× 60 stances, F_V): low-pass filtered and as recorded. The Gutenberg/GaitRec PRO curves are
low-pass filtered, so the filtered row is the reference; that recording spans more speeds than
self-selected walking, which moves variance into its first components, so a self-selected
phantom may hold somewhat more in the tail. Rule: low = filtered / 2, high = 1.5 × as recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

PCA_COMPONENTS = (1, 3, 5, 8, 12)  # k: share of variance left after the first k PCs
HF_CYCLES = 10  # high frequency: >= 10 cycles per stance


@dataclass(frozen=True)
class Target:
    low: float
    high: float
    real: float | None  # a measured real value, when there is one
    source: str

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high


REAL_RECORDING = "issue 12: real healthy F_V, 10 subjects × 60 stances (filtered; as recorded {rec})"


def _from_recording(filtered: float, recorded: float) -> Target:
    return Target(filtered / 2, 1.5 * recorded, filtered, REAL_RECORDING.format(rec=recorded))


# F_V share of variance left after k PCs (PCA_COMPONENTS; k = 1 has no published reference).
PCA_RESIDUAL = {
    ("F_V", 3): _from_recording(0.118, 0.136),
    ("F_V", 5): _from_recording(0.028, 0.050),
    ("F_V", 8): _from_recording(0.0064, 0.018),
    ("F_V", 12): _from_recording(0.0011, 0.0057),
}
# Power share of the deviations from the mean curve at >= HF_CYCLES cycles per stance.
HF_SHARE = {"F_V": _from_recording(0.0055, 0.032)}

_ICC = ("Hamill & McNiven 1990; Kadaba et al. 1989; Devita & Bates 1988: reliability of GRF "
        "parameters in walking, ICC mostly 0.7-0.9")
_CV_VERTICAL = "Winter 1984; Hamill & McNiven 1990; White et al. 1999: within-subject trial CV of vGRF peaks ~2-6 %"
_CV_SHEAR = "Winter 1984; White et al. 1999: AP shear more variable than vertical force, CV ~5-15 %"
_CV_STANCE = "Hausdorff 2005 (review): stride/stance time CV 1-3 % in healthy adults"

# Classic GRF parameters: between-subject share of variance (ICC(1) over subject × side) and
# the median within-session between-trial coefficient of variation.
BETWEEN_SHARE = {p: Target(0.6, 0.95, None, _ICC) for p in (
    "fv_peak1", "fv_trough", "fv_peak2", "fap_braking", "fap_propulsion", "fv_impulse", "stance_time")}
TRIAL_CV = {
    "fv_peak1": Target(0.015, 0.06, None, _CV_VERTICAL),
    "fv_peak2": Target(0.015, 0.06, None, _CV_VERTICAL),
    "fv_trough": Target(0.02, 0.08, None, _CV_VERTICAL),
    "fv_impulse": Target(0.01, 0.05, None, _CV_VERTICAL),
    "fap_braking": Target(0.04, 0.15, None, _CV_SHEAR),
    "fap_propulsion": Target(0.04, 0.15, None, _CV_SHEAR),
    "stance_time": Target(0.015, 0.04, None, _CV_STANCE),
}
