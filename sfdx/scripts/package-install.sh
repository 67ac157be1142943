#!/usr/bin/env bash
# Installs an Inflow package version into an org and assigns the admin permission set.
#   sfdx/scripts/package-install.sh 04t... --target-org ALIAS [--assign-to USERNAME]... [--all-users]
source "$(dirname "$0")/common.sh"

version_id="${1:-}"; shift || true
target_org=""
assignees=()
security="AdminsOnly"
while [ $# -gt 0 ]; do
  case "$1" in
    --target-org) target_org="$2"; shift 2 ;;
    --assign-to) assignees+=("$2"); shift 2 ;;
    --all-users) security="AllUsers"; shift ;;
    *) die "unknown argument $1" ;;
  esac
done
require_04t "$version_id"
[ -n "$target_org" ] || die "--target-org is required"

"$SF" package install --package "$version_id" --target-org "$target_org" --security-type "$security" \
  --wait 30 --publish-wait 10 --no-prompt

# Permission sets of a managed package carry its namespace in the subscriber org.
if [ ${#assignees[@]} -eq 0 ]; then
  "$SF" org assign permset --name inflow__Inflow_Admin --target-org "$target_org"
else
  for user in "${assignees[@]}"; do
    "$SF" org assign permset --name inflow__Inflow_Admin --target-org "$target_org" --on-behalf-of "$user"
  done
fi
echo "installed $version_id into $target_org; assign inflow__Inflow_User to everyone who imports data"
