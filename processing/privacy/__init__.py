"""Privacy by design: faces and plates blurred, transient people and vehicles removed.

- ``images``: detect faces and number plates (OpenCV's bundled cascades) and blur them
  irreversibly;
- ``ghosts``: points of transient objects, found by visibility between stations or strips;
- ``step``: the ingest step that applies both to an epoch and records what it did;
- ``samples``: licence-clean labelled images for the demo, tests and benchmarks.

See docs/PRIVACY.md.
"""
