#!/usr/bin/env bash
# One prepared run of benchmarks/gpu_throughput.py on one CUDA GPU (8B Llama shape, random weights,
# bf16, the paper's LoRA). Needs torch, transformers and peft only; run from the repository root:
#   OUT=some/folder bash benchmarks/gpu_run.sh
# Writes $OUT/env.txt, $OUT/log.txt and $OUT/gpu_throughput_8B.json (rewritten after every figure);
# the benchmark is stopped after 390 s so the whole script ends within 7 minutes.
set -o pipefail
OUT=${OUT:-benchmark-out}
mkdir -p "$OUT"
export PYTHONPATH=src PYTHONUNBUFFERED=1 PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__)"
} 2>&1 | tee "$OUT/env.txt"
# Liger kernels (optional): a wheel in .whl/ is installed for this run only (the machine has no index)
if ls .whl/liger_kernel-*.whl >/dev/null 2>&1; then
  python -m pip install -q --no-index --no-deps --no-compile --target /tmp/alloypref-site .whl/liger_kernel-*.whl &&
    export PYTHONPATH=src:/tmp/alloypref-site
fi
timeout 390 python benchmarks/gpu_throughput.py --size 8B --steps 10 --warmup 2 \
  --plain-batch 64 --project-batches 256,512 --dpo-pairs 16,128 \
  --generate-batch 256 --sample-batches 4096,8192 --liger \
  --json "$OUT/gpu_throughput_8B.json" 2>&1 | tee "$OUT/log.txt"
status=$?
date -u | tee -a "$OUT/env.txt"
exit $status
