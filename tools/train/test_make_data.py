import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import make_data  # noqa: E402


def test_held_out_pictures_never_reach_training():
    names = ["plasma:Autumn", "plasma:BytheWater", "skimage:coffee", "skimage:brick", "gnome:wood-d"]
    train, held = make_data.split_sources(names)
    assert set(held) == {"plasma:BytheWater", "skimage:coffee"}
    assert not set(train) & make_data.HELD_OUT
    assert sorted(train + held) == sorted(names)


def test_textures_are_deterministic_and_varied():
    a = [(n, np.asarray(im)) for n, im in make_data.textures(4, seed=5)]
    b = [(n, np.asarray(im)) for n, im in make_data.textures(4, seed=5)]
    assert [n for n, _ in a] == [n for n, _ in b]
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(a, b))
    for _, img in a:
        assert img.shape == (640, 640, 3) and img.dtype == np.uint8
        assert img.std() > 10  # not flat
    c = [np.asarray(im) for _, im in make_data.textures(4, seed=6)]
    assert not np.array_equal(a[0][1], c[0])


def test_prepared_crops_fit_the_simulation():
    from PIL import Image
    rng = np.random.default_rng(1)
    im = Image.fromarray((rng.random((1200, 1800, 3)) * 255).astype(np.uint8))
    crops = list(make_data.prepared(rng, im, 3))
    assert len(crops) == 3
    for c in crops:
        assert c.size[0] > make_data.WIDTH and c.size[1] > make_data.HEIGHT
        assert max(c.size) <= 900
