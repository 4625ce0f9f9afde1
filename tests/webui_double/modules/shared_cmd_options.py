"""Stands in for modules/shared_cmd_options.py (A1111 v1.10.1): each extension's
preload.py extends the parser (those launch.list_extensions() names, then the built-in
ones), then the flags are parsed into `cmd_opts`.

The flags come from $COMMANDLINE_ARGS (sys.argv belongs to pytest). An unknown flag ends
the process (SystemExit) unless $IGNORE_CMD_ARGS_ERRORS is set, as in the host.

Scaffolding: reparse() parses again into the SAME cmd_opts object (modules holding it see
the change); preload_extension(path) runs one more extension's preload.py, then
reparses (for an extension installed after this module was imported).
"""

import os
import shlex

import launch

from modules import cmd_args, paths_internal, script_loading

parser = cmd_args.parser
_installed = launch.list_extensions(launch.args.ui_settings_file)
script_loading.preload_extensions(paths_internal.extensions_dir, parser, extension_list=_installed)
script_loading.preload_extensions(paths_internal.extensions_builtin_dir, parser)


def _parse(argv):
    tolerant = os.environ.get("IGNORE_CMD_ARGS_ERRORS") is not None
    parsed = parser.parse_known_args(argv)[0] if tolerant else parser.parse_args(argv)
    parsed.webui_is_non_local = any([parsed.share, parsed.listen, parsed.ngrok, parsed.server_name])
    parsed.disable_extension_access = (parsed.webui_is_non_local
                                       and not parsed.enable_insecure_extension_access)
    return parsed


def _environment_args():
    return shlex.split(os.environ.get("COMMANDLINE_ARGS", ""))


cmd_opts = _parse(_environment_args())


def reparse(argv=None):
    fresh = _parse(_environment_args() if argv is None else list(argv))
    vars(cmd_opts).clear()
    vars(cmd_opts).update(vars(fresh))
    return cmd_opts


def preload_extension(extension_path, argv=None):
    folder, name = os.path.split(os.path.normpath(extension_path))
    script_loading.preload_extensions(folder, parser, extension_list=[name])
    return reparse(argv)
