"""Renderers of the model's scene description: `vtk_view` (VTK through PyVista) for the desktop,
the kiosk and the exports. VR draws the same scene with its own OpenGL renderer (`viewer/vr/`)."""
