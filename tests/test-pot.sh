#!/usr/bin/env bash
# Keeps the catalogue in step with the sources: extracts every translatable
# string of the library, the plugins and the tool (every .c file under
# core/, plugins/ and tools/, listed in po/POTFILES.in or not) with
# xgettext, then checks that po/ferry.pot holds each of them, that
# po/POTFILES.in lists every file that has one, and that po/es.po is
# complete and well-formed.
#
#   test-pot.sh SOURCE_ROOT
#
# Output is TAP. After a change to the strings: ninja -C BUILD ferry-pot,
# then msgmerge -U po/es.po po/ferry.pot and translate.
set -uo pipefail

root=${1:?usage: test-pot.sh SOURCE_ROOT}
. "$(dirname "$0")/shell-common.sh"

cd "$root" || exit 1
languages=$(grep -v '^#' po/LINGUAS)
echo "1..$((3 + $(echo $languages | wc -w)))"

# The keywords of meson's "glib" gettext preset.
find core plugins tools -name '*.c' | LC_ALL=C sort >"$work/files"
xgettext --from-code=UTF-8 --add-comments --package-name=ferry \
  --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
  --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
  --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
  --flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format \
  --flag=g_string_printf:2:c-format --flag=g_string_append_printf:2:c-format \
  --flag=g_error_new:3:c-format --flag=g_set_error:4:c-format \
  -f "$work/files" -o "$work/sources.pot" 2>"$work/xgettext.log"
result $? "xgettext reads the sources" "$work/xgettext.log"

# msgcmp: every msgid of the second file must be in the first.
msgcmp --use-untranslated po/ferry.pot "$work/sources.pot" >"$work/pot.log" 2>&1
status=$?
for line in $(grep -o 'sources.pot:[0-9]*: this message is used but not defined' "$work/pot.log" |
              cut -d: -f2); do
  sed -n "$((line - 4)),${line}p" "$work/sources.pot" | grep '^#:\|^msgid' >>"$work/pot.log"
done
result "$status" "po/ferry.pot holds every translatable string of the sources (run: ninja -C BUILD ferry-pot)" \
  "$work/pot.log"

missing=0
: >"$work/potfiles.log"
for file in $(grep -o '^#: [^:]*' "$work/sources.pot" | cut -c4- | tr ' ' '\n' | sort -u); do
  if ! grep -qx "$file" po/POTFILES.in; then
    echo "$file has translatable strings but is not in po/POTFILES.in" >>"$work/potfiles.log"
    missing=1
  fi
done
result "$missing" "po/POTFILES.in lists every file with translatable strings" "$work/potfiles.log"

for lang in $languages; do
  {
    msgfmt --check --statistics -o /dev/null "po/$lang.po" &&
      msgcmp "po/$lang.po" po/ferry.pot
  } >"$work/$lang.log" 2>&1
  status=$?
  # Complete: nothing fuzzy, nothing untranslated.
  if [ "$status" -eq 0 ] && grep -q 'fuzzy\|untranslated' "$work/$lang.log"; then
    status=1
  fi
  result "$status" "po/$lang.po is complete and msgfmt --check passes" "$work/$lang.log"
done

exit "$failed"
