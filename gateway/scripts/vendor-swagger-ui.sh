#!/usr/bin/env bash
# Re-vendor the Swagger UI files served under /docs from the npm registry package
# swagger-ui-dist at one pinned version (npm checks the tarball against the registry's
# sha512 integrity). Usage: gateway/scripts/vendor-swagger-ui.sh [VERSION]
# The files are copied unchanged; VERSION names the version and lists their sha256 (the
# gateway reads the version from it). Commit the result.
set -euo pipefail
VERSION="${1:-5.35.0}"
FILES=(LICENSE NOTICE swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css
       oauth2-redirect.html oauth2-redirect.js favicon-32x32.png)
DEST="$(cd "$(dirname "$0")/.." && pwd)/gateway/edge/static/swagger-ui"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "swagger-ui-dist@${VERSION}" >/dev/null && tar xzf "swagger-ui-dist-${VERSION}.tgz")
test "$(node -p "require('$WORK/package/package.json').version")" = "$VERSION"
rm -rf "$DEST" && mkdir -p "$DEST"
for f in "${FILES[@]}"; do cp "$WORK/package/$f" "$DEST/$f"; done
echo "swagger-ui-dist ${VERSION}" > "$DEST/VERSION"
(cd "$DEST" && sha256sum "${FILES[@]}" >> VERSION)
echo "vendored swagger-ui-dist ${VERSION} into ${DEST}"
