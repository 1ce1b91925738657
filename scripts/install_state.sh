# Whether .venv holds an up-to-date install of the project, for scripts/bootstrap.sh (sourced,
# run from the project root). An install depends on the project's metadata (pyproject.toml),
# the bootstrap scripts, the venv's Python and where the project is; it is editable, so edits
# to the source need no new install.

install_stamp() {  # PURPOSE: the file that records what was installed for it
  echo ".venv/.ingest-desk-installed-$1"
}

install_key() {  # PURPOSE: a checksum of everything an install for PURPOSE depends on
  { .venv/bin/python -VV 2>&1; pwd; echo "$1"
    cat pyproject.toml scripts/bootstrap.sh scripts/install_state.sh; } | cksum
}

needs_install() {  # PURPOSE: succeeds when pip has to run
  local stamp
  stamp="$(install_stamp "$1")"
  [ -x .venv/bin/python ] && [ -f "$stamp" ] || return 0
  [ "$(cat "$stamp")" != "$(install_key "$1")" ]
}

mark_installed() {  # PURPOSE: after a successful install
  install_key "$1" > "$(install_stamp "$1")"
}
