"""Training curves: the trainer's log history as a tidy table (Parquet) and a figure (PNG)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

CURVES_SCHEMA = pa.schema(
    [
        ("step", pa.int64()),
        ("epoch", pa.float64()),
        ("split", pa.string()),  # "train" or "eval"
        ("metric", pa.string()),  # e.g. "loss", "rewards/margins", "rewards/accuracies"
        ("value", pa.float64()),
    ]
)


def curves_from_log_history(log_history: list[dict]) -> pd.DataFrame:
    """One row per logged (step, metric): ``eval_`` prefixes become ``split = eval``."""
    rows = []
    skip = {"step", "epoch", "total_flos", "train_runtime", "train_samples_per_second", "train_steps_per_second"}
    for entry in log_history:
        for key, value in entry.items():
            if key in skip or not isinstance(value, (int, float)):
                continue
            split, metric = ("eval", key[5:]) if key.startswith("eval_") else ("train", key)
            rows.append(
                {
                    "step": int(entry.get("step", 0)),
                    "epoch": float(entry.get("epoch", 0.0)),
                    "split": split,
                    "metric": metric,
                    "value": float(value),
                }
            )
    return pd.DataFrame(rows, columns=CURVES_SCHEMA.names)


#: A reader's title (with its unit) of each logged metric a figure draws; the logged name stays the
#: panel's y label.
CURVE_LABELS = {
    "loss": "training loss",
    "rewards/margins": "implicit reward margin, chosen − rejected",
    "rewards/accuracies": "pairs whose chosen completion wins (share)",
    "reward": "shaped reward (weighted sum of components)",
    "rewards/bcc_b2_exist/mean": "rule 1: BCC + B2 coexist (mean, 0-1)",
    "rewards/bcc_forms_first/mean": "rule 2: BCC forms first (mean, 0-1)",
    "rewards/b2_room_temp/mean": "rule 3: B2 at the lowest T (mean, 0-1)",
    "rewards/others_within_10/mean": "rule 4: other solids <= 10 % (mean, 0-1)",
    "rewards/mismatch/mean": "lattice-mismatch component (mean, 0-1)",
    "calphad/all_rules": "scored batch: all 4 rules (share)",
    "calphad/unique_masters": "scored batch: distinct compositions (share)",
    "kl": "KL from the SFT model (nats / token)",
    "completions/mean_length": "completion length (tokens)",
}


def plot_curves(curves: pd.DataFrame, metrics: list[str], path: Path, title: str) -> None:
    """One panel per metric in a grid of up to four a row, titled by :data:`CURVE_LABELS`: the train
    line with markers (a short run logs few steps) and the eval points against the optimizer step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = [m for m in metrics if (curves["metric"] == m).any()]
    columns = min(max(1, len(present)), 4)  # up to four panels a row
    rows = -(-max(1, len(present)) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.2 * rows), squeeze=False)
    for ax in axes.flat[len(present) :]:
        ax.set_visible(len(present) == 0 and ax is axes[0][0])
    for ax, metric in zip(axes.flat, present):
        for split, style in (("train", "o-"), ("eval", "s--")):
            data = curves[(curves["metric"] == metric) & (curves["split"] == split)]
            if not data.empty:
                ax.plot(data["step"], data["value"], style, markersize=4, label=split)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(metric, fontsize=7)
        ax.set_title(CURVE_LABELS.get(metric, metric), fontsize=9)
        ax.legend(fontsize=7)
    if not present:
        axes[0][0].text(0.5, 0.5, "no logged values", ha="center")
    fig.suptitle(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def logging_callback(name: str):
    """A ``TrainerCallback`` that sends every logged dict to the Python logger (and so to the rule's
    log), and ``step k/N done, ETA`` lines at a steady interval (:class:`alloypref.progress.ProgressLog`)."""
    import logging

    from transformers import TrainerCallback

    from alloypref.progress import ProgressLog

    logger = logging.getLogger(f"alloypref.lm.{name}")

    class LogToLogger(TrainerCallback):
        progress: ProgressLog | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.progress = ProgressLog(state.max_steps, f"{name} training", logger, unit="steps")

        def on_step_end(self, args, state, control, **kwargs):
            if self.progress is not None:
                self.progress(state.global_step - self.progress.done)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs:
                logger.info(
                    "step %d: %s",
                    state.global_step,
                    {k: round(v, 5) if isinstance(v, float) else v for k, v in logs.items()},
                )

    return LogToLogger()
