"""Models for 3D printing: a closed solid on a base plate, at a map scale (1:500, 1:1000, …).

Scanned sites are open surfaces (ground without an underside, walls seen from one side), so
they cannot be printed as they are. The solid is built from the site's height field instead:
the highest surface over a regular grid (ray cast from above), walled in and closed by a flat
base plate. That is watertight by construction and reads like an architect's site model;
overhangs (a roof's eaves, a bridge's underside) become solid down to the ground.

Checks, in printed millimetres: the model must fit the printer (`max_size_mm`); every raised
feature must be at least `min_wall_mm` across (a grey-scale opening of the height field finds
the thinner ones); what cannot be printed is refused with what to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from viewer.export.files import atomic_file
from viewer.export.source import ExportError, ExportSource
from viewer.export.still import Progress, no_progress
from viewer.model.scene import MeshData

DEFAULT_SCALE = 1000
MAX_CELLS = 700 * 700             # grid cells: ~1 M triangles on top at most


@dataclass
class PrintModel:
    path: Path
    scale: int
    size_mm: tuple[float, float, float]      # printed width (x), depth (y), height (z)
    cell_mm: float
    base_mm: float
    thin_share: float                        # share of raised cells narrower than min_wall
    volume_mm3: float
    triangles: int

    def describe(self) -> str:
        w, d, h = self.size_mm
        return (f"1:{self.scale}: {w:.0f} × {d:.0f} × {h:.0f} mm (width × depth × height, "
                f"base plate {self.base_mm:.1f} mm), {self.volume_mm3 / 1000:.0f} cm³ of "
                f"material, grid {self.cell_mm:.2f} mm")


def parse_scale(text: str | int) -> int:
    """'1:500', '500' -> 500."""
    t = str(text).strip().replace(" ", "")
    if t.startswith("1:"):
        t = t[2:]
    try:
        n = int(float(t))
    except ValueError:
        raise ExportError(f"--scale {text!r}: give a map scale such as 1:500 or 1:1000") \
            from None
    if not 10 <= n <= 1_000_000:
        raise ExportError(f"--scale {text!r}: choose between 1:10 and 1:1000000")
    return n


def height_field(mesh: MeshData, cell: float, bounds: tuple[float, ...] | None = None,
                 oversample: int = 3) -> tuple[np.ndarray, tuple[float, float]]:
    """Surface z sampled by vertical rays `oversample` times finer than a grid of `cell`
    metres over the mesh's (or given) x/y bounds (shape (ny·k, nx·k)), NaN where nothing is
    hit; and the grid's lower-left corner. `cell_max` pools it to the cells (highest hit), so
    a wall thinner than a cell still shows in the solid, and the wall check, which runs on
    the fine samples, can refuse it instead of it falling between the rays."""
    import open3d as o3d

    x0, x1, y0, y1 = (bounds or mesh.bounds)[:4]
    nx, ny = max(2, int(np.ceil((x1 - x0) / cell))), max(2, int(np.ceil((y1 - y0) / cell)))
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(mesh.vertices.astype(np.float32)),
                        o3d.core.Tensor(mesh.faces.astype(np.uint32)))
    top = float(mesh.vertices[:, 2].max()) + 10.0
    k = max(1, int(oversample))
    sub = cell / k
    xs = x0 + (np.arange(nx * k) + 0.5) * sub
    ys = y0 + (np.arange(ny * k) + 0.5) * sub
    gx, gy = np.meshgrid(xs, ys)
    rays = np.zeros((gx.size, 6), np.float32)
    rays[:, 0], rays[:, 1], rays[:, 2] = gx.ravel(), gy.ravel(), top
    rays[:, 5] = -1.0
    hit = scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy()
    return np.where(np.isfinite(hit), top - hit, np.nan).reshape(ny * k, nx * k), (x0, y0)


def cell_max(fine: np.ndarray, k: int) -> np.ndarray:
    """The highest of each k×k block of samples (NaN where a block has none)."""
    ny, nx = fine.shape[0] // k, fine.shape[1] // k
    z = np.where(np.isnan(fine), -np.inf, fine).reshape(ny, k, nx, k).max(axis=(1, 3))
    return np.where(np.isfinite(z), z, np.nan)


def thin_features(z: np.ndarray, cells: int, tolerance: float) -> np.ndarray:
    """Cells of raised features narrower than `cells` grid cells: where a grey-scale opening
    (erosion then dilation with a square of that width) lowers the surface by more than
    `tolerance`."""
    from scipy import ndimage

    if cells <= 1:
        return np.zeros(z.shape, bool)
    opened = ndimage.grey_opening(z, size=(cells, cells), mode="nearest")
    return (z - opened) > tolerance


def solid_from_heights(z: np.ndarray, cell: float, base: float) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """A closed triangle mesh: the height field on top (one vertex per cell centre), four
    side walls down to z = 0 and a flat bottom; z must be > 0 everywhere (the base plate)."""
    ny, nx = z.shape
    gx, gy = np.meshgrid(np.arange(nx) * cell, np.arange(ny) * cell)
    top = np.stack([gx.ravel(), gy.ravel(), z.ravel()], 1)
    bottom = top.copy()
    bottom[:, 2] = 0.0
    vertices = np.vstack([top, bottom])
    n = nx * ny
    idx = np.arange(n).reshape(ny, nx)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    c, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    top_f = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])   # normals up
    bot_f = top_f[:, ::-1] + n                                                   # normals down
    # the rim, counter-clockwise seen from above, and a wall quad per rim edge
    rim = np.concatenate([idx[0, :], idx[1:, -1], idx[-1, -2::-1], idx[-2:0:-1, 0]])
    r0, r1 = rim, np.roll(rim, -1)
    walls = np.concatenate([np.stack([r0, r0 + n, r1 + n], 1), np.stack([r0, r1 + n, r1], 1)])
    faces = np.concatenate([top_f, bot_f, walls]).astype(np.int64)
    return vertices, faces


def build_print_model(mesh: MeshData, scale: int, min_wall_mm: float = 0.8,
                      base_mm: float = 3.0, max_size_mm: float = 250.0,
                      max_thin_share: float = 0.02):
    """(vertices in mm, faces, report fields) or ExportError saying what to change."""
    x0, x1, y0, y1, z0, z1 = mesh.bounds
    width, depth = (x1 - x0) * 1000 / scale, (y1 - y0) * 1000 / scale
    if max(width, depth) > max_size_mm:
        need = int(np.ceil(max(x1 - x0, y1 - y0) * 1000 / max_size_mm / 100) * 100)
        raise ExportError(
            f"at 1:{scale} the site prints {width:.0f} × {depth:.0f} mm, larger than the "
            f"printer's {max_size_mm:.0f} mm: choose --scale 1:{need} (or a larger number "
            f"after 1:), or a larger --max-size")
    if min(width, depth) < 10 * min_wall_mm:
        raise ExportError(
            f"at 1:{scale} the site prints only {width:.1f} × {depth:.1f} mm: too small to "
            f"hold any detail; choose a larger scale (a smaller number after 1:)")
    # grid: half the minimum wall (so walls of that width are sampled), within the budget
    cell_mm = max(min_wall_mm / 2, np.sqrt(width * depth / MAX_CELLS))
    cell = cell_mm * scale / 1000
    k = 3
    fine, _ = height_field(mesh, cell, oversample=k)
    if np.isnan(fine).all():
        raise ExportError("the mesh has no surface seen from above, so no printable solid can "
                          "be made from it")
    ground = float(np.nanpercentile(fine, 1))
    # holes in the scan are filled at ground level; heights in printed millimetres
    fine_mm = (np.maximum(np.nan_to_num(fine, nan=ground), ground) - ground) * 1000 / scale \
        + base_mm
    # a feature min_wall wide covers min_wall/sample samples, give or take one
    across = max(2, int(np.floor(min_wall_mm / (cell_mm / k) + 1e-6)) - 1)
    thin = thin_features(fine_mm, across, tolerance=min_wall_mm)
    raised = fine_mm > base_mm + min_wall_mm
    share = float(thin.sum()) / max(int(raised.sum()), 1)
    if share > max_thin_share:
        raise ExportError(
            f"at 1:{scale}, {100 * share:.0f} % of the raised parts are thinner than the "
            f"minimum wall of {min_wall_mm} mm and would break or not print; choose a larger "
            f"scale (e.g. 1:{max(10, scale // 2)}) or a smaller --min-wall if your printer "
            f"can do it")
    z_mm = cell_max(fine_mm, k)
    vertices, faces = solid_from_heights(z_mm, cell_mm, base_mm)
    return vertices, faces, dict(cell_mm=cell_mm, thin_share=share,
                                 size_mm=(float(vertices[:, 0].max()),
                                          float(vertices[:, 1].max()),
                                          float(vertices[:, 2].max())))


def export_print(source: ExportSource, out: Path, epoch: str | None = None,
                 scale: int = DEFAULT_SCALE, min_wall_mm: float = 0.8, base_mm: float = 3.0,
                 max_size_mm: float = 250.0, lod: int = 0,
                 progress: Progress = no_progress) -> PrintModel:
    """STL or 3MF of the site at `scale`, in millimetres, checked before it is written."""
    import trimesh

    out = Path(out)
    if out.suffix.lower() not in (".stl", ".3mf"):
        raise ExportError(f"--out {out}: a print model must end in .stl or .3mf")
    if not 0.1 <= min_wall_mm <= 10 or not 0.5 <= base_mm <= 50:
        raise ExportError("--min-wall must be 0.1 to 10 mm and --base 0.5 to 50 mm")
    epoch = source.epoch(epoch)
    progress(0.1, "reading the mesh")
    mesh = source.mesh(epoch, lod)
    progress(0.3, "building the solid")
    vertices, faces, rep = build_print_model(mesh, scale, min_wall_mm, base_mm, max_size_mm)
    solid = trimesh.Trimesh(vertices, faces, process=True)
    if not solid.is_watertight or not solid.is_winding_consistent or solid.volume <= 0:
        raise ExportError("the solid made from this mesh is not closed; it cannot be printed "
                          "(please report this site and epoch)")
    prov = source.provenance(epoch)
    meta = prov.as_dict() | {"Scale": f"1:{scale}", "Units": "millimetres"}
    progress(0.8, "writing")
    with atomic_file(out) as tmp:
        if out.suffix.lower() == ".stl":
            # binary STL has an 80-byte header and nothing else: the licence in short
            head = f"{meta['Copyright']} {meta['ArchiveVersion']} 1:{scale} mm"
            solid.metadata["header"] = head
            data = trimesh.exchange.stl.export_stl(solid)
            data = head.encode("ascii", "replace")[:80].ljust(80, b" ") + data[80:]
            tmp.write_bytes(data)
        else:
            tmp.write_bytes(threemf(solid, meta))
    if out.suffix.lower() == ".stl":
        out.with_name(out.stem + "-LICENCE.txt").write_text(
            _licence_note(source, epoch, scale, rep), encoding="utf-8")
    progress(1.0, "done")
    return PrintModel(out, scale, rep["size_mm"], rep["cell_mm"], base_mm, rep["thin_share"],
                      float(solid.volume), len(faces))


def _licence_note(source: ExportSource, epoch: str, scale: int, rep: dict) -> str:
    from viewer.export.model import tasl_text

    w, d, h = rep["size_mm"]
    return tasl_text(source, [epoch]) + (
        f"\nPrint: scale 1:{scale}, {w:.0f} × {d:.0f} × {h:.0f} mm, units millimetres.\n")


def threemf(solid, meta: dict[str, str]) -> bytes:
    """A 3MF package (millimetres) with the licence in the model's metadata."""
    import io
    import zipfile
    from xml.sax.saxutils import escape, quoteattr

    def rows(fmt: str, arr: np.ndarray) -> str:
        buf = io.StringIO()
        np.savetxt(buf, arr, fmt=fmt)
        return buf.getvalue()

    v = rows('<vertex x="%.4f" y="%.4f" z="%.4f"/>', solid.vertices)
    t = rows('<triangle v1="%d" v2="%d" v3="%d"/>', solid.faces)
    md = {"Title": meta["Title"], "Designer": meta["Attribution"],
          "Copyright": meta["Copyright"], "LicenseTerms": meta["Licence"],
          "Description": f"{meta['ArchiveVersion']}, scale {meta['Scale']}, CRS {meta['CRS']}"}
    md_xml = "\n".join(f"<metadata name={quoteattr(k)}>{escape(val)}</metadata>"
                       for k, val in md.items())
    model = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<model unit="millimeter" xml:lang="en-US" '
        'xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">\n'
        f'{md_xml}\n<resources><object id="1" type="model"><mesh>\n'
        f'<vertices>\n{v}\n</vertices>\n<triangles>\n{t}\n</triangles>\n'
        '</mesh></object></resources>\n<build><item objectid="1"/></build>\n</model>\n')
    types = ('<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="http://schemas.'
             'openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
             'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             '<Default Extension="model" ContentType="application/vnd.ms-package.'
             '3dmanufacturing-3dmodel+xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Target="/3D/'
            '3dmodel.model" Id="rel0" Type="http://schemas.microsoft.com/3dmanufacturing/'
            '2013/01/3dmodel"/></Relationships>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("_rels/.rels", rels)
        z.writestr("3D/3dmodel.model", model)
    return buf.getvalue()
