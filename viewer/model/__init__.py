"""The viewer's model: state, scene description, archive records and stories — no Qt, no VTK.

Every front-end (desktop, kiosk, VR, exports) observes this package; nothing here imports a
GUI toolkit or a renderer at import time (`tests/test_layers.py` checks it). GLB files are read
through VTK's glTF reader inside `scene.read_glb`, imported only when a mesh is read.
"""
