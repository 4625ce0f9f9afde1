"""Stands in for modules/extensions.py (A1111 v1.10.1): the installed extensions.

list_extensions() lists the folders in extensions-builtin/ (none in the double), then in
extensions_dir, each sorted by name; an extension's path is its folder there as listed (a
symlink stays a symlink). active() honours --disable-all-extensions,
--disable-extra-extensions and the disable settings. Left out: git details, metadata.ini.
"""

import os

from modules import paths_internal, shared

extensions = []
extension_paths = {}


class Extension:
    def __init__(self, name, path, enabled=True, is_builtin=False):
        self.name, self.canonical_name = name, name.lower().strip()
        self.path, self.enabled, self.is_builtin = path, enabled, is_builtin

    def list_files(self, subdir, extension):
        """ScriptFiles of the files in <path>/<subdir> whose suffix is `extension`."""
        from modules.scripts import ScriptFile

        folder = os.path.join(self.path, subdir)
        names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        return [ScriptFile(self.path, n, os.path.join(folder, n)) for n in names
                if os.path.splitext(n)[1].lower() == extension
                and os.path.isfile(os.path.join(folder, n))]


def active():
    setting = shared.opts.disable_all_extensions
    if shared.cmd_opts.disable_all_extensions or setting == "all":
        return []
    builtin_only = shared.cmd_opts.disable_extra_extensions or setting == "extra"
    return [e for e in extensions if e.enabled and (e.is_builtin or not builtin_only)]


def list_extensions():
    extensions.clear()
    extension_paths.clear()
    for folder in (paths_internal.extensions_builtin_dir, paths_internal.extensions_dir):
        names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        for name in (n for n in names if os.path.isdir(os.path.join(folder, n))):
            found = Extension(name, os.path.join(folder, name),
                              enabled=name not in shared.opts.disabled_extensions,
                              is_builtin=folder == paths_internal.extensions_builtin_dir)
            extensions.append(found)
            extension_paths[found.path] = found


def find_extension(filename):
    """The extension whose folder holds `filename`, or None."""
    where = os.path.abspath(filename)
    return next((e for e in extensions if where.startswith(os.path.abspath(e.path) + os.sep)),
                None)
