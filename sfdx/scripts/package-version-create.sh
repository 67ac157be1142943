#!/usr/bin/env bash
# Creates a new beta version of the Inflow managed package (needs a Dev Hub; see docs/packaging.md).
#   sfdx/scripts/package-version-create.sh [--devhub ALIAS] [--canvas-url URL] [--skip-validation]
# Prints the new version's 04t id on the last line.
source "$(dirname "$0")/common.sh"

canvas_url=""
extra=(--code-coverage)
while [ $# -gt 0 ]; do
  case "$1" in
    --devhub) DEVHUB="$2"; shift 2 ;;
    --canvas-url) canvas_url="$2"; shift 2 ;;
    --skip-validation) extra=(--skip-validation); shift ;;   # fast betas only: unvalidated versions cannot be promoted
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done

canvas_file="force-app/main/default/extlClntAppCanvasSettings/Inflow.ecaCanvas-meta.xml"
if [ -n "$canvas_url" ]; then
  [[ "$canvas_url" =~ ^https://[^#]+$ ]] || die "--canvas-url must be https:// and carry no #fragment"
  cp "$canvas_file" "$canvas_file.orig"
  trap 'mv "$canvas_file.orig" "$canvas_file"' EXIT
  python3 - "$canvas_file" "$canvas_url" <<'PY'
import re, sys
path, url = sys.argv[1], sys.argv[2]
text = open(path).read()
open(path, "w").write(re.sub(r"<canvasUrl>[^<]*</canvasUrl>", f"<canvasUrl>{url}</canvasUrl>", text))
PY
  echo "canvas URL for this version: $canvas_url"
fi

python3 .ci/xmlcheck.py force-app

if ! python3 -c 'import json,sys; sys.exit(0 if "Inflow" in json.load(open("sfdx-project.json")).get("packageAliases", {}) else 1)'; then
  echo "creating the package $PACKAGE_NAME (once per Dev Hub)"
  "$SF" package create --name "$PACKAGE_NAME" --package-type Managed --path force-app \
    --description "Inflow data importer" --target-dev-hub "$DEVHUB"
fi

result="$("$SF" package version create --package "$PACKAGE_NAME" --installation-key-bypass "${extra[@]}" \
  --definition-file sfdx/config/project-scratch-def.json --wait 90 --target-dev-hub "$DEVHUB" --json)" || {
  echo "$result" >&2; die "package version create failed"; }
version_id="$(echo "$result" | json_field result.SubscriberPackageVersionId)"
require_04t "$version_id"
echo "created $PACKAGE_NAME version $version_id (install link: https://login.salesforce.com/packaging/installPackage.apexp?p0=$version_id)"
echo "$version_id"
