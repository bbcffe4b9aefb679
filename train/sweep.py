"""Sweep the experiment over a grid of settings and seeds, on all local cores or on a Ray cluster.

python train/sweep.py --grid finetune.soo_coef=0.3,1,3 --base.seeds 0 1 2
python train/sweep.py --recipe detection     # the paper-scale detection study
python train/sweep.py --help                 # every setting
"""

from soo_rl.cli.sweep import main

if __name__ == "__main__":
    main()
