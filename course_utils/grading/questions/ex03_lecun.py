"""Exercise 03 (LeCun initialization): fans, LeCun normal and uniform, variance of a sum."""

from __future__ import annotations

import numpy as np

from course_utils import initializers
from course_utils.grading.checks import Call, deterministic
from course_utils.grading.registry import initializer_question, question

EXERCISE = "03_lecun"


# ---- fan_in_and_fan_out ------------------------------------------------------------------------
def _fan_calls(rng: np.random.Generator) -> list[Call]:
    def size(lo: int, hi: int) -> int:
        return int(rng.integers(lo, hi + 1))

    calls = [Call(((size(1, 2000), size(1, 2000)),), group="dense") for _ in range(3)]
    for dims in (1, 2, 3):
        spatial = tuple(size(1, 7) for _ in range(dims))
        c_in, c_out = size(1, 256), size(1, 256)
        calls.append(Call((spatial + (c_in, c_out),), group="conv in_out"))
        calls.append(Call(((c_out, c_in) + spatial,), {"layout": "out_in"}, group="out_in layout"))
    calls.append(Call(((size(1, 500), size(1, 500)),), {"layout": "out_in"}, group="out_in layout"))
    calls.append(Call(((size(1, 100),),), group="fewer than 2 dims"))
    return calls


question(
    "fan_in_and_fan_out",
    exercise=EXERCISE,
    points=2,
    title="fan-in and fan-out of dense weights and conv kernels, both layouts",
    check=deterministic(
        initializers.fan_in_and_fan_out,
        visible=[
            Call(((784, 256),), group="dense"),
            Call(((256, 10),), group="dense"),
            Call(((3, 3, 16, 32),), group="conv in_out"),
            Call(((5, 24, 48),), group="conv in_out"),
            Call(((32, 16, 3, 3),), {"layout": "out_in"}, group="out_in layout"),
            Call(((10, 256),), {"layout": "out_in"}, group="out_in layout"),
            Call(((7,),), group="fewer than 2 dims"),
        ],
        hidden=_fan_calls,
        rtol=0.0,
        hints={
            "dense": "a dense weight of shape (fan_in, fan_out) in the in_out layout",
            "conv in_out": "multiply by the receptive field: the product of all but the last two dims",
            "out_in layout": "PyTorch stores (c_out, c_in, *spatial): the first two dims swap roles",
            "fewer than 2 dims": "raise ValueError for a shape with fewer than 2 dimensions",
        },
    ),
    forbidden=(
        "course_utils.initializers.fan_in_and_fan_out",
        "torch.nn.init._calculate_fan_in_and_fan_out",
    ),
)


# ---- lecun_normal, lecun_uniform ---------------------------------------------------------------
for _family, _title in (
    ("normal", "LeCun normal: N(0, 1/fan_in)"),
    ("uniform", "LeCun uniform: U(-sqrt(3/fan_in), sqrt(3/fan_in))"),
):
    initializer_question(
        f"lecun_{_family}",
        exercise=EXERCISE,
        points=3,
        title=_title,
        variance=lambda fan_in, fan_out: 1.0 / fan_in,
        variance_label="1/fan_in",
        family=_family,
    )


# ---- variance of a sum of products -------------------------------------------------------------
def sum_variance_reference(n: int, var_w: float, var_x: float, mean_x: float = 0.0) -> float:
    """Var(sum_i w_i x_i) for n independent pairs, E[w] = 0: n Var(w) E[x^2] = n Var(w) (Var(x) + E[x]^2)."""
    return n * var_w * (var_x + mean_x**2)


def _sum_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(3):
        n = int(rng.integers(1, 4096))
        calls.append(
            Call(
                (n, float(rng.uniform(1e-4, 1.0)), float(rng.uniform(0.05, 4.0))),
                group="zero-mean inputs",
            )
        )
    for _ in range(3):
        n = int(rng.integers(1, 4096))
        args = (n, float(rng.uniform(1e-4, 1.0)), float(rng.uniform(0.05, 4.0)))
        calls.append(
            Call(args, {"mean_x": float(rng.uniform(0.2, 3.0))}, group="inputs with a mean")
        )
    return calls


question(
    "sum_variance",
    exercise=EXERCISE,
    points=2,
    title="Var(y) for y = sum of n products w_i x_i",
    check=deterministic(
        sum_variance_reference,
        visible=[
            Call((100, 0.01, 1.0), group="zero-mean inputs"),
            Call((784, 1 / 784, 2.0), group="zero-mean inputs"),
            Call((10, 0.5, 1.0), {"mean_x": 1.0}, group="inputs with a mean"),
        ],
        hidden=_sum_calls,
        rtol=1e-6,
        hints={
            "zero-mean inputs": "Var(w x) = Var(w) Var(x) for independent zero-mean w and x",
            "inputs with a mean": "with E[w] = 0, Var(w x) = Var(w) E[x^2] and E[x^2] = Var(x) + E[x]^2",
        },
    ),
)
