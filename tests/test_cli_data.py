import json

import numpy as np
from typer.testing import CliRunner

from landslide_fusion.cli import app

from .conftest import shared

runner = CliRunner()


def test_help_lists_areas():
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0 and "data" in r.output and "demo" in r.output


def test_check_text_and_json(l4s_root):
    r = runner.invoke(app, ["data", "check", str(l4s_root)])
    assert r.exit_code == 0, r.output
    assert "landslide4sense layout" in r.output and "images: 12" in r.output
    r = runner.invoke(app, ["data", "check", str(l4s_root), "--json"])
    report = json.loads(r.stdout)
    assert report["n_images"] == 12 and report["n_masks"] == 12 and 0 < report["landslide_pixel_fraction"] < 0.1
    assert report["shapes"]["distinct"] == 1 and "shape_counts" not in report


def test_check_summarises_shapes_and_lists_them_on_request(tmp_path):
    from landslide_fusion.io import write_image_folder_sample

    for i, (h, w) in enumerate([(20, 30), (20, 30), (40, 10), (61, 90)]):
        write_image_folder_sample(tmp_path, f"s{i}", np.full((3, h, w), 100, np.uint8), np.zeros((h, w), np.uint8))
    r = runner.invoke(app, ["data", "check", str(tmp_path), "--json"])
    s = json.loads(r.stdout)["shapes"]
    assert s == {
        "images": 4,
        "distinct": 3,
        "bands": [3],
        "height": {"min": 20, "median": 30.0, "max": 61},
        "width": {"min": 10, "median": 30.0, "max": 90},
    }
    listed = json.loads(runner.invoke(app, ["data", "check", str(tmp_path), "--json", "--shapes"]).stdout)
    assert listed["shape_counts"] == {"3x20x30": 2, "3x40x10": 1, "3x61x90": 1}
    text = runner.invoke(app, ["data", "check", str(tmp_path)]).stdout
    assert "3 distinct over 4 image(s)" in text and "height 20-61 (median 30)" in text and "3x61x90" not in text


def test_synth_writes_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "gen"
    r = runner.invoke(app, ["data", "synth", str(out), "--n", "4", "--size", "32", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["n_patches"] == 4
    before = (out / "img" / "image_1.h5").read_bytes()
    r = runner.invoke(app, ["data", "synth", str(out), "--n", "2", "--size", "32", "--seed", "9"])
    assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "--overwrite" in r.stderr
    assert (out / "img" / "image_1.h5").read_bytes() == before
    r = runner.invoke(app, ["data", "synth", str(tmp_path / "f"), "--layout", "folder", "--n", "5", "--size", "32"])
    assert r.exit_code == 0 and len(list((tmp_path / "f" / "images").iterdir())) == 5


def test_bad_input_is_one_line_nonzero(tmp_path):
    r = runner.invoke(app, ["data", "check", str(tmp_path / "missing")])
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "folder not found" in r.stderr


def test_check_fix_nan_flag(tmp_path):
    from landslide_fusion.io import write_l4s_patch

    img = np.ones((14, 8, 8), np.float32)
    img[2, 1, 1] = np.nan
    write_l4s_patch(tmp_path, 1, img)
    assert runner.invoke(app, ["data", "check", str(tmp_path)]).exit_code == 1
    assert runner.invoke(app, ["data", "check", str(tmp_path), "--fix-nan"]).exit_code == 0


def test_check_real_data():
    for name in ("l4s_samples", "bijie"):
        root = shared(name)
        r = runner.invoke(app, ["data", "check", str(root), "--json"] + (["--split", "val"] if name == "bijie" else []))
        assert r.exit_code == 0, r.stderr
