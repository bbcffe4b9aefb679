"""Run the whole SOO experiment: baselines, SOO fine-tuning, controls, evaluation and report.

python train/ppo_soo.py                      # the default experiment (duration: see --help)
python train/ppo_soo.py --quick --run-dir runs/smoke
python train/ppo_soo.py --help               # every setting
"""

from soo_rl.cli.experiment import main

if __name__ == "__main__":
    main()
