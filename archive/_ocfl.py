"""ocfl-py, imported without its side effect on logging.

Importing ocfl pulls in ``pairtree``, which calls ``logging.basicConfig(level=INFO)`` at import
time: the root logger would print every ocfl-py INFO line and the CLI's own ``-v`` setting would
be ignored. The root logger's handlers and level are put back as they were.
"""

from __future__ import annotations

import logging

_root = logging.getLogger()
_handlers, _level = _root.handlers[:], _root.level
try:
    import ocfl
    from ocfl import (
        InventoryException,
        NewVersionException,
        Object,
        ObjectException,
        StorageRoot,
        VersionMetadata,
    )
    from ocfl.validation_logger import ValidationLogger
    from ocfl.validator import Validator
finally:
    _root.handlers[:] = _handlers
    _root.setLevel(_level)

__all__ = ["ocfl", "InventoryException", "NewVersionException", "Object", "ObjectException",
           "StorageRoot", "ValidationLogger", "Validator", "VersionMetadata"]
