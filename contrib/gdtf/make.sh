#!/usr/bin/env bash
# Makes candela.gdtf (a zip holding description.xml) for a desk to import, after checking the
# XML is well formed. Python's zipfile, so no zip tool is needed:
#   bash contrib/gdtf/make.sh [OUT.gdtf]   (default contrib/gdtf/candela@projection@1.gdtf)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/candela@projection@1.gdtf}"
python3 - "$here/description.xml" "$out" <<'PY'
import sys, zipfile, xml.etree.ElementTree as ET
src, out = sys.argv[1], sys.argv[2]
ET.parse(src)  # refuses a file that is not well formed
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(src, "description.xml")
print(out)
PY
