"""The synthetic Gasometer Oberhausen demo site: scene, simulated LiDAR, textured mesh, truth.

``build_demo_sources(out_dir)`` writes everything ``stadtzeit demo`` ingests; the modules below
are usable on their own (``scene.build_site``, ``lidar.simulate_als``/``simulate_tls``,
``photo.photogrammetry_mesh``, ``truth.truth_document``).
"""

from processing.demo.build import DemoSources, build_demo_sources, site_origin
from processing.demo.scene import EPOCHS, Label, Site, build_site

__all__ = ["EPOCHS", "DemoSources", "Label", "Site", "build_demo_sources", "build_site",
           "site_origin"]
