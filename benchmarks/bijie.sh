#!/usr/bin/env bash
# Bijie landslide set on CPU: segmentation (rau-net-small, rgb9), a tabular model over image
# descriptors, and their fusion, evaluated on the val split.
#
#   bash benchmarks/bijie.sh            # DATA=../shared/data/bijie OUT=runs/bijie-bench
#
# Both base models train on the train split only, so their val-split outputs are held out (the
# threshold and gate are chosen on the val split: `segment tune` also prints the figures of choices
# made on other folds of it, the honest estimate for unseen images);
# `fuse compare` then cross-validates tabular-only, image-only and fused detection over the
# val images (5 folds). Skips cleanly when the data are absent. Prints the figures of docs/results.md.
set -euo pipefail
DATA=${DATA:-../shared/data/bijie}
OUT=${OUT:-runs/bijie-bench}
[ -d "$DATA" ] || { echo "skipped: $DATA not found"; exit 0; }
mkdir -p "$OUT"

if [ ! -f "$OUT/segmentation/model.pt" ]; then
  start=$(date +%s)
  landslide segment train -c configs/bijie-rau-net-small.toml --data "$DATA" -o "$OUT/segmentation"
  echo "segmentation training: $(( $(date +%s) - start )) s"
fi
landslide segment evaluate --run "$OUT/segmentation" --data "$DATA" --split val
# the same weights with the threshold and gate chosen for imagery where 9 regions in 10 hold no landslide
landslide segment tune --run "$OUT/segmentation" --data "$DATA" --split val --landslide-free-share 0.9 \
    -o "$OUT/segmentation-sparse" --overwrite
landslide segment predict --run "$OUT/segmentation" --input "$DATA" --split val -o "$OUT/predict_val" --overwrite
landslide fuse describe "$DATA" --split train -o "$OUT/descriptors_train.csv" --overwrite
landslide fuse describe "$DATA" --split val -o "$OUT/descriptors_val.csv" --overwrite
landslide tabular train --data "$OUT/descriptors_train.csv" --label landslide --id id -o "$OUT/tabular" --overwrite
landslide tabular predict --model "$OUT/tabular" --data "$OUT/descriptors_val.csv" -o "$OUT/tabular_val.csv" --overwrite
landslide fuse compare --image "$OUT/predict_val/predictions.csv" --tabular "$OUT/tabular_val.csv" -o "$OUT/compare" --overwrite
