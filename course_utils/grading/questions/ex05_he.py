"""Exercise 05 (He initialization): He normal and uniform, predicted std of a deep network."""

from __future__ import annotations

import numpy as np

from course_utils import theory
from course_utils.grading.checks import Call, deterministic
from course_utils.grading.registry import initializer_question, question

EXERCISE = "05_he"

for _family, _title in (
    ("normal", "He normal: N(0, 2/fan_in)"),
    ("uniform", "He uniform: U(-sqrt(6/fan_in), sqrt(6/fan_in))"),
):
    initializer_question(
        f"he_{_family}",
        exercise=EXERCISE,
        points=3,
        title=_title,
        variance=lambda fan_in, fan_out: 2.0 / fan_in,
        variance_label="2/fan_in",
        family=_family,
        also_forbidden=(f"torch.nn.init.kaiming_{_family}_",),
    )

_SCHEMES = (
    "lecun_normal",
    "lecun_uniform",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
)


def _std_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for activation in ("relu", "relu", "linear", "linear"):
        depth = int(rng.integers(1, 61))
        scheme = str(rng.choice(_SCHEMES))
        group = "relu" if activation == "relu" else "linear"
        calls.append(Call((depth, scheme, activation), group=group))
    return calls


question(
    "predicted_std",
    exercise=EXERCISE,
    points=3,
    title="predicted std of the last pre-activation of a square deep network",
    check=deterministic(
        theory.predicted_std,
        visible=[
            Call((30, "glorot_normal", "relu"), group="relu"),
            Call((30, "he_normal", "relu"), group="relu"),
            Call((1, "lecun_uniform", "relu"), group="relu"),
            Call((10, "he_uniform", "linear"), group="linear"),
            Call((5, "glorot_uniform", "linear"), group="linear"),
        ],
        hidden=_std_calls,
        rtol=1e-6,
        hints={
            "relu": "layer 1 sees the raw input: q_1 = n Var(w); then q_l = n Var(w) q_(l-1) / 2",
            "linear": "no activation: q_l = (n Var(w))^l; for He n Var(w) = 2",
        },
    ),
    forbidden=("course_utils.theory.predicted_std", "course_utils.theory.predict"),
)
