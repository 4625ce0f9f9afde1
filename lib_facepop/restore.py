"""Face restoration after the face pass, on the upright face crop, through a host's
restorer (the core has no restorer model of its own)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lib_facepop.blend import mix
from lib_facepop.images import to_rgb8
from lib_facepop.notices import Notices
from lib_facepop.settings import FacePopSettings, option_spec
from lib_facepop.tools import FaceRestorer, FaceTools, ToolHostError
from lib_facepop.upscale import conform_size


def resolve_restorer(settings: FacePopSettings, tools: FaceTools, notices: Notices
                     ) -> FaceRestorer | None:
    """The restorer the settings ask for; None when none is asked for or none is here."""
    wanted = settings.face_restoration
    if wanted == "none":
        return None
    restorer = tools.restorers.get(wanted)
    if restorer is None:
        label = option_spec("face_restoration").label_of(wanted)
        notices.warning(f"restorer-missing:{wanted}",
                        "FacePop: face restoration with %s is not available here; faces are "
                        "not restored", label)
    return restorer


def restore_faces(faces: Sequence[np.ndarray], restorer: FaceRestorer,
                  settings: FacePopSettings, notices: Notices) -> list[np.ndarray | None]:
    """Each face restored and mixed in at ``restore_visibility``; None for a face whose
    restoration failed (announced once; that face goes on unrestored). A failure of the
    restorer's host (``ToolHostError``) is raised."""
    restored: list[np.ndarray | None] = []
    for i, face in enumerate(faces):
        try:
            result = to_rgb8(restorer.restore(face, settings.codeformer_weight),
                             name=f"face {i} from restorer {restorer.name!r}")
        except ToolHostError:
            raise
        except Exception as exc:
            notices.warning(f"restorer-failed:{restorer.name}",
                            "FacePop: face restoration with %s failed (%s); faces it "
                            "fails on are not restored", restorer.name, exc)
            restored.append(None)
            continue
        height, width = face.shape[:2]
        result = conform_size(result, (width, height))
        restored.append(mix(face, result, settings.restore_visibility))
    return restored
