#!/usr/bin/env bash
# Fails when a C++ file differs from what clang-format (.clang-format at the root) makes of it,
# naming each file and the first place. Fix with: clang-format -i FILE
set -euo pipefail
root=${1:?usage: check_format.sh SOURCE_ROOT}
cd "$root"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cpp' '*.h')
else
  mapfile -t files < <(find src tests bench apps -name '*.cpp' -o -name '*.h' | sort)
fi
status=0
for f in "${files[@]}"; do
  if ! out=$(clang-format --dry-run --Werror "$f" 2>&1); then
    echo "format: $f differs from clang-format: $(echo "$out" | head -1)"
    status=1
  fi
done
[ $status -eq 0 ] && echo "format: ${#files[@]} files as clang-format writes them"
exit $status
