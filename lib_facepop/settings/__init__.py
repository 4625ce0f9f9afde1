"""Every FacePop option in one typed model, and what is made of it.

The package's parts, each with one job (imports run downwards in this list):

* spec.py: what one option is (``OptionSpec``), the infotext prefix;
* validation.py: coercion and range, choice and pattern checks of one value;
* model.py: the options themselves (``FacePopSettings``), in panel and positional order,
  and their specs (``option_specs``);
* schema.py: the JSON schema of the named settings;
* infotext.py: the PNG-info entries and settings read back from them.

Only the standard library is used here, so the model works inside any host. Import the
names from ``lib_facepop.settings``.
"""

from lib_facepop.settings.infotext import (
    infotext_fields,
    known_infotext_keys,
    parse_infotext_value,
    settings_from_infotext,
)
from lib_facepop.settings.model import (
    DEFAULT_EYES_PROMPT,
    DEFAULT_UPSCALER,
    ENHANCE_FILTER_LABELS,
    ENHANCE_FILTERS,
    FACE_ORDER_LABELS,
    FACE_ORDERS,
    FACE_RESTORATION_LABELS,
    FACE_RESTORERS,
    GROUP_ADVANCED,
    GROUP_BASICS,
    GROUP_DEBUGGING,
    GROUP_EYES,
    GROUP_FACE_PASS,
    GROUP_RESTORE,
    GROUPS,
    MASK_SOURCE_LABELS,
    MASK_SOURCES,
    SEED_MODE_LABELS,
    SEED_MODES,
    SEPARATE_PROCESSING_SETTINGS,
    FacePopSettings,
    option_spec,
    option_specs,
)
from lib_facepop.settings.schema import json_schema
from lib_facepop.settings.spec import INFOTEXT_PREFIX, OptionSpec, Value

__all__ = [
    "DEFAULT_EYES_PROMPT",
    "DEFAULT_UPSCALER",
    "ENHANCE_FILTERS",
    "ENHANCE_FILTER_LABELS",
    "FACE_ORDERS",
    "FACE_ORDER_LABELS",
    "FACE_RESTORATION_LABELS",
    "FACE_RESTORERS",
    "GROUPS",
    "GROUP_ADVANCED",
    "GROUP_BASICS",
    "GROUP_DEBUGGING",
    "GROUP_EYES",
    "GROUP_FACE_PASS",
    "GROUP_RESTORE",
    "INFOTEXT_PREFIX",
    "MASK_SOURCES",
    "MASK_SOURCE_LABELS",
    "SEED_MODES",
    "SEED_MODE_LABELS",
    "SEPARATE_PROCESSING_SETTINGS",
    "FacePopSettings",
    "OptionSpec",
    "Value",
    "infotext_fields",
    "json_schema",
    "known_infotext_keys",
    "option_spec",
    "option_specs",
    "parse_infotext_value",
    "settings_from_infotext",
]
