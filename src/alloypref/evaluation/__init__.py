"""Evaluation: composition metrics (Table 1), DPO-vs-SFT comparisons (Fig. 2-4, Tables 2-3),
the per-token KL analysis (Fig. 11), figures and the summary."""
