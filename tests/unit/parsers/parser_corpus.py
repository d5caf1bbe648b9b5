"""Where the shared corpus of real IOS outputs is, for the tests that read it.

``PKILAB_CORPUS`` names it; otherwise it is the first ``shared/corpus`` (with its
``index.json``) in a folder above this file: ``../shared/corpus`` of a checkout, and of a
worktree kept one level deeper. Tests skip when there is none; corpus files are read in place,
never copied into the project.
"""

from __future__ import annotations

import os
from pathlib import Path


def corpus_dir() -> Path | None:
    """Return the corpus folder, or ``None`` when it is not on this machine."""
    named = os.environ.get("PKILAB_CORPUS")
    here = Path(__file__).resolve()
    candidates = [Path(named)] if named else [parent / "shared" / "corpus" for parent in here.parents]
    return next((c for c in candidates if (c / "index.json").is_file()), None)


# Folder names of the corpus (``index.json`` "command") that are not the command once
# underscores become blanks: the corpus's naming, kept here beside the tests that read it.
_FOLDER_COMMANDS = {
    "crypto_pki_server_info_requests": "crypto pki server NAME info requests",
    "crypto_pki_server_info_crl": "crypto pki server NAME info crl",
    "show_crypto_pki_server_cert": "show crypto pki server NAME certificates",
    "show_logging_other": "show logging",
    "log_messages_crypto": "show logging",
    "dir_nvram": "dir nvram:",
    "dir_other": "dir",
}


def corpus_command(folder: str) -> str:
    """The command a corpus folder holds outputs of (``NAME`` stands for the server's name)."""
    return _FOLDER_COMMANDS.get(folder, folder.replace("_", " "))
