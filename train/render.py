"""Watch a trained blue play, in a pygame window or written to a GIF/MP4.

python train/render.py runs/default/checkpoints/soo_seed0.zip                 # window
python train/render.py runs/default/checkpoints/soo_seed0.zip --out soo.gif   # file
"""

from soo_rl.cli.render import main

if __name__ == "__main__":
    main()
