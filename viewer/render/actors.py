"""A scene layer as a VTK actor: what the window view (`vtk_view`) and the offscreen renderer
(`offscreen`) both draw, one way. No Qt."""

from __future__ import annotations

from typing import Any

from viewer.model.scene import Layer, MeshData

BACKGROUND = ("#1f2327", "#6b7f93")   # bottom, top: a dusk sky keeps grey roofs readable
MESH_COLOUR = "#d8d2c4"               # a mesh that brings no colours of its own


def polydata(mesh: MeshData) -> Any:
    """A VTK view of the mesh arrays (shallow: one copy of the geometry serves every view)."""
    import pyvista as pv

    if isinstance(mesh.native, pv.PolyData):
        pd = mesh.native.copy(deep=False)
        pd.clear_data()
        return pd
    return pv.PolyData.from_regular_faces(mesh.vertices, mesh.faces)


def actor_key(layer: Layer) -> str:
    """Identity of a layer's actor: the mesh, and its colours when they are overridden."""
    return f"{layer.key}#{layer.colors_key}" if layer.colors_key else layer.key


def keep_textures(textures: dict[int, Any], meshes: Any) -> None:
    """Forget the textures of meshes no actor shows any more: they hold the image (12 MB for a
    2048² one) after the mesh cache let the mesh go, and a new mesh may reuse the id."""
    live = {id(mesh) for mesh in meshes}
    for key in [k for k in textures if k not in live]:
        del textures[key]


def add_layer(plotter: Any, key: str, layer: Layer, textures: dict[int, Any]) -> Any:
    """Add `layer` to a PyVista plotter as actor `key`: the heatmap's or the mesh's colours,
    or its texture (one `pv.Texture` per mesh, kept in `textures`), or a plain colour."""
    import pyvista as pv

    mesh = layer.mesh
    pd = polydata(mesh)
    kw: dict[str, Any] = dict(name=key, reset_camera=False, show_scalar_bar=False,
                              render=False, ambient=0.3, diffuse=0.75, specular=0.0)
    if layer.colors is not None:
        pd.point_data["rgb"] = layer.colors
        return plotter.add_mesh(pd, scalars="rgb", rgb=True, **kw)
    if mesh.texture is not None and mesh.uv is not None:
        pd.active_texture_coordinates = mesh.uv
        tex = textures.get(id(mesh))
        if tex is None:
            if mesh.native_texture is None:
                tex = pv.Texture(mesh.texture)
            else:  # the loader's image, shared: each view's texture holds its own GL object
                tex = pv.Texture()
                tex.SetInputData(mesh.native_texture)
            textures[id(mesh)] = tex
        return plotter.add_mesh(pd, texture=tex, **kw)
    if mesh.colors is not None:
        pd.point_data["rgb"] = mesh.colors
        return plotter.add_mesh(pd, scalars="rgb", rgb=True, **kw)
    return plotter.add_mesh(pd, color=MESH_COLOUR, **kw)
