# Sourced by scripts/deps.d/*.sh: install Debian packages only when a command is missing.
# need CMD:PACKAGE ... installs each PACKAGE whose CMD is not on PATH.
need() {
	local missing="" c
	for c in "$@"; do
		command -v "${c%%:*}" >/dev/null 2>&1 || missing="$missing ${c#*:}"
	done
	[ -z "$missing" ] && return 0
	echo "installing:$missing"
	local sudo=""
	if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo=sudo; fi
	if [ -z "${REDOUBT_APT_UPDATED:-}" ]; then
		$sudo apt-get update -qq
		export REDOUBT_APT_UPDATED=1
	fi
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
}
