"""Properties that hold for any input: translation invariance, antisymmetry under swapping
the epochs, agreement with brute force, histogram bookkeeping."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from processing.change import DoDParams, M3C2Params, c2c, dod, histogram, m3c2

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def surface(seed: int, n: int, bumps: float) -> np.ndarray:
    """A noisy, bumpy 10 x 10 m patch (a generic terrain, not aligned with anything)."""
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2)) * 10.0
    z = bumps * np.sin(xy[:, 0] * 0.9 + seed) * np.cos(xy[:, 1] * 0.7) + rng.normal(0, 0.02, n)
    return np.column_stack([xy, z])


scene = st.tuples(st.integers(0, 10_000), st.integers(300, 1200), st.floats(0.0, 1.5))
offsets = st.tuples(*[st.floats(-1e5, 1e5, allow_nan=False)] * 3)
params = st.builds(M3C2Params, normal_radius=st.floats(0.6, 2.0),
                   cylinder_radius=st.floats(0.3, 1.0), max_depth=st.floats(0.2, 3.0),
                   registration_error=st.floats(0.0, 0.05))


def same(a: np.ndarray, b: np.ndarray, atol: float) -> None:
    """Equal within ``atol`` with NaN in the same places."""
    assert (np.isnan(a) == np.isnan(b)).all()
    ok = ~np.isnan(a)
    np.testing.assert_allclose(a[ok], b[ok], atol=atol, rtol=0)


@SETTINGS
@given(s1=scene, s2=scene, shift=offsets, p=params)
def test_translating_both_epochs_changes_nothing(s1, s2, shift, p) -> None:
    """Results depend only on relative positions: both epochs (and the core points) moved
    by up to 100 km give the same distances within 1e-6 m (the float32 trees work in a frame
    centred on the data)."""
    a = surface(s1[0], s1[1], s1[2])
    b = surface(s2[0], s2[1], s2[2]) + [0.0, 0.0, 0.1]
    t = np.asarray(shift)
    cores = a[::7]
    r0 = m3c2(a, b, p, cores=cores)
    r1 = m3c2(a + t, b + t, p, cores=cores + t)
    same(r0.distance, r1.distance, 1e-6)
    same(r0.lod, r1.lod, 1e-6)
    np.testing.assert_array_equal(r0.n1, r1.n1)
    np.testing.assert_array_equal(r0.n2, r1.n2)
    same(c2c(b, a).distance, c2c(b + t, a + t).distance, 1e-6)


@SETTINGS
@given(s1=scene, s2=scene, p=params)
def test_swapping_epochs_flips_the_sign_for_the_same_normals(s1, s2, p) -> None:
    """Provable property: for fixed core points and fixed normals the cylinders of both epochs
    are the same point sets, so swapping the epochs swaps (n1, std1) with (n2, std2), keeps
    the LoD and negates the distance.  (With normals estimated from the reference epoch, as
    by default, swapping also changes which epoch defines the normals, so the distances
    differ by how much the two epochs' local planes differ.)"""
    a = surface(s1[0], s1[1], s1[2])
    b = surface(s2[0], s2[1], s2[2])
    cores = a[::5]
    fwd = m3c2(a, b, p, cores=cores)
    back = m3c2(b, a, p, cores=cores, normals=fwd.normals)
    same(back.distance, -fwd.distance, 1e-9)
    same(back.lod, fwd.lod, 1e-9)
    np.testing.assert_array_equal(back.n1, fwd.n2)
    np.testing.assert_array_equal(back.n2, fwd.n1)
    same(back.std1, fwd.std2, 1e-9)
    np.testing.assert_array_equal(back.significant, fwd.significant)


@SETTINGS
@given(s1=scene, dz=st.floats(-3.0, 3.0))
def test_vertical_shift_is_measured_exactly(s1, dz) -> None:
    """Shifting an epoch by dz: with 'up' normals on a flat patch M3C2 measures dz (up to the
    normal's tilt), and DoD finds dz in every cell and net volume dz x compared area."""
    rng = np.random.default_rng(s1[0])
    a = np.column_stack([rng.random((s1[1], 2)) * 10.0, np.zeros(s1[1])])
    b = a + [0.0, 0.0, dz]
    res = m3c2(a, b, M3C2Params(1.0, 0.5, 3.5), cores=a[::9])
    ok = np.isfinite(res.distance)
    np.testing.assert_allclose(res.distance[ok], dz, atol=1e-9)
    d = dod(a, b, DoDParams(cell_size=1.0, statistic="mean"))
    assert abs(d.volume_net - dz * d.cells_compared) < 1e-9 * max(1.0, d.cells_compared)


@SETTINGS
@given(s1=scene, s2=scene)
def test_c2c_equals_exact_nearest_distance(s1, s2) -> None:
    a = surface(s1[0], s1[1], s1[2])
    b = surface(s2[0], s2[1], s2[2])
    res = c2c(b, a, split=True)
    exact, _ = cKDTree(a).query(b)  # float64 tree: exact
    assert np.all(res.distance >= exact - 1e-12)
    assert np.max(res.distance - exact) < 1e-5  # a float32 near-tie at most
    np.testing.assert_allclose(np.hypot(res.horizontal, res.vertical), res.distance, atol=1e-12)


@SETTINGS
@given(st.lists(st.one_of(st.floats(-50, 50), st.just(float("nan"))), max_size=200),
       st.integers(1, 60))
def test_histogram_accounts_for_every_value(values, bins) -> None:
    v = np.asarray(values, dtype=np.float64)
    h = histogram(v, bins=bins)
    assert sum(h["counts"]) + h["below"] + h["above"] + h["missing"] == v.size
    edges = np.asarray(h["edges"])
    np.testing.assert_allclose(edges, -edges[::-1], atol=1e-12)
