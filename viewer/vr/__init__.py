"""VR mode: the archive's sites in an OpenXR headset (pyopenxr + OpenGL 3.3 core).

- `scene_data.py` — what to draw, read from the archive (no GL, no OpenXR)
- `interaction.py` — teleport, snap turn, miniature/life-size, epochs, heatmap (pure code)
- `xform.py` — poses, projections and the site <-> stage frames (numpy)
- `context.py` — OpenGL contexts without a window: EGL (headless) and GLX (through GLFW)
- `renderer.py` — uploads the scene once and draws one eye into a framebuffer
- `panel.py` — the hand panel's texture (site, epoch, mode)
- `actions.py` — the OpenXR action set and suggested bindings per controller
- `session.py` — OpenXR instance, session state machine, swapchains, frame loop
- `app.py` — ties them together for `stadtzeit vr`

Nothing here is imported by the CLI at start-up: `import xr` and `import OpenGL` happen only
when a VR session opens (see viewer/commands/vr.py). See docs/VR.md.
"""
