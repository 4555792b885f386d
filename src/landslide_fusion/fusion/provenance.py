"""Where a fusion's inputs come from: fingerprints of the segmentation run(s) and tabular model.

A stacker learns how the statistics of *one* segmentation recipe and the probabilities of *one*
tabular model relate to landslides; fed by another run it can collapse silently (a run trained
longer or on other data shifts ``max_probability`` and friends). So ``fuse train`` records, in
``FUSION/provenance.json``, a fingerprint of each side's source, and ``fuse predict``/``fuse
score`` compare the sources of their inputs with it.

Sources are found from the files' places, as the commands write them:

* image side: ``RUN/oof_stats.csv`` of ``segment train --folds K`` (a k-fold: ``cv.json``,
  ``config.toml`` and ``fold_i/`` weights beside it), ``PRED/predictions.csv`` of ``segment
  predict`` (``prediction.json`` beside it names the run), or a run folder (``fuse score --run``);
* tabular side: ``MODEL/oof.csv`` of ``tabular train`` (``meta.json`` and ``model.txt`` beside
  it), a table written by ``tabular predict`` (a ``STEM.provenance.json`` sidecar), or a model
  folder (``fuse score --tabular``).

A fingerprint holds the folder, the SHA-256 of its weights, the threshold and image gate its
statistics were made with, the SHA-256 of its training data (``data_sha256`` of ``run.json``:
the content of every file under ``data.root``, see :func:`~landslide_fusion.io.fingerprint.folder_sha256`)
and the SHA-256 of its *recipe*: the saved config without the prediction-only ``[scene]``
section and thread count. A k-fold's threshold and gate are those of the run at its root (its
fold models averaged, or a refit on every image; its ``run.json`` settings made
``oof_stats.csv``) when it has one; each fold keeps its own. A table of ``segment predict``
carries those it was predicted with (``prediction.json``). What is accepted (:func:`check_sources`):

* image side: the same weights, one of the k-fold's fold models, or a run with the same recipe
  *and the same training data*: ``segment train`` without ``--folds`` on the same config and data
  as the k-fold is the model the k-fold's out-of-fold statistics estimate (Wolpert's stacking:
  the base models are refitted on all rows after the out-of-fold pass); and in every case the
  same threshold and gate: region statistics (``landslide_fraction``, ``n_components``, ...) are
  counted on the thresholded, gated mask, so a run retuned by ``segment tune`` (or a ``run.json``
  edited) feeds the stacker numbers of another kind;
* tabular side: the same model (its ``oof.csv`` comes from cross-validating that model's recipe
  on its training table).

Values a record lacks (folders written before they were recorded) are not compared.

Anything else is refused with one line naming both sources (``--allow-mismatch`` turns it into
a warning). Inputs without a recognisable source (hand-made tables, data frames) are accepted
with a warning that they could not be checked.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tomllib
from collections.abc import Callable
from pathlib import Path

from ..errors import DataError
from ..io.fingerprint import file_sha256, read_sidecar
from ..tabular.train import model_fingerprint as tabular_fingerprint

__all__ = [
    "ProvenanceError",
    "run_fingerprint",
    "kfold_fingerprint",
    "tabular_fingerprint",
    "image_source",
    "tabular_source",
    "check_sources",
    "checked_sources",
    "describe_source",
    "PROVENANCE_FILE",
]

#: The provenance record of a fusion folder (and of a risk folder).
PROVENANCE_FILE = "provenance.json"
_WEIGHTS = ("model.pt", "model.safetensors")
_PREDICTION_ONLY = ("scene",)


class ProvenanceError(DataError):
    """The inputs of ``fuse predict``/``fuse score`` come from other models than the fusion's."""


def _recipe_sha256(config: Path) -> str | None:
    """SHA-256 of a saved segmentation config without prediction-only settings (canonical JSON)."""
    if not config.is_file():
        return None
    doc = tomllib.loads(config.read_text())
    for key in _PREDICTION_ONLY:
        doc.pop(key, None)
    if isinstance(doc.get("train"), dict):
        doc["train"].pop("threads", None)
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _weights(folder: Path) -> Path | None:
    return next((folder / w for w in _WEIGHTS if (folder / w).is_file()), None)


def _run_json(folder: Path) -> dict:
    run = folder / "run.json"
    return json.loads(run.read_text()) if run.is_file() else {}


def _post(info: dict) -> dict:
    """Threshold and gate of a ``run.json`` (runs before gates had none: 0), or None when unknown."""
    if info.get("threshold") is None:
        return {"threshold": None, "gate": None}
    return {"threshold": float(info["threshold"]), "gate": float(info.get("gate") or 0.0)}


def run_fingerprint(run: str | os.PathLike[str]) -> dict:
    """Fingerprint of one segmentation run folder (``segment train`` without ``--folds``)."""
    folder = Path(run)
    weights = _weights(folder)
    if weights is None:
        raise DataError(
            f"{folder}: not a segmentation run (no {' or '.join(_WEIGHTS)}); pass a folder of 'segment train'"
        )
    info = _run_json(folder)
    return {
        "kind": "run",
        "path": str(folder.resolve()),
        "model_sha256": file_sha256(weights),
        **_post(info),
        "data_sha256": info.get("data_sha256"),
        "recipe_sha256": _recipe_sha256(folder / "config.toml"),
    }


def kfold_fingerprint(folder: str | os.PathLike[str]) -> dict:
    """Fingerprint of a k-fold folder (``segment train --folds K``): every fold's weights and
    threshold, and the threshold, gate and weights of the run at its root when it holds one."""
    folder = Path(folder)
    folds = sorted((f for f in folder.glob("fold_*") if _weights(f) is not None), key=lambda f: f.name)
    root, first = _run_json(folder), (_run_json(folds[0]) if folds else {})
    refit = _weights(folder)
    return {
        "kind": "kfold",
        "path": str(folder.resolve()),
        "models": [file_sha256(_weights(f)) for f in folds],
        "thresholds": [_run_json(f).get("threshold") for f in folds],
        "model_sha256": file_sha256(refit) if refit is not None else None,
        **_post(root),
        "data_sha256": root.get("data_sha256") or first.get("data_sha256"),
        "recipe_sha256": _recipe_sha256(folder / "config.toml"),
    }


def _source(
    path: str | os.PathLike[str] | None, of_folder: Callable[[Path], dict], beside: Callable[[Path], dict | None]
) -> dict | None:
    """A folder's fingerprint, a table's sidecar record, or what the files beside the table say."""
    if path is None:
        return None
    path = Path(path)
    if path.is_dir():
        return of_folder(path)
    return read_sidecar(path) or beside(path.parent)


def _beside_image_table(folder: Path) -> dict | None:
    if (folder / "cv.json").is_file() and any(_weights(f) for f in folder.glob("fold_*")):
        return kfold_fingerprint(folder)
    pred = folder / "prediction.json"
    made = json.loads(pred.read_text()) if pred.is_file() else {}
    run = Path(made.get("run", "")) if made else None
    if run is None or _weights(run) is None:
        return None
    rec = run_fingerprint(run)
    for key in ("threshold", "gate"):  # what the table was predicted with (the run may be retuned since)
        if made.get(key) is not None:
            rec[key] = float(made[key])
    return rec


def image_source(path: str | os.PathLike[str] | None) -> dict | None:
    """Fingerprint of the segmentation run(s) behind an image-side file or run folder; None if unknown."""
    return _source(path, run_fingerprint, _beside_image_table)


def tabular_source(path: str | os.PathLike[str] | None) -> dict | None:
    """Fingerprint of the tabular model behind a score table or model folder; None if unknown."""
    return _source(
        path,
        tabular_fingerprint,
        lambda folder: (
            tabular_fingerprint(folder)
            if ((folder / "model.txt").is_file() and (folder / "meta.json").is_file())
            else None
        ),
    )


def describe_source(rec: dict) -> str:
    """One phrase naming a source record, e.g. ``segmentation run runs/seg (weights 1a2b3c4d5e6f)``."""
    if rec.get("kind") == "kfold":
        return f"k-fold run {rec.get('path')} ({len(rec.get('models', []))} fold models)"
    sha = str(rec.get("model_sha256"))[:12]
    return (
        f"tabular model {rec.get('path')} (model.txt {sha})"
        if rec.get("kind") == "tabular"
        else f"segmentation run {rec.get('path')} (weights {sha})"
    )


def _differs(a: object, b: object) -> bool:
    """Two recorded values that are both known and not equal (numbers up to rounding)."""
    if a is None or b is None:
        return False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return not math.isclose(a, b, rel_tol=0, abs_tol=1e-9)
    return a != b


def _post_text(rec: dict) -> str:
    gate = rec.get("gate")  # records written before gates were compared have none
    return f"threshold {rec['threshold']:.4g}" + (f" and gate {gate:.4g}" if gate is not None else "")


def _image_problem(trained: dict, used: dict) -> str | None:
    """Why image statistics from ``used`` cannot feed a stacker fitted on ``trained``'s, or None."""
    models = {trained.get("model_sha256"), *trained.get("models", [])} - {None}
    same = used.get("model_sha256") in models or bool(used.get("models") and set(used["models"]) <= models)
    if not same:
        if trained.get("recipe_sha256") is None or used.get("recipe_sha256") != trained.get("recipe_sha256"):
            return "other weights and another config; use a run trained with the same config and data"
        if _differs(trained.get("data_sha256"), used.get("data_sha256")):
            return (
                f"the same config but other training data (data SHA-256 {str(used['data_sha256'])[:12]}, the "
                f"fusion's {str(trained['data_sha256'])[:12]}: regenerated or edited behind the same path); "
                "use a run trained on the fusion's data"
            )
    if _differs(trained.get("threshold"), used.get("threshold")) or _differs(trained.get("gate"), used.get("gate")):
        return (
            f"statistics made at {_post_text(used)}, the fusion's at {_post_text(trained)} (a retuned run or an "
            "edited run.json); use the run the fusion's statistics came from"
        )
    return None


def _tabular_problem(trained: dict, used: dict) -> str | None:
    if used.get("model_sha256") is not None and used.get("model_sha256") == trained.get("model_sha256"):
        return None
    return "use the same tabular model"


def check_sources(
    fusion: str | os.PathLike[str],
    image: dict | None,
    tabular: dict | None,
    *,
    allow_mismatch: bool = False,
    names: tuple[str, str] = ("image inputs", "tabular inputs"),
) -> list[str]:
    """Compare the sources of new inputs with the fusion's; returns warnings (text), raises on a mismatch.

    Raises:
        ProvenanceError: a side comes from another model than the fusion was trained on (unless
            ``allow_mismatch``, which returns the same sentence as a warning).
    """
    record = Path(fusion) / PROVENANCE_FILE
    trained = json.loads(record.read_text()) if record.is_file() else {}
    notes = []
    for side, used, problem, name in (
        ("image", image, _image_problem, names[0]),
        ("tabular", tabular, _tabular_problem, names[1]),
    ):
        t = trained.get(side)
        if t is None:
            continue
        if used is None:
            notes.append(
                f"{name}: no provenance found, so it cannot be checked against the {side} side the fusion "
                f"was trained on ({describe_source(t)})"
            )
            continue
        why = problem(t, used)
        if why is not None:
            msg = (
                f"{name} come from {describe_source(used)}, but fusion {fusion} was trained on "
                f"{describe_source(t)}: {why}, retrain the fusion, or pass --allow-mismatch"
            )
            if not allow_mismatch:
                raise ProvenanceError(msg)
            notes.append(msg)
    return notes


def checked_sources(
    fusion: str | os.PathLike[str],
    image: str | os.PathLike[str] | None,
    tabular: str | os.PathLike[str] | None,
    *,
    allow_mismatch: bool = False,
    names: tuple[str, str],
) -> tuple[dict, list[str]]:
    """The sources of the image and tabular inputs about to feed ``fusion`` (a run or image
    table, a tabular model or score table: :func:`image_source`, :func:`tabular_source`) and the
    warnings of :func:`check_sources`, which raises on a mismatch."""
    sources = {"image": image_source(image), "tabular": tabular_source(tabular)}
    notes = check_sources(fusion, sources["image"], sources["tabular"], allow_mismatch=allow_mismatch, names=names)
    return sources, notes
