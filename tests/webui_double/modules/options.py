"""Stands in for modules/options.py (A1111 v1.10.1): OptionInfo and Options (`shared.opts`).

As in the host: an option reads as its stored value, else its default; assigning a known
key stores it; set(key, value, is_api, run_callbacks) returns whether the value changed
(False also when an API call may not touch it), raises KeyError for an unknown key and
runs the option's onchange; add_option() (what on_ui_settings callbacks call),
get_default(), cast_value(), onchange(). Left out: the settings page, config.json and
--freeze-settings; OptionInfo's comment helpers (info, link, ...) only return it.
"""

from modules import errors as _errors


class OptionInfo:
    def __init__(self, default=None, label="", component=None, component_args=None, **details):
        self.default, self.label = default, label
        self.component, self.component_args = component, component_args
        self.onchange, self.section = details.get("onchange"), details.get("section")
        self.infotext, self.restrict_api = details.get("infotext"), details.get("restrict_api")
        self.do_not_save = False

    def _same(self, *args):
        return self

    info = link = js = html = needs_restart = needs_reload_ui = _same


def options_section(section_identifier, options_dict):
    for info in options_dict.values():
        info.section = tuple(section_identifier[:2])
    return options_dict


class Options:
    def __init__(self, data_labels: dict[str, OptionInfo], restricted_opts):
        vars(self).update(data={k: info.default for k, info in data_labels.items()},
                          data_labels=data_labels, restricted_opts=restricted_opts)

    def __getattr__(self, key):  # only called for names that are not attributes
        if key in vars(self).get("data", ()):
            return self.data[key]
        if key in vars(self).get("data_labels", ()):
            return self.data_labels[key].default
        raise AttributeError(f"'Options' object has no attribute '{key}'")

    def __setattr__(self, key, value):
        if key not in self.data and key not in self.data_labels:
            return object.__setattr__(self, key, value)
        info = self.data_labels.get(key)
        if info is None or not info.do_not_save:
            self.data[key] = value
        return None

    def set(self, key, value, is_api=False, run_callbacks=True):
        before = self.data.get(key)
        if value == before:
            return False
        info = self.data_labels[key]  # KeyError for an unknown key, as in the host
        if info.do_not_save or (info.restrict_api and is_api):
            return False
        self.data[key] = value
        if info.onchange is None or not run_callbacks:
            return True
        try:
            info.onchange()
            return True
        except Exception as e:
            _errors.display(e, f"changing setting {key} to {value}")
            self.data[key] = before
            return False

    def get_default(self, key):
        return self.data_labels[key].default if key in self.data_labels else None

    def add_option(self, key, info):
        self.data_labels.update({key: info})
        if not info.do_not_save:
            self.data.setdefault(key, info.default)

    def onchange(self, key, func, call=True):
        self.data_labels[key].onchange = func
        if call:
            func()

    def cast_value(self, key, value):
        """`value` (e.g. infotext text) as the type of the option's value; None if unknown."""
        reference = self.data_labels[key].default
        reference = getattr(self, key, None) if reference is None else reference
        if value is None or reference is None:
            return None
        return False if isinstance(reference, bool) and value == "False" else type(reference)(value)
