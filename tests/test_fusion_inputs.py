"""The stacker's image inputs (fusion.inputs): the peak alone unless the others earn their place."""

import dataclasses

import numpy as np
import pandas as pd

from landslide_fusion.fusion import FusionConfig
from landslide_fusion.fusion.config import StackingConfig
from landslide_fusion.fusion.inputs import choose_image_columns
from landslide_fusion.synth import synth_fusion_regions


def _regions(extra_signal: bool, n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    df = synth_fusion_regions(n, seed, tabular_signal=0.8, image_signal=0.8).set_index("id")
    y = df["label"].to_numpy()
    rng = np.random.default_rng(seed)
    # a statistic the peak does not carry: informative, or pure noise
    df["landslide_fraction"] = np.clip(0.1 + (0.25 * y if extra_signal else 0) + 0.05 * rng.standard_normal(n), 0, 1)
    return df, y


def _cfg(**stacking) -> FusionConfig:
    return FusionConfig(image_columns=("max_probability", "landslide_fraction"), stacking=StackingConfig(**stacking))


def test_a_statistic_that_adds_nothing_is_left_out():
    frame, y = _regions(extra_signal=False)
    choice = choose_image_columns(frame, y, _cfg())
    assert choice.columns == ("max_probability",) and choice.gain <= choice.se
    assert "left out" in choice.text() and choice.to_dict()["rule"] == "one-se"


def test_a_statistic_that_ranks_better_is_taken():
    frame, y = _regions(extra_signal=True)
    choice = choose_image_columns(frame, y, _cfg())
    assert choice.columns == ("max_probability", "landslide_fraction") and choice.gain > choice.se > 0
    assert "taken" in choice.text()


def test_all_takes_every_column_and_other_methods_are_left_alone():
    frame, y = _regions(extra_signal=False)
    assert choose_image_columns(frame, y, _cfg(inputs="all")).columns == ("max_probability", "landslide_fraction")
    cross = dataclasses.replace(_cfg(), method="crosscheck")
    assert choose_image_columns(frame, y, cross).gain is None and choose_image_columns(frame, y, cross).text() == ""
