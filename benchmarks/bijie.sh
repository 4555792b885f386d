#!/usr/bin/env bash
# Bijie landslide set on CPU, fitted on every labelled image and made for a declared share of
# landslide-free regions: a segmentation k-fold (whose fold models, averaged, map), a tabular model
# over image descriptors, and their fusion, whose decisions gate the masks (the fused masks).
# Prints the estimate for the declared share; with UNSEEN=FOLDER (labelled images none of the
# models saw) it also maps them and scores the fused masks as written.
#
#   bash benchmarks/bijie.sh                      # DATA=../shared/data/bijie OUT=runs/bijie-bench SHARE=0.7
#   UNSEEN=path/to/held-out-images bash benchmarks/bijie.sh
#   HOLDOUT=1 OUT=runs/bijie-holdout bash benchmarks/bijie.sh   # fit on the train split only, then map
#                                                                # the val split: measures the estimate
#
# SHARE is the share of landslide-free regions where the maps are used (0.7: 7 regions in 10 hold
# no landslide); CONFIG, FOLDS, EPOCHS and SEED choose the segmentation recipe, the k-fold and the seed. Every threshold of the chain (the run's pixel threshold and gate, the tabular
# decision, the fused decision and the fused masks' threshold) is chosen for it on out-of-fold
# predictions. Steps whose output exists are kept (rerun after an interruption: the k-fold resumes
# fold by fold). Skips cleanly when the data are absent.
set -euo pipefail
DATA=${DATA:-../shared/data/bijie}
OUT=${OUT:-runs/bijie-bench}
SHARE=${SHARE:-0.7}
CONFIG=${CONFIG:-configs/bijie-mobilenetv3.toml}
EPOCHS=${EPOCHS:-}
FOLDS=${FOLDS:-3}
SEED=${SEED:-0}
HOLDOUT=${HOLDOUT:-}
[ -d "$DATA" ] || { echo "skipped: $DATA not found"; exit 0; }
mkdir -p "$OUT"

seg=(--set "train.seed=$SEED")
[ -z "$EPOCHS" ] || seg+=(--set "train.epochs=$EPOCHS")
[ -z "${THREADS:-}" ] || seg+=(--set "train.threads=$THREADS")  # 1 on a machine shared with other work
describe=()
if [ -n "$HOLDOUT" ]; then           # the val split stays unseen: fit on the train split alone
  seg+=(--set 'data.val_split=""')
  describe=(--split train)
  UNSEEN=$DATA
  unseen_split=(--split val)
else
  unseen_split=()
fi

if [ ! -f "$OUT/segmentation/model.pt" ]; then
  start=$(date +%s)
  landslide segment train -c "$CONFIG" --data "$DATA" "${seg[@]}" --folds "$FOLDS" \
      --landslide-free-share "$SHARE" -o "$OUT/segmentation" --resume
  echo "segmentation k-fold: $(( $(date +%s) - start )) s"
fi
[ -f "$OUT/descriptors.csv" ] || landslide fuse describe "$DATA" "${describe[@]}" -o "$OUT/descriptors.csv"
[ -f "$OUT/tabular/model.txt" ] || landslide tabular train --data "$OUT/descriptors.csv" --label landslide --id id \
    --set "gbm.random_state=$SEED" -o "$OUT/tabular"
landslide fuse train --image "$OUT/segmentation/oof_stats.csv" --tabular "$OUT/tabular/oof.csv" \
    --landslide-free-share "$SHARE" -o "$OUT/fusion" --overwrite
if [ -n "${UNSEEN:-}" ]; then
  landslide fuse score --fusion "$OUT/fusion" --run "$OUT/segmentation" --tabular "$OUT/tabular" \
      --data "$UNSEEN" "${unseen_split[@]}" -o "$OUT/unseen" --overwrite
fi
