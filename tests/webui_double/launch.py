"""Stands in for the WebUI's launch.py (A1111 v1.10.1) as the `launch` module extensions'
install.py import: the same names, taken from modules.launch_utils. Starting the WebUI
(main, prepare_environment, start), dir_repos and repo_dir are left out."""

from modules import launch_utils as _launch_utils

_SHARED = ("args", "python", "git", "index_url", "commit_hash", "git_tag", "run", "is_installed",
           "run_pip", "check_run_python", "list_extensions", "run_extension_installer")
globals().update({name: getattr(_launch_utils, name) for name in _SHARED})
