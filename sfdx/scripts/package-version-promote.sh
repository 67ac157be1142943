#!/usr/bin/env bash
# Promotes a validated beta version to released so production orgs can install it.
#   sfdx/scripts/package-version-promote.sh 04t... [--devhub ALIAS]
source "$(dirname "$0")/common.sh"

version_id="${1:-}"; shift || true
while [ $# -gt 0 ]; do
  case "$1" in
    --devhub) DEVHUB="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
require_04t "$version_id"

# Promotion cannot be undone: a released version's components can no longer be removed freely.
"$SF" package version report --package "$version_id" --target-dev-hub "$DEVHUB"
"$SF" package version promote --package "$version_id" --target-dev-hub "$DEVHUB" --no-prompt
echo "promoted $version_id; set \"ancestorVersion\": \"HIGHEST\" in sfdx-project.json before the next version"
