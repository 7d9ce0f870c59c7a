"""Exercise 04 (Glorot initialization): Glorot normal and uniform, the backward variance ratio."""

from __future__ import annotations

import numpy as np

from course_utils.grading.checks import Call, deterministic
from course_utils.grading.registry import initializer_question, question
from course_utils.initializers import fan_in_and_fan_out

EXERCISE = "04_glorot"

for _family, _title in (
    ("normal", "Glorot normal: N(0, 2/(fan_in + fan_out))"),
    ("uniform", "Glorot uniform: U(-sqrt(6/(fan_in + fan_out)), +sqrt(6/(fan_in + fan_out)))"),
):
    initializer_question(
        f"glorot_{_family}",
        exercise=EXERCISE,
        points=3,
        title=_title,
        variance=lambda fan_in, fan_out: 2.0 / (fan_in + fan_out),
        variance_label="2/(fan_in + fan_out)",
        family=_family,
        also_forbidden=(f"torch.nn.init.xavier_{_family}_",),
    )


def backward_variance_ratio_reference(
    shape: tuple[int, ...], weight_variance: float, *, layout: str = "in_out"
) -> float:
    """Var(dL/dx) / Var(dL/dy) of one layer: fan_out * Var(w) (Glorot & Bengio, 2010).

    dL/dx_i = sum_j w_ij dL/dy_j sums fan_out independent zero-mean products.
    """
    _, fan_out = fan_in_and_fan_out(shape, layout=layout)
    return fan_out * weight_variance


def _ratio_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(3):
        n_in, n_out = (int(v) for v in rng.integers(1, 2049, size=2))
        var = float(
            rng.choice([1.0 / n_in, 2.0 / (n_in + n_out), 2.0 / n_in, rng.uniform(1e-4, 0.1)])
        )
        calls.append(Call(((n_in, n_out), var), group="dense"))
    for _ in range(2):
        k = int(rng.choice([1, 3, 5]))
        c_in, c_out = (int(v) for v in rng.integers(1, 257, size=2))
        var = float(rng.uniform(1e-4, 0.05))
        calls.append(Call(((k, k, c_in, c_out), var), group="conv kernel"))
        calls.append(Call(((c_out, c_in, k, k), var), {"layout": "out_in"}, group="out_in layout"))
    return calls


question(
    "backward_variance_ratio",
    exercise=EXERCISE,
    points=2,
    title="backward variance ratio of a layer: fan_out * Var(w)",
    check=deterministic(
        backward_variance_ratio_reference,
        visible=[
            Call(((400, 100), 1 / 400), group="dense"),
            Call(((100, 400), 2 / 500), group="dense"),
            Call(((3, 3, 16, 32), 1 / 144), group="conv kernel"),
            Call(((32, 16, 3, 3), 1 / 144), {"layout": "out_in"}, group="out_in layout"),
        ],
        hidden=_ratio_calls,
        rtol=1e-6,
        hints={
            "dense": "dL/dx_i sums fan_out products w_ij dL/dy_j: the ratio is fan_out * Var(w)",
            "conv kernel": "a conv kernel's fan_out is kh * kw * c_out",
            "out_in layout": "PyTorch's layout (c_out, c_in, kh, kw): use layout to find the fans",
        },
    ),
)
