#!/usr/bin/env bash
# Desktop and shell fit: the bash completion (syntax, then commands,
# options, interfaces, plugin names and, with a receiver running on
# loopback, the name of a device nearby) and the systemd user unit.
#
#   test-shell.sh COMPLETION_SCRIPT UNIT_FILE
#
# Output is TAP. Environment: FERRY_TOOL, FERRY_PLUGIN_PATH, G_TEST_SRCDIR
# (set by meson).
set -uo pipefail

script=${1:?usage: test-shell.sh COMPLETION_SCRIPT UNIT_FILE}
unit=${2:?usage: test-shell.sh COMPLETION_SCRIPT UNIT_FILE}
. "${G_TEST_SRCDIR:-$(dirname "$0")}/shell-common.sh"
: "${ferry:?FERRY_TOOL is not set}"

echo "1..7"

bash -n "$script" 2>"$work/syntax.log"
result $? "the completion script parses (bash -n)" "$(cat "$work/syntax.log")"

# Every call of `ferry` the completion makes goes to homes made here.
export FERRY_HOME=$work/default-home
port=$(free_udp_port)
for home in alice bob default-home; do
  mkdir -p "$work/$home"
  printf '[core]\nname=%s\n[local-broadcast]\nport=%s\n' "$home" "$port" >"$work/$home/ferry.conf"
done

# complete WORDS...: what completing the last word offers, one per line.
complete_words() {
  bash -c '
    bash_completion=/usr/share/bash-completion/bash_completion
    [ -f "$bash_completion" ] || { echo "no bash-completion" >&2; exit 77; }
    source "$bash_completion"
    source "$1"
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    _ferry ferry "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"
  ' complete "$script" "$@"
}

got=$(complete_words "$ferry" se)
status=$?
if [ "$status" -eq 77 ]; then
  for what in "a command" "receive's options" "an interface" "a transport" "a device nearby"; do
    skip "completes $what" "bash-completion is not installed"
  done
else
  [ "$got" = send ]
  result $? "completes a command (se → send)" "got: $got"

  got=$(complete_words "$ferry" receive --)
  status=0
  for option in --dir --yes --accept-from --once --home --json; do
    grep -qx -- "$option" <<<"$got" || status=1
  done
  grep -qx -- --to <<<"$got" && status=1
  result "$status" "completes receive's options and the global ones, not send's" "got: $(echo $got)"

  got=$(complete_words "$ferry" --interface l)
  grep -qx lo <<<"$got"
  result $? "completes an interface (l → lo)" "got: $(echo $got)"

  got=$(complete_words "$ferry" --transport lan,t)
  [ "$got" = lan,turn ]
  result $? "completes a plugin name in a list (lan,t → lan,turn)" "got: $(echo $got)"

  # A device nearby: bob receives on loopback; alice completes --to.
  mkfifo "$work/bob.fifo"
  "$ferry" --home "$work/bob" --interface lo --json receive --once --dir "$work/inbox" \
    >"$work/bob.fifo" 2>"$work/bob.err" </dev/null &
  receiver_pid=$!
  exec 3<"$work/bob.fifo"
  ready=1
  while IFS= read -r -t 60 line <&3; do
    case "$line" in *'"event":"ready"'*) ready=0; break ;; esac
  done
  got=$(complete_words "$ferry" --home "$work/alice" --interface lo send --to b)
  [ "$ready" -eq 0 ] && grep -qx bob <<<"$got"
  result $? "completes a device nearby (send --to b → bob)" "got: $(echo $got); $(cat "$work/bob.err")"
fi

# The unit, with ExecStart pointed at the built tool.
if command -v systemd-analyze >/dev/null 2>&1; then
  mkdir -p "$work/unit"
  sed "s|^ExecStart=[^ ]*|ExecStart=$ferry|" "$unit" >"$work/unit/ferry-receive.service"
  systemd-analyze verify --man=no "$work/unit/ferry-receive.service" >"$work/verify.log" 2>&1
  result $? "systemd-analyze verify accepts the user unit" "$(tr '\n' ' ' <"$work/verify.log")"
else
  # No systemd here: check the unit's shape only.
  grep -qx "ExecStart=.*/ferry receive \$FERRY_RECEIVE_OPTIONS" "$unit" &&
    grep -qx 'WantedBy=default.target' "$unit" && grep -qx '\[Service\]' "$unit"
  result $? "the user unit runs ferry receive (structure only: no systemd-analyze here)"
fi

exit "$failed"
