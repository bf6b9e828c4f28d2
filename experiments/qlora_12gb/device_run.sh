#!/usr/bin/env bash
# Measure svend-train's QLoRA peak GPU memory on the rtx4070_12gb profile for random bases with the
# exact shapes of Qwen2.5-7B and Mistral-7B, next to the memory planner's figure for each run.
# Runs from the repository root on a CUDA machine with torch, transformers, peft and lightning installed;
# SITE may name a folder with the rest (bitsandbytes, hydra-core, omegaconf, datasets).
#   OUT=/tmp/q bash experiments/qlora_12gb/device_run.sh TOKENIZER_DIR
# OUT gets summary.txt (planner vs measured, one line per run) and logs.tgz (every log, state.db).
set -uo pipefail
TOK=${1:?tokenizer folder}
OUT=${OUT:-qlora_12gb_out}
WORK=$(mktemp -d)
mkdir -p "$OUT"
export PYTHONPATH="$PWD${SITE:+:$SITE}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
{
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, transformers, peft, bitsandbytes, lightning; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'bitsandbytes', bitsandbytes.__version__, 'lightning', lightning.__version__)"
} | tee "$OUT/summary.txt"

# Worst case for the loss: every position of every packed row carries a label (one long assistant turn
# per record, cut at max_seq_len), so the LM head sees micro_batch × seq_len tokens as the planner assumes.
python3 - "$WORK/long" <<'PY'
import json, random, sys
from pathlib import Path
out = Path(sys.argv[1]); out.mkdir()
rng = random.Random(0)
words = "the model calls a tool then checks each step of the proof before it answers with units".split()
for split, n in (("train", 48), ("val", 4)):
    with open(out / f"{split}.jsonl", "w") as f:
        for _ in range(n):
            text = " ".join(rng.choice(words) + str(rng.randrange(1000)) for _ in range(6000))
            f.write(json.dumps({"messages": [{"role": "user", "content": "Go."}, {"role": "assistant", "content": text}]}) + "\n")
PY
DATA="data.train_files=[$WORK/long/train.jsonl] data.val_files=[$WORK/long/val.jsonl] data.test_files=[]"

base() { python3 experiments/qlora_12gb/random_base.py --model "$1" --tokenizer "$TOK" --out "/tmp/$1" 2>&1 | grep -v "Writing model shards" | tee -a "$OUT/summary.txt"; }
run() {  # model, run name, then svend-train overrides
  local model=$1 name=$2; shift 2
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$WORK/smi_$name.csv" &
  local smi=$!
  python3 -m svend.train model=$model model.path=/tmp/$model hardware=rtx4070_12gb \
    hardware.accumulate_grad_batches=2 trainer.max_steps=4 trainer.val_check_interval=4 \
    trainer.limit_val_batches=2 test=false callbacks.throughput.window=4 $DATA \
    paths.root_dir=/tmp/svend_root paths.state_db="$WORK/state.db" hydra.run.dir=/tmp/svend_root/$name "$@" \
    > "$WORK/train_$name.log" 2>&1
  local rc=$?
  kill $smi
  { echo "== $name ($model $*): exit $rc"
    grep -E "^total|^budget|^logits|peak GPU memory|Error" "$WORK/train_$name.log" | tail -5
    echo "nvidia-smi peak $(sort -n "$WORK/smi_$name.csv" | tail -1) MiB (whole card: CUDA context, allocator cache)"
  } | tee -a "$OUT/summary.txt"
}
base qwen2_5_7b
run qwen2_5_7b qwen_2048                                      # the profile as shipped
run qwen2_5_7b qwen_3136 hardware.max_seq_len=3136            # the longest sequence the planner allows in 12 GiB
run qwen2_5_7b qwen_2048_nochunk hardware.loss_chunk_tokens=null hardware.memory_gb=80  # without the chunked loss
run qwen2_5_7b qwen_4096 hardware.max_seq_len=4096 hardware.memory_gb=80               # a point beyond the card
rm -rf /tmp/qwen2_5_7b
base mistral_7b
run mistral_7b mistral_7104 hardware.max_seq_len=7104         # the planner's longest for Mistral-7B
python3 -m svend.runs_cli list --db "$WORK/state.db" >> "$OUT/summary.txt" 2>&1
for i in 1 2 3 4 5; do python3 -m svend.runs_cli show $i --db "$WORK/state.db" > "$WORK/run$i.txt" 2>&1; done
grep -h "^run \|memory/\|tokens_per_s" "$WORK"/run*.txt >> "$OUT/summary.txt"
tar czf "$OUT/logs.tgz" -C "$WORK" .
