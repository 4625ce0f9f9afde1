"""The aggressive search plan: every face size covered, bounded work."""

from __future__ import annotations

import math

import pytest

from lib_facepop.detect.search_plan import SearchSettings, plan_search


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 810), (512, 512), (300, 900)])
def test_every_face_size_from_the_smallest_up_has_a_level(size):
    width, height = size
    search = SearchSettings()
    plan = plan_search(width, height, 48, search)
    d = search.smallest_face_in_view
    # Level k finds faces whose size in its views is between d and 2d wholly inside a
    # tile; the whole-image level finds them from d up to most of the view.
    bands = [(d / level.scale, (2 * d if not level.whole_image else 0.7 * search.view_size)
              / level.scale) for level in plan.levels]
    face = plan.smallest_face
    while face < 0.7 * max(width, height):
        assert any(low <= face <= high * 1.0001 for low, high in bands), face
        face *= 1.1


def test_levels_go_from_the_whole_image_down_to_the_smallest_face():
    plan = plan_search(1080, 810, 48)
    assert plan.levels[0].whole_image
    assert plan.levels[0].tiles == ((0, 0, *plan.levels[0].layer_size),)
    scales = [level.scale for level in plan.levels]
    assert scales == sorted(scales)
    assert math.isclose(plan.smallest_face, 48)
    finest = plan.levels[-1]
    assert finest.scale == pytest.approx(SearchSettings().smallest_face_in_view / 48)


def test_big_images_are_bounded_by_growing_the_smallest_face():
    search = SearchSettings(max_views=24)
    plan = plan_search(6000, 4000, 24, search)
    assert plan.view_count <= 24
    assert plan.smallest_face > 24


def test_the_minimum_face_size_setting_makes_the_search_coarser():
    fine = plan_search(1920, 1080, 24, SearchSettings(max_views=1000))
    coarse = plan_search(1920, 1080, 96, SearchSettings(max_views=1000))
    assert coarse.view_count < fine.view_count
    assert coarse.smallest_face == 96


def test_turns_repeat_every_level():
    plan = plan_search(800, 600, 64, SearchSettings(turns=(0.0, 90.0)))
    assert [level.turn for level in plan.levels[:2]] == [0.0, 90.0]
    turned = plan.levels[1]
    assert turned.layer_size == (turned.resized_size[1], turned.resized_size[0])
