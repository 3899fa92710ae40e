"""The VR renderer on a real OpenGL 3.3 core context (EGL; llvmpipe on a machine without a
GPU): pixels of real frames — sRGB round trip, heatmap colours where the change is, texture
orientation, markers, fade — and a constant number of GL calls per frame."""

from __future__ import annotations

import math

import numpy as np
import pytest
import vr_site
from vr_site import A, B

from processing.gltf import read_glb, write_glb
from processing.types import Mesh
from viewer.model.state import Text
from viewer.vr import renderer as renderer_module
from viewer.vr.interaction import InputFrame, Interaction, Mode, Pose, WalkSurface
from viewer.vr.renderer import SKY, EyeView, FrameView, OffscreenTarget, Renderer
from viewer.vr.scene_data import ChangeField, EpochScene, VRScene, load_scene
from viewer.vr.xform import pose_matrix, projection_from_fov, rigid_inverse

SIZE = 240
FOV = (-0.75, 0.75, 0.75, -0.75)
PITCH = -0.5                                   # looking down at the table


@pytest.fixture(scope="module")
def gl():
    from viewer.vr.context import EGLContext, GLContextError

    try:
        ctx = EGLContext()
    except (GLContextError, OSError) as exc:
        pytest.skip(f"no OpenGL 3.3 core context through EGL here ({exc}); install "
                    "libegl1 libegl-mesa0 libgl1-mesa-dri")
    yield ctx
    ctx.destroy()


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> VRScene:
    return load_scene(vr_site.build(tmp_path_factory.mktemp("vr")))


def eye() -> EyeView:
    q = (math.sin(PITCH / 2), 0.0, 0.0, math.cos(PITCH / 2))
    return EyeView(pose_matrix((0.0, 1.6, 0.0), q), FOV)


def miniature(scene: VRScene) -> np.ndarray:
    inter = Interaction([WalkSurface(e.mesh.vertices, e.mesh.faces) for e in scene.epochs],
                        scene.bounds, [e.id for e in scene.epochs], mode=Mode.MINIATURE)
    inter.update(InputFrame(0.0, Pose((0.0, 1.6, 0.0))))
    return inter.stage_from_site()


def project(frame: FrameView, point) -> tuple[int, int]:
    """Row and column of a site point in the image."""
    e = eye()
    clip = projection_from_fov(*e.fov, *frame.near_far) @ rigid_inverse(e.pose) @ \
        frame.stage_from_site @ np.r_[point, 1.0]
    x, y = clip[:2] / clip[3]
    return int((1 - y) / 2 * SIZE), int((x + 1) / 2 * SIZE)


def draw(renderer: Renderer, frame: FrameView) -> np.ndarray:
    target = OffscreenTarget(SIZE, SIZE)
    try:
        renderer.draw(target.fbo, SIZE, SIZE, eye(), frame)
        return target.read()[..., :3].astype(int)
    finally:
        target.destroy()


def reddish(img: np.ndarray) -> np.ndarray:
    """The heatmap's red side (not the orange markers: those have almost no blue)."""
    return (img[..., 0] > img[..., 1] + 60) & (img[..., 0] > img[..., 2] + 60) & \
        (img[..., 2] > 50)


def bluish(img: np.ndarray) -> np.ndarray:
    return (img[..., 2] > img[..., 0] + 80) & (img[..., 2] > img[..., 1] + 30)


def test_colours_survive_the_srgb_round_trip(gl, scene):
    r = Renderer(scene, lighting=False)
    try:
        frame = FrameView(miniature(scene), epoch=1, miniature=True)
        img = draw(r, frame)
    finally:
        r.destroy()
    np.testing.assert_allclose(img[2, 2], SKY, atol=1)                 # the clear colour
    row, col = project(frame, (0.0, -30.0, 0.0))                       # open ground of B
    np.testing.assert_allclose(img[row, col], vr_site.TINT[B], atol=1)


def test_a_coarser_level_draws_the_same_site(gl, scene):
    r = Renderer(scene, lighting=False)
    try:
        frame = FrameView(miniature(scene), epoch=1, miniature=True)
        fine, coarse = draw(r, frame), draw(r, FrameView(frame.stage_from_site, epoch=1,
                                                          level=1, miniature=True))
    finally:
        r.destroy()
    row, col = project(frame, (0.0, -30.0, 0.0))                       # open ground of B
    np.testing.assert_allclose(coarse[row, col], vr_site.TINT[B], atol=1)
    same = (np.abs(fine - coarse).max(axis=-1) <= 2).mean()
    assert same > 0.97, f"only {same:.1%} of the pixels agree"         # the same place


def test_msaa_smooths_edges_and_resolves_into_the_target(gl, scene):
    from viewer.vr.renderer import MultisampleTarget

    r = Renderer(scene, lighting=False)
    ms = MultisampleTarget(SIZE, SIZE, 4)
    target = OffscreenTarget(SIZE, SIZE)
    try:
        frame = FrameView(miniature(scene), epoch=1, miniature=True)
        aliased = draw(r, frame)
        r.draw(ms.fbo, SIZE, SIZE, eye(), frame)
        ms.resolve(target.fbo)
        smooth = target.read()[..., :3].astype(int)
    finally:
        target.destroy()
        ms.destroy()
        r.destroy()
    assert ms.samples > 1
    assert (np.abs(smooth - aliased).max(axis=-1) <= 2).mean() > 0.9   # the same picture...
    colours = {tuple(c) for c in aliased.reshape(-1, 3)}
    mixed = {tuple(c) for c in smooth.reshape(-1, 3)} - colours       # ...with blended edges
    assert len(mixed) > 20, f"{len(mixed)} new colours: no anti-aliasing"


def test_heatmap_red_where_added_blue_where_removed(gl, scene):
    r = Renderer(scene, lighting=False)
    try:
        frame = FrameView(miniature(scene), epoch=1, heatmap=True, miniature=True)
        img = draw(r, frame)
        plain = draw(r, FrameView(frame.stage_from_site, epoch=1, miniature=True))
    finally:
        r.destroy()
    red, blue = reddish(img), bluish(img)
    assert red[project(frame, (20.0, 0.0, 10.0))]                      # the new building
    assert blue[project(frame, (-20.0, 0.0, 0.0))]                     # where the old stood
    rows, cols = np.nonzero(red)
    assert red.sum() > 200 and cols.min() > SIZE / 2                    # all in the right half
    rows, cols = np.nonzero(blue)
    assert blue.sum() > 200 and cols.max() < SIZE / 2                   # all in the left half
    np.testing.assert_allclose(img[project(frame, (0.0, -30.0, 0.0))], [247, 247, 247],
                               atol=2)                                  # no change: white
    np.testing.assert_allclose(img[project(frame, (0.0, 48.5, 0.0))], [90, 90, 90],
                               atol=2)                                  # no value: grey
    assert not reddish(plain).any()


def test_texture_is_the_right_way_round(gl, tmp_path):
    tex = np.zeros((64, 64, 3), np.uint8)
    tex[:32, :32] = (255, 0, 0)      # top left of the image: red
    tex[:32, 32:] = (0, 255, 0)      # top right: green
    tex[32:, :32] = (0, 0, 255)      # bottom left: blue
    tex[32:, 32:] = (255, 255, 255)
    v = np.array([[-10, 10, 0], [10, 10, 0], [-10, -10, 0], [10, -10, 0]], np.float32)
    uv = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)   # glTF: v down the image
    path = write_glb(Mesh(v, np.array([[0, 2, 3], [0, 3, 1]]), frame="site", uv=uv,
                          texture=tex), tmp_path / "quad.glb")
    mesh = read_glb(path)
    scene = VRScene("quad", Text("Quad", "Quad"), "", "", (0.0, 0.0, 0.0), None,
                    [EpochScene("2024-01-01", None, 0, mesh)], [])
    r = Renderer(scene, lighting=False)
    try:
        frame = FrameView(miniature(scene), miniature=True)
        img = draw(r, frame)
    finally:
        r.destroy()
    # seen from the south, north (the image's top) is at the far side, the top of the view
    for point, colour in (((-5, 5, 0), (255, 0, 0)), ((5, 5, 0), (0, 255, 0)),
                          ((-5, -5, 0), (0, 0, 255)), ((5, -5, 0), (255, 255, 255))):
        np.testing.assert_allclose(img[project(frame, point)], colour, atol=3)


def test_markers_only_in_their_epoch(gl, scene):
    r = Renderer(scene, lighting=False)
    try:
        m = miniature(scene)
        with_marker = draw(r, FrameView(m, epoch=1, miniature=True))
        without = draw(r, FrameView(m, epoch=0, miniature=True))
    finally:
        r.destroy()

    def orange(img):
        return (img[..., 0] > 220) & (img[..., 1] > 120) & (img[..., 1] < 200) & \
            (img[..., 2] < 80)
    assert orange(with_marker).sum() >= 4 and not orange(without).any()


def test_fade_to_black(gl, scene):
    r = Renderer(scene)
    try:
        img = draw(r, FrameView(miniature(scene), epoch=1, fade=1.0, miniature=True))
    finally:
        r.destroy()
    assert img.max() == 0


class _CountingGL:
    """The GL module, counting which functions a frame calls."""

    def __init__(self, gl):
        self._gl = gl
        self.calls: list[str] = []

    def __getattr__(self, name):
        value = getattr(self._gl, name)
        if callable(value) and name.startswith("gl"):
            def counted(*args, **kw):
                self.calls.append(name)
                return value(*args, **kw)
            return counted
        return value


def big_scene(n: int, markers) -> VRScene:
    meshes = []
    for e in (A, B):
        mesh = vr_site.grid(e, n)
        from viewer.vr.scene_data import vertex_normals
        mesh.normals = vertex_normals(mesh.vertices, mesh.faces)
        change = np.zeros(len(mesh.vertices), np.float32)
        meshes.append(EpochScene(e, None, 0, mesh, [ChangeField(A, e, "t", change)]))
    return VRScene("big", Text("x", "x"), "", "", (0.0, 0.0, 0.0), None, meshes, markers)


def test_gl_calls_per_frame_do_not_grow_with_the_mesh(gl, scene, monkeypatch):
    counts = []
    for sc in (scene, big_scene(301, scene.markers)):      # 20k and 180k triangles
        r = Renderer(sc)
        target = OffscreenTarget(64, 64)
        counter = _CountingGL(renderer_module.GL)
        monkeypatch.setattr(renderer_module, "GL", counter)
        frame = FrameView(miniature(sc), epoch=1, heatmap=True, miniature=True)
        for _ in range(3):
            r.draw(target.fbo, 64, 64, eye(), frame)
        monkeypatch.setattr(renderer_module, "GL", counter._gl)
        target.destroy()
        r.destroy()
        counts.append(counter.calls)
    assert counts[0] == counts[1]
    uploads = {"glBufferData", "glGenBuffers", "glTexImage2D", "glGenTextures",
               "glGenVertexArrays"}
    assert not uploads & set(counts[0])                     # data went up once, at the start
    assert counts[0].count("glDrawElements") == 3           # one draw call per eye


def test_without_the_multiview_extension_both_eyes_are_drawn_in_turn(gl, scene, monkeypatch):
    """The fallback, on a driver without GL_OVR_multiview2 (Mesa 22 on the host; the XR
    root's Mesa 25 has it: tests/test_vr_runtime.py compares the two paths there)."""
    from viewer.vr.gl import GL
    from viewer.vr.multiview import ENV, StereoModeError, gl_extensions, stereo_setup

    if "GL_OVR_multiview2" in gl_extensions():
        pytest.skip("this driver has GL_OVR_multiview2 (the runtime tests cover it)")
    monkeypatch.delenv(ENV, raising=False)
    mode, r, layered = stereo_setup(scene, "auto", [(64, 64), (64, 64)], 4,
                                    GL.GL_DEPTH_COMPONENT24)
    r.destroy()
    assert (mode, r.views, layered) == ("two-pass", 1, None)
    with pytest.raises(StereoModeError, match="lacks GL_OVR_multiview"):
        stereo_setup(scene, "multiview", [(64, 64), (64, 64)], 4, GL.GL_DEPTH_COMPONENT24)


def test_tiles_no_eye_sees_are_left_out_and_the_picture_stays(gl, scene):
    """Culling by tile on the test site (100 x 100 m, 2 triangles per m², tiles of about
    12.5 m): looking straight down from 6 m at (20, 20) with a ±0.75 rad view sees a square of
    about 11 m (the open ground north of the new hall): about 4 of the 64 tiles are drawn, at
    least every triangle in that square, and the picture is the one without culling. Looking
    at the sky draws none; the miniature draws all."""
    from viewer.vr.xform import SITE_TO_STAGE

    down = (math.sin(-math.pi / 4), 0.0, 0.0, math.cos(-math.pi / 4))
    eye_down = EyeView(pose_matrix((20.0, 6.0, -20.0), down), FOV)   # stage: site (20, 20, 6)
    eye_up = EyeView(pose_matrix((20.0, 6.0, -20.0), (-down[0], 0.0, 0.0, down[3])), FOV)
    frame = FrameView(SITE_TO_STAGE, epoch=1)
    culled, whole = Renderer(scene), Renderer(scene, cull=False)
    target = OffscreenTarget(SIZE, SIZE)
    try:
        images = []
        for r in (culled, whole):
            r.draw(target.fbo, SIZE, SIZE, eye_down, frame)
            images.append(target.read())
        drawn, total = culled.drawn_faces, whole.drawn_faces
        culled.draw(target.fbo, SIZE, SIZE, eye_up, frame)
        sky_faces = culled.drawn_faces
        culled.draw(target.fbo, SIZE, SIZE, eye(), FrameView(miniature(scene), epoch=1,
                                                            miniature=True))
        miniature_faces = culled.drawn_faces
    finally:
        target.destroy()
        culled.destroy()
        whole.destroy()
    mesh = scene.epochs[1].mesh
    centre = mesh.vertices[mesh.faces].mean(axis=1)
    half = 6.0 * math.tan(0.75)
    seen = (np.abs(centre[:, 0] - 20) < half) & (np.abs(centre[:, 1] - 20) < half)
    assert total == len(mesh.faces) == miniature_faces
    assert seen.sum() <= drawn <= 0.1 * total, (seen.sum(), drawn, total)
    assert sky_faces == 0
    np.testing.assert_array_equal(images[0], images[1])
    sky = np.abs(images[0][..., :3].astype(int) - SKY).max(axis=-1) <= 2
    assert not sky.any()                             # it did look at the ground
