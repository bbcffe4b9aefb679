"""pygame drawing of one episode of the physical-deception world."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

from envs.deception.core import BLUE_INDEX, RED_INDEX, DeceptionCore

COLOURS = {
    "background": (250, 250, 250),
    "wall": (60, 60, 60),
    "goal": (40, 170, 70),
    "fake": (150, 150, 150),
    "red": (215, 50, 50),
    "blue": (40, 90, 220),
    "trapped": (120, 20, 20),
    "text": (20, 20, 20),
}
AGENT_SIZE = 0.05
LANDMARK_SIZE = 0.04


class Renderer:
    """Draws episode ``index`` of a core to a pygame surface, a window (``human``) or an array.

    :param size: side of the square image in pixels.
    """

    def __init__(self, render_mode: str, size: int = 512, fps: int = 10) -> None:
        if render_mode not in ("human", "rgb_array"):
            raise ValueError(f"render_mode must be one of ['human', 'rgb_array'] or None, got {render_mode!r}")
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        if render_mode == "rgb_array":
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        import pygame  # deferred: importing the env must not need a display

        self._pygame = pygame
        self.render_mode = render_mode
        self.size = size
        self.fps = fps
        pygame.font.init()  # not pygame.init(): no audio device is needed
        self.surface = pygame.Surface((size, size))
        self.window: Any = None
        self.clock: Any = None
        self.font = pygame.font.Font(None, max(14, size // 28))

    def _px(self, xy: NDArray[np.float64]) -> tuple[int, int]:
        # World [-1, 1]^2 (y up) to pixels (y down).
        half = self.size / 2
        return int(half + xy[0] * half), int(half - xy[1] * half)

    def _len(self, length: float) -> int:
        return max(1, int(length * self.size / 2))

    def draw(self, core: DeceptionCore, index: int = 0) -> Any:
        """Draw episode ``index`` of ``core`` and return the surface."""
        pg, surf, cfg = self._pygame, self.surface, core.config
        surf.fill(COLOURS["background"])
        pg.draw.rect(surf, COLOURS["wall"], surf.get_rect(), width=2)
        trapped = bool(core.trapped[index])
        for k, landmark in enumerate(core.landmarks[index]):
            is_goal = k == core.goal_index[index]
            colour = COLOURS["goal"] if is_goal else COLOURS["fake"]
            pg.draw.circle(surf, colour, self._px(landmark), self._len(LANDMARK_SIZE))
            radius = cfg.goal_radius if is_goal else cfg.trap_radius
            pg.draw.circle(surf, colour, self._px(landmark), self._len(radius), width=1)
            label = self.font.render("goal" if is_goal else "fake", True, colour)
            surf.blit(label, np.add(self._px(landmark), (8, 8)))
        absent = bool(core.red_absent[index])
        agents = ((RED_INDEX, "red", cfg.red_radius),) * (not absent) + ((BLUE_INDEX, "blue", cfg.blue_radius),)
        for agent, colour_name, radius in agents:
            centre = self._px(core.pos[index, agent])
            colour = COLOURS["trapped"] if agent == RED_INDEX and trapped else COLOURS[colour_name]
            pg.draw.circle(surf, colour, centre, self._len(radius), width=1)
            pg.draw.circle(surf, colour, centre, self._len(AGENT_SIZE))
        if trapped:
            red = self._px(core.pos[index, RED_INDEX])
            arm = self._len(AGENT_SIZE)
            for dx in (-arm, arm):
                pg.draw.line(surf, (255, 255, 255), (red[0] - dx, red[1] - arm), (red[0] + dx, red[1] + arm), 3)
        status = f"step {int(core.t[index])}/{cfg.max_cycles}" + ("   red TRAPPED" if trapped else "")
        status += "   red absent" if absent else ""
        surf.blit(self.font.render(status, True, COLOURS["text"]), (8, 8))
        return surf

    def render(self, core: DeceptionCore, index: int = 0) -> NDArray[np.uint8] | None:
        """Draw, then show in the window (``human``, returns ``None``) or return ``(H, W, 3)`` uint8."""
        pg = self._pygame
        surf = self.draw(core, index)
        if self.render_mode == "rgb_array":
            return np.ascontiguousarray(np.transpose(pg.surfarray.array3d(surf), (1, 0, 2)))
        if self.window is None:
            pg.display.init()
            pg.display.set_caption("SOO-RL physical deception")
            self.window = pg.display.set_mode((self.size, self.size))
            self.clock = pg.time.Clock()
        pg.event.pump()
        self.window.blit(surf, (0, 0))
        pg.display.flip()
        self.clock.tick(self.fps)
        return None

    def close(self) -> None:
        if self.window is not None:
            self._pygame.display.quit()
            self.window = None
