"""How often the ``offline`` judge agrees with people on sources it was never trained on.

Runs the leave-one-source-out measurement of ``scripts/train_offline_judge.py``: each of the
four training sources (GPTFuzz, JAILJUDGE, Do-Not-Answer, XSTest completions) is judged by a
fit on the other three and the hand-written rows; the three measure-only sources
(BeaverTails, PKU-SafeRLHF, XSTest-Response) by the fit on all training rows, which is the
shipped judge. The ``rules`` judge is measured on the same rows beside it. Also judges the
trace set written for measuring (``thinksafe-traces``) with the shipped weights.

    python bench/judge_sources.py                 # every row (about 5 minutes on two cores)
    python bench/judge_sources.py --limit 200     # 200 rows per source, a quick look
    python bench/judge_sources.py --json out.json

Needs the shared data folder (``--data DIR``, default ``<repo>/../shared/data``) and scipy.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from train_offline_judge import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--evaluate", *sys.argv[1:]]))
