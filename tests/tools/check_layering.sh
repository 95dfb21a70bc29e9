#!/usr/bin/env bash
# Fails when a file in a layer includes a header of a layer it may not depend on.
set -euo pipefail
src=${1:?usage: check_layering.sh SRC_DIR}
declare -A allowed=(
  [proto]="proto"
  [codec]="proto codec" [fec]="proto fec" [crypto]="proto crypto" [transport]="proto transport"
  [relay]="proto codec fec crypto transport relay"
  [client]="proto codec fec crypto transport client"
  [web]="proto codec fec crypto transport client web"
)
status=0
for layer in "${!allowed[@]}"; do
  [ -d "$src/$layer" ] || continue
  while IFS=: read -r file line inc; do
    dep=${inc#*\"}; dep=${dep%%/*}
    [ -n "${allowed[$dep]+x}" ] || continue  # not one of ours (a library's own headers)
    if [[ " ${allowed[$layer]} " != *" $dep "* ]]; then
      echo "layering: $file:$line includes $dep/ (layer $layer may use: ${allowed[$layer]})"
      status=1
    fi
  done < <(grep -rnoE '#include "[a-z]+/' "$src/$layer" || true)
done
[ $status -eq 0 ] && echo "layering: ok"
exit $status
