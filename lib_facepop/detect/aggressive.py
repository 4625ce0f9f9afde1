"""Aggressive detection: every face, any size, any roll.

1. Search: BlazeFace (short range, low score floor) over the views of a search plan
   (several scales, overlapping tiles, optional turns), every find mapped back to source
   coordinates.
2. Merge: one proposal per face across all views (NMS in source coordinates), so each face
   is confirmed once.
3. Confirm: every proposal is screened upright and upside down (two proposals per
   BlazeFace pass); each survivor is verified upright at the size BlazeFace is surest at
   and refined by the face landmarks (confirm.py). What BlazeFace or the landmarks turn
   down is dropped, and what is left is merged once more. A confidence setting below
   confirm.VERIFY_MIN_SCORE has no effect here: no face is kept that scores less upright.

Independent passes run on a few threads, each with its own graph copies (parallel.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np

from lib_facepop.detect.base import DetectionOptions
from lib_facepop.detect.blazeface import propose_candidates
from lib_facepop.detect.confirm import SCREEN_BATCH, VERIFY_MIN_SCORE, confirm, screen
from lib_facepop.detect.graph_check import check_mediapipe
from lib_facepop.detect.parallel import default_workers, map_with_copies
from lib_facepop.detect.search_plan import SearchLevel, SearchPlan, SearchSettings, plan_search
from lib_facepop.detect.selection import non_max_suppression
from lib_facepop.detect.views import View, face_to_source, resized, rotated, tile_of
from lib_facepop.faces import Face

log = logging.getLogger(__name__)

# Proposals scored below this are not worth confirming. At 0.2 the short-range model
# reports faces 18 px wide in its input at every roll (see graphs.py).
PROPOSAL_MIN_SCORE = 0.2
# A face this many times the smallest face in view is also seen one level coarser, half
# as wide, where weak proposals are kept; in a tile it must score this much to be proposed.
LARGE_IN_VIEW = 2.5
LARGE_MIN_SCORE = 0.5
# A view whose pixels vary less than this (standard deviation, 0-255) holds no face.
FLAT_VIEW_STD = 2.0


class AggressiveDetector:
    """Finds small, tilted and upside-down faces; see the module docstring."""

    name = "aggressive"

    def __init__(self, search: SearchSettings | None = None,
                 proposal_min_score: float = PROPOSAL_MIN_SCORE,
                 workers: int | None = None) -> None:
        self.search = search or SearchSettings()
        self.proposal_min_score = proposal_min_score
        self.workers = workers or default_workers()

    def detect(self, image: np.ndarray, options: DetectionOptions) -> list[Face]:
        check_mediapipe()
        height, width = image.shape[:2]
        plan = plan_search(width, height, options.min_face_size, self.search)
        proposals = self.propose(image, plan)
        faces = self.confirm(image, proposals, options)
        log.debug("aggressive detection: %d views, %d proposals, %d faces (smallest face "
                  "searched %.0f px)", plan.view_count, len(proposals), len(faces),
                  plan.smallest_face)
        return faces

    def propose(self, image: np.ndarray, plan: SearchPlan) -> list[Face]:
        """Proposals from every view of the plan, merged: one per face, strongest first."""
        views = [(level, view) for level, view in views_of(image, plan)
                 if float(view.pixels.std()) >= FLAT_VIEW_STD]
        large = LARGE_IN_VIEW * self.search.smallest_face_in_view

        def search(copy: int, level_and_view: tuple[SearchLevel, View]) -> list[Face]:
            level, view = level_and_view
            return [face_to_source(candidate, view.to_source) for candidate in
                    propose_candidates(view.pixels, self.proposal_min_score, copy=copy)
                    if level.whole_image or candidate.size < large
                    or candidate.score >= LARGE_MIN_SCORE]

        found = map_with_copies(search, views, self.workers)
        return non_max_suppression([face for faces in found for face in faces])

    def confirm(self, image: np.ndarray, proposals: list[Face],
                options: DetectionOptions) -> list[Face]:
        """The proposals that screening, verification and the landmarks confirm, each face
        once."""
        batches = [proposals[i:i + SCREEN_BATCH]
                   for i in range(0, len(proposals), SCREEN_BATCH)]
        screened = map_with_copies(lambda copy, batch: screen(image, batch, copy=copy),
                                   batches, self.workers)
        # No merging before confirmation: a stronger wrong detection must not push out a
        # weaker right one. Duplicates are merged once confirmed.
        detections = [face for faces in screened for face in faces]
        min_score = max(options.confidence, VERIFY_MIN_SCORE)
        confirmed = map_with_copies(
            lambda copy, detection: confirm(image, detection, min_score, copy),
            detections, self.workers)
        return non_max_suppression([face for face in confirmed if face is not None])


def views_of(image: np.ndarray, plan: SearchPlan) -> Iterator[tuple[SearchLevel, View]]:
    """The plan's views with their level, coarse to fine. Each layer is shrunk from the
    finest one, so a huge image is resampled in full only once."""
    finest_level = max(plan.levels, key=lambda level: level.scale)
    finest = resized(image, finest_level.resized_size)
    for level in plan.levels:
        layer = resized(finest.pixels, level.resized_size)
        layer = View(layer.pixels, layer.to_source.then(finest.to_source), layer.label)
        turned = rotated(layer.pixels, level.turn)
        turned = View(turned.pixels, turned.to_source.then(layer.to_source),
                      f"scale {level.scale:.3g} {turned.label}")
        for rect in level.tiles:
            yield level, tile_of(turned, rect)
