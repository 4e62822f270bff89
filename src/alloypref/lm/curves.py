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


def plot_curves(curves: pd.DataFrame, metrics: list[str], path: Path, title: str) -> None:
    """One panel per metric, train and eval lines against step."""
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
        for split, style in (("train", "-"), ("eval", "o--")):
            data = curves[(curves["metric"] == metric) & (curves["split"] == split)]
            if not data.empty:
                ax.plot(data["step"], data["value"], style, label=split)
        ax.set_xlabel("step")
        ax.set_ylabel(metric)
        ax.legend()
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
