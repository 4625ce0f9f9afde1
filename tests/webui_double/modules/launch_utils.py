"""Stands in for modules/launch_utils.py (A1111 v1.10.1): what extensions' install.py and
the start-up use.

- `args`: the launch flags from $COMMANDLINE_ARGS (unknown ones ignored), which is what the
  host's parse of sys.argv sees when it runs `python install.py`.
- run() / run_pip() start nothing. Each call is recorded (scaffolding: `run_calls`,
  `run_pip_calls`, and a JSON line in the file $WEBUI_DOUBLE_PIP_LOG names, so that an
  install.py subprocess's calls can be read back with read_pip_log()). Under
  --skip-install run_pip() does nothing and returns None, like the host; otherwise "".
  Setting `run_pip_failure` to an exception makes run_pip raise it, like a failing pip.
- run_extension_installer() runs install.py in a real new process (PYTHONPATH: the
  double's root; working folder: the root) and returns the CompletedProcess (the host
  returns None).
- git_tag()/commit_hash() answer v1.10.1; preparing the environment is left out.
"""

import json
import os
import shlex
import subprocess
import sys
from importlib import metadata, util

from modules import cmd_args, errors, paths_internal

args = cmd_args.parser.parse_known_args(shlex.split(os.environ.get("COMMANDLINE_ARGS", "")))[0]
python = sys.executable
git = os.environ.get("GIT", "git")
index_url = os.environ.get("INDEX_URL", "")

run_calls: list[dict] = []
run_pip_calls: list[dict] = []
run_pip_failure: BaseException | None = None


def git_tag():
    return "v1.10.1"


def commit_hash():
    return "82a973c04367123ae98bd9abdf80d9eda9b910e2"


def _note(kind, calls, **call):
    calls.append(call)
    if os.environ.get("WEBUI_DOUBLE_PIP_LOG"):
        with open(os.environ["WEBUI_DOUBLE_PIP_LOG"], "a", encoding="utf8") as log:
            log.write(json.dumps({"kind": kind, **call}) + "\n")


def read_pip_log(path):
    """Scaffolding: the calls recorded in the log file `path`, oldest first."""
    if os.path.isfile(path):
        with open(path, encoding="utf8") as log:
            return [json.loads(line) for line in log if line.strip()]
    return []


def run(command, desc=None, errdesc=None, custom_env=None, live=False) -> str:
    if desc is not None:
        print(desc)
    _note("run", run_calls, command=command, desc=desc, errdesc=errdesc)
    return ""


def run_pip(command, desc=None, live=False):
    if args.skip_install:
        return None
    full = f'"{python}" -m pip {command} --prefer-binary'
    full += f" --index-url {index_url}" if index_url else ""
    _note("run_pip", run_pip_calls, command=command, desc=desc, full_command=full)
    if run_pip_failure is not None:
        raise run_pip_failure
    return run(full, desc=f"Installing {desc}", errdesc=f"Couldn't install {desc}", live=live)


def is_installed(package):
    """True for an installed distribution of that name, else for an importable module."""
    try:
        metadata.distribution(package)
        return True
    except metadata.PackageNotFoundError:
        try:
            return util.find_spec(package) is not None
        except ImportError:  # e.g. a dotted name whose parent is missing
            return False


def check_run_python(code: str) -> bool:
    return not subprocess.run([python, "-c", code], capture_output=True).returncode


def run_extension_installer(extension_dir):
    installer = os.path.join(extension_dir, "install.py")
    if not os.path.isfile(installer):
        return None
    root = paths_internal.script_path
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([python, installer], env=env, cwd=root, capture_output=True,
                          encoding="utf8", errors="ignore")
    if done.returncode:
        errors.report(f"Error running install.py for extension {extension_dir}.\n"
                      f"Error code: {done.returncode}\nstdout: {done.stdout}\n"
                      f"stderr: {done.stderr}")
    elif done.stdout.strip():
        print(done.stdout.strip())
    return done


def list_extensions(settings_file):
    """The extension folders whose preload.py runs: all of extensions_dir, less the
    disabled ones."""
    settings = {}
    if os.path.isfile(settings_file):
        with open(settings_file, encoding="utf8") as f:
            settings = json.load(f)
    everything_off = settings.get("disable_all_extensions", "none") != "none"
    if everything_off or args.disable_all_extensions or args.disable_extra_extensions:
        return []
    folder = paths_internal.extensions_dir
    names = os.listdir(folder) if os.path.isdir(folder) else []
    return [name for name in names if name not in settings.get("disabled_extensions", [])]
