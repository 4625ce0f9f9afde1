"""Test scaffolding (no such module in either host): which host the double imitates.

$WEBUI_DOUBLE_FLAVOUR is "a1111" (the default: AUTOMATIC1111 v1.10.1) or "forge"
(lllyasviel/stable-diffusion-webui-forge, main). The fixture sets it before the double is
imported; with "forge", tests/webui_double/forge (modules_forge, backend and Forge's
built-in extensions) is on sys.path too, and the host modules here take Forge's ways
where Forge differs (each module's docstring says where).
"""

import os

FLAVOUR = os.environ.get("WEBUI_DOUBLE_FLAVOUR", "a1111")
if FLAVOUR not in ("a1111", "forge"):
    raise ValueError(f"WEBUI_DOUBLE_FLAVOUR must be a1111 or forge, not {FLAVOUR!r}")
FORGE = FLAVOUR == "forge"
