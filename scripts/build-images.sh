#!/usr/bin/env bash
# Build local, registry-free equivalents of the service images used by onprem.mlops.
#
# Every image is built FROM a Debian base made here with debootstrap, so nothing is pulled
# from a container registry. Each image carries the label org.onprem-mlops.context-hash: a
# hash of its build context (Dockerfile and files, build arguments, parent image's hash). An
# image whose tag already exists with the same hash is skipped, so a warm run takes seconds.
#
# Usage: scripts/build-images.sh [--force] [--verbose] [all|base|python|mariadb|minio|caddy|zenml-server|ci-job|gitlab-runner]...
#
# Environment:
#   MLOPS_IMAGE_PREFIX            image name prefix (default: onprem-mlops)
#   MLOPS_DEBIAN_MIRROR           Debian mirror (default: the one this machine's APT sources use, so a
#                                 site mirror or proxy is used automatically)
#   MLOPS_DEBIAN_SECURITY_MIRROR  security mirror (default: the machine's, for its *-security suite; set it
#                                 empty to leave bookworm-security out of the images' apt sources)
#   MLOPS_CACHE_DIR               cache (rootfs, Go binaries, contexts, logs)
#                                 (default: ${XDG_CACHE_HOME:-$HOME/.cache}/onprem-mlops)
#   MLOPS_HOST_CA_BUNDLE          CA bundle copied into the python image for pip
#                                 (default: /etc/ssl/certs/ca-certificates.crt)
#   MLOPS_GITLAB_RUNNER_BINARY    use this gitlab-runner binary instead of building one from source
#   MLOPS_ZENML_VERSION           ZenML release of the zenml-server image (default: the pinned one below;
#                                 e.g. the previous release, to test playbooks/upgrade.yml)
set -euo pipefail
shopt -s inherit_errexit

# Bump to invalidate every cached image.
readonly SCRIPT_VERSION=1
# Bump when the base rootfs recipe (build_base / customize_rootfs) changes.
readonly BASE_RECIPE_VERSION=1

readonly DEBIAN_SUITE=bookworm
readonly PYTHON_TAG=3.11-bookworm
readonly MARIADB_TAG=10.11
# Debian bookworm's caddy package.
readonly CADDY_TAG=2.6
readonly ZENML_VERSION=0.98.0
readonly ZENML_SERVER_VERSION="${MLOPS_ZENML_VERSION:-$ZENML_VERSION}"
# The CI job image's tag names its pinned client versions (images/ci-job/requirements.txt).
readonly MLFLOW_VERSION=3.17.2
readonly CI_JOB_TAG=zenml-$ZENML_VERSION-mlflow-$MLFLOW_VERSION

# MinIO server, built on the host with `go install`. The Go module proxy reachable here answers
# "403 This module version is not available" for the release tag RELEASE.2025-10-15T17-29-55Z and
# for the pseudo-version of that release's commit; the only version it serves is this final
# post-archive commit of master (2026-02-12), which contains the fix shipped in that release.
readonly MINIO_MODULE=github.com/minio/minio
readonly MINIO_MODULE_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
readonly MINIO_TAG=RELEASE.2025-10-15T17-29-55Z-git7aac2a2

# GitLab Runner. The proxy refuses release tags (v18.x: 403); @latest resolves to this main-branch
# commit of 2026-09-03. `go install module@version` refuses it because its go.mod has a replace
# directive, so the script builds the downloaded module source instead (see images/gitlab-runner/README.md).
readonly GITLAB_RUNNER_MODULE=gitlab.com/gitlab-org/gitlab-runner
readonly GITLAB_RUNNER_MODULE_VERSION=v1.11.1-0.20260903214710-fc1f1862bd91

# debootstrap lives in /usr/sbin, which is not on every root PATH (e.g. after plain `su`).
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

readonly LABEL_KEY=org.onprem-mlops.context-hash
readonly ALL_TARGETS=(base python mariadb minio caddy zenml-server ci-job gitlab-runner)

PREFIX="${MLOPS_IMAGE_PREFIX:-onprem-mlops}"
MIRROR="${MLOPS_DEBIAN_MIRROR:-$(python3 "$(dirname "${BASH_SOURCE[0]}")/apt-mirror.py" main || true)}"
SECURITY_MIRROR="${MLOPS_DEBIAN_SECURITY_MIRROR-$(python3 "$(dirname "${BASH_SOURCE[0]}")/apt-mirror.py" security || true)}"
CACHE_DIR="${MLOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/onprem-mlops}"
HOST_CA_BUNDLE="${MLOPS_HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
GITLAB_RUNNER_BINARY="${MLOPS_GITLAB_RUNNER_BINARY:-}"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGES_DIR="$REPO_ROOT/images"
LOG_DIR="$CACHE_DIR/logs"

FORCE=0
VERBOSE=0

usage() {
  sed -n 's/^# \{0,1\}Usage: /Usage: /p' "${BASH_SOURCE[0]}"
  echo "Targets: all ${ALL_TARGETS[*]} (dependencies are built first)."
}

log() { printf '%s\n' "$*" >&2; }
die() {
  log "build-images: error: $*"
  exit 1
}

sha256() { sha256sum | cut -d' ' -f1; }

image_ref() {
  case "$1" in
    base) echo "$PREFIX/debian:$DEBIAN_SUITE" ;;
    python) echo "$PREFIX/python:$PYTHON_TAG" ;;
    mariadb) echo "$PREFIX/mariadb:$MARIADB_TAG" ;;
    minio) echo "$PREFIX/minio:$MINIO_TAG" ;;
    caddy) echo "$PREFIX/caddy:$CADDY_TAG" ;;
    zenml-server) echo "$PREFIX/zenml-server:$ZENML_SERVER_VERSION" ;;
    ci-job) echo "$PREFIX/ci-job:$CI_JOB_TAG" ;;
    gitlab-runner) echo "$PREFIX/gitlab-runner:$(gitlab_runner_tag)" ;;
    *) die "unknown target: $1" ;;
  esac
}

parent_of() {
  case "$1" in
    base) echo "" ;;
    zenml-server | ci-job) echo python ;;
    *) echo base ;;
  esac
}

image_label() {
  docker image inspect --format "{{ index .Config.Labels \"$LABEL_KEY\" }}" "$1" 2>/dev/null || true
}

image_id() {
  docker image inspect --format '{{ .Id }}' "$1" 2>/dev/null || true
}

# True if every tag exists, points at one image and carries the expected hash label.
up_to_date() {
  local hash=$1 ref id
  shift
  [[ $FORCE -eq 0 ]] || return 1
  [[ "$(image_label "$1")" == "$hash" ]] || return 1
  id="$(image_id "$1")"
  for ref in "${@:2}"; do
    [[ "$(image_id "$ref")" == "$id" ]] || docker tag "$id" "$ref"
  done
}

# Remove an image this script built before, once a rebuild has left it without tags.
drop_if_untagged() {
  local old=$1 new=$2
  [[ -n $old && $old != "$new" ]] || return 0
  if [[ "$(docker image inspect --format '{{ len .RepoTags }}' "$old" 2>/dev/null)" == 0 ]]; then
    docker image rm "$old" >/dev/null 2>&1 || true
  fi
}

report() { # ref status seconds
  printf '%-62s %-11s %4ss\n' "$1" "$2" "$3"
}

# Run a command with its output in the target's log (and on the terminal with --verbose).
run_logged() {
  local logfile=$1
  shift
  if [[ $VERBOSE -eq 1 ]]; then
    "$@" 2>&1 | tee -a "$logfile"
    return "${PIPESTATUS[0]}"
  fi
  "$@" >>"$logfile" 2>&1
}

show_log_tail() {
  log "---- last lines of $1 ----"
  tail -n 25 "$1" >&2 || true
  log "----"
}

# --- build contexts ----------------------------------------------------------------------------
# A context is a list of "dest=src" entries: the files of images/<name>/ (without *.md and
# Dockerfile.upstream) plus generated ones (CA bundle, binaries), staged only when building.
CTX=()

context_from_dir() {
  local dir="$IMAGES_DIR/$1" rel
  [[ -f "$dir/Dockerfile" ]] || die "missing $dir/Dockerfile"
  CTX=()
  while IFS= read -r -d '' rel; do
    CTX+=("$rel=$dir/$rel")
  done < <(cd "$dir" && find . -type f ! -name '*.md' ! -name 'Dockerfile.upstream' -printf '%P\0' | LC_ALL=C sort -z)
}

context_hash() {
  local entry dest src
  for entry in "${CTX[@]}"; do
    dest=${entry%%=*}
    src=${entry#*=}
    [[ -f $src ]] || die "missing build context file: $src"
    printf '%s %s %s\n' "$dest" "$(stat -c %a "$src")" "$(sha256 <"$src")"
  done | LC_ALL=C sort | sha256
}

stage_context() {
  local dir=$1 entry dest src
  rm -rf "$dir"
  mkdir -p "$dir"
  for entry in "${CTX[@]}"; do
    dest=${entry%%=*}
    src=${entry#*=}
    mkdir -p "$dir/$(dirname "$dest")"
    cp -p "$src" "$dir/$dest"
  done
}

# Build target $1 from CTX with build args $BUILD_ARGS, tags: $2 (primary) and the rest.
BUILD_ARGS=()
build_image() {
  local name=$1 ref=$2 parent hash old_id new_id start ctx_dir logfile arg
  local tag_args=()
  start=$SECONDS
  parent="$(parent_of "$name")"
  hash="$({
    echo "script=$SCRIPT_VERSION target=$name"
    [[ -z $parent ]] || echo "parent=$(image_label "$(image_ref "$parent")")"
    printf 'arg=%s\n' "${BUILD_ARGS[@]}"
    context_hash
  } | sha256)"
  if up_to_date "$hash" "${@:2}"; then
    report "$ref" "up to date" $((SECONDS - start))
    return 0
  fi
  logfile="$LOG_DIR/$name.log"
  : >"$logfile"
  ctx_dir="$CACHE_DIR/context/$name"
  stage_context "$ctx_dir"
  for arg in "${@:2}"; do tag_args+=(-t "$arg"); done
  for arg in "${BUILD_ARGS[@]}"; do tag_args+=(--build-arg "$arg"); done
  old_id="$(image_id "$ref")"
  log "building $ref (log: $logfile)"
  if ! DOCKER_BUILDKIT=0 run_logged "$logfile" docker build --rm --force-rm \
    --label "$LABEL_KEY=$hash" "${tag_args[@]}" "$ctx_dir"; then
    show_log_tail "$logfile"
    rm -rf "$ctx_dir"
    report "$ref" "FAILED" $((SECONDS - start))
    return 1
  fi
  rm -rf "$ctx_dir"
  new_id="$(image_id "$ref")"
  drop_if_untagged "$old_id" "$new_id"
  report "$ref" "built" $((SECONDS - start))
}

# --- base: debootstrap + docker import -----------------------------------------------------------
ensure_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return 0
  [[ $EUID -eq 0 ]] || die "debootstrap is missing; install it (apt-get install debootstrap) or run as root"
  log "installing debootstrap with apt-get"
  apt-get update -qq >>"$LOG_DIR/base.log" 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >>"$LOG_DIR/base.log" 2>&1 ||
    die "apt-get install debootstrap failed (see $LOG_DIR/base.log)"
}

# Make the debootstrapped tree behave like Debian's official (slim) container images.
customize_rootfs() {
  local root=$1 signed=/usr/share/keyrings/debian-archive-keyring.gpg
  rm -f "$root/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n' \
      "$MIRROR" "$DEBIAN_SUITE" "$DEBIAN_SUITE" "$signed"
    if [[ -n $SECURITY_MIRROR ]]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
        "$SECURITY_MIRROR" "$DEBIAN_SUITE" "$signed"
    fi
  } >"$root/etc/apt/sources.list.d/debian.sources"
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-defaults" <<'EOF'
Acquire::Languages "none";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
EOF
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/{man,info,groff,lintian,linda}/*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  # No services may start while packages are installed in a container build.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  # Docker provides these at run time; do not ship the build host's.
  : >"$root/etc/resolv.conf"
  rm -f "$root/etc/hostname"
  [[ ! -e "$root/etc/machine-id" ]] || : >"$root/etc/machine-id"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  find "$root/var/log" -type f -delete
  mkdir -p "$root/var/lib/apt/lists/partial"
}

build_base() {
  local ref start hash rootfs old_id new_id logfile
  ref="$(image_ref base)"
  start=$SECONDS
  [[ -n $MIRROR ]] || die "no Debian mirror found in this machine's APT sources (/etc/apt/sources.list," \
    "/etc/apt/sources.list.d/): set MLOPS_DEBIAN_MIRROR to the mirror's URI"
  hash="$(printf 'script=%s recipe=%s suite=%s mirror=%s security=%s\n' "$SCRIPT_VERSION" \
    "$BASE_RECIPE_VERSION" "$DEBIAN_SUITE" "$MIRROR" "$SECURITY_MIRROR" | sha256)"
  if up_to_date "$hash" "$ref"; then
    report "$ref" "up to date" $((SECONDS - start))
    return 0
  fi
  [[ $EUID -eq 0 ]] || die "the base image needs root (debootstrap, reading the whole rootfs)"
  logfile="$LOG_DIR/base.log"
  : >"$logfile"
  rootfs="$CACHE_DIR/rootfs/$DEBIAN_SUITE-${hash:0:12}"
  if [[ $FORCE -eq 1 || ! -f "$rootfs.done" ]]; then
    ensure_debootstrap
    rm -rf "$rootfs" "$rootfs.tmp" "$rootfs.done"
    mkdir -p "$CACHE_DIR/rootfs"
    log "debootstrap $DEBIAN_SUITE from $MIRROR (log: $logfile)"
    if ! run_logged "$logfile" debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs.tmp" "$MIRROR"; then
      show_log_tail "$logfile"
      rm -rf "$rootfs.tmp"
      report "$ref" "FAILED" $((SECONDS - start))
      return 1
    fi
    customize_rootfs "$rootfs.tmp"
    mv "$rootfs.tmp" "$rootfs"
    touch "$rootfs.done"
  fi
  # Keep only the current rootfs.
  find "$CACHE_DIR/rootfs" -mindepth 1 -maxdepth 1 ! -name "$(basename "$rootfs")" \
    ! -name "$(basename "$rootfs").done" -exec rm -rf {} +
  old_id="$(image_id "$ref")"
  if ! tar --numeric-owner -C "$rootfs" -c . |
    docker import \
      --change "LABEL $LABEL_KEY=$hash" \
      --change "LABEL org.opencontainers.image.title=debian-$DEBIAN_SUITE-minbase" \
      --change 'ENV LANG=C.UTF-8' \
      --change 'CMD ["bash"]' \
      - "$ref" >>"$logfile" 2>&1; then
    show_log_tail "$logfile"
    report "$ref" "FAILED" $((SECONDS - start))
    return 1
  fi
  new_id="$(image_id "$ref")"
  drop_if_untagged "$old_id" "$new_id"
  report "$ref" "built" $((SECONDS - start))
}

# --- Go binaries ---------------------------------------------------------------------------------
# Version of module $2 recorded in Go binary $1 ("" if unknown).
go_binary_version() {
  command -v go >/dev/null 2>&1 || return 0
  go version -m "$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m { print $3 }'
}

minio_binary() {
  local gobin="$CACHE_DIR/gobin-minio" logfile="$LOG_DIR/minio.log" have
  if [[ -x "$gobin/minio" ]]; then
    have="$(go_binary_version "$gobin/minio" "$MINIO_MODULE")"
    [[ -n $have && $have != "$MINIO_MODULE_VERSION" ]] || return 0
    log "$gobin/minio is $have, want $MINIO_MODULE_VERSION: rebuilding"
  fi
  command -v go >/dev/null 2>&1 || die "no MinIO binary in $gobin and no Go toolchain to build one"
  : >"$logfile"
  log "go install $MINIO_MODULE@$MINIO_MODULE_VERSION (several minutes; log: $logfile)"
  if ! CGO_ENABLED=0 GOBIN="$gobin" run_logged "$logfile" go install "$MINIO_MODULE@$MINIO_MODULE_VERSION"; then
    show_log_tail "$logfile"
    return 1
  fi
}

# Short commit of a Go pseudo-version (v1.2.3-0.20260903214710-fc1f1862bd91 -> fc1f1862).
pseudo_commit() { local c=${1##*-}; echo "${c:0:8}"; }

gitlab_runner_tag() {
  local v
  if [[ -n $GITLAB_RUNNER_BINARY ]]; then
    v="$("$GITLAB_RUNNER_BINARY" --version 2>/dev/null | awk '$1 == "Version:" { print $2 }')"
    [[ -n $v ]] || die "cannot read the version of $GITLAB_RUNNER_BINARY"
    echo "v$v"
  else
    echo "dev-$(pseudo_commit "$GITLAB_RUNNER_MODULE_VERSION")"
  fi
}

gitlab_runner_binary() {
  local out="$CACHE_DIR/gobin-gitlab-runner/gitlab-runner" logfile="$LOG_DIR/gitlab-runner-go.log"
  local moddir src rev when ver refused ns=gitlab.com/gitlab-org/gitlab-runner/common
  command -v go >/dev/null 2>&1 || {
    log "no Go toolchain to build gitlab-runner (set MLOPS_GITLAB_RUNNER_BINARY to use a binary)"
    return 1
  }
  : >"$logfile"
  moddir="$(go mod download -json "$GITLAB_RUNNER_MODULE@$GITLAB_RUNNER_MODULE_VERSION" 2>>"$logfile" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  if [[ -z $moddir || ! -f "$moddir/go.mod" ]]; then
    show_log_tail "$logfile"
    return 1
  fi
  if [[ -x $out && "$(cat "$out.version" 2>/dev/null)" == "$GITLAB_RUNNER_MODULE_VERSION" ]]; then
    return 0
  fi
  # `go install module@version` refuses modules whose go.mod has replace directives; this one
  # replaces its nested module helpers/runner_wrapper/api by a directory missing from the module
  # zip, so build a writable copy of the source against the published api module instead.
  src="$CACHE_DIR/src/gitlab-runner"
  rm -rf "$src"
  mkdir -p "$(dirname "$src")" "$(dirname "$out")"
  cp -r "$moddir" "$src"
  chmod -R u+w "$src"
  rev="$(pseudo_commit "$GITLAB_RUNNER_MODULE_VERSION")"
  when="${GITLAB_RUNNER_MODULE_VERSION%-*}"
  when="${when##*.}"
  ver="$(cat "$src/VERSION")~pre.g$rev"
  log "building gitlab-runner $ver from $GITLAB_RUNNER_MODULE@$GITLAB_RUNNER_MODULE_VERSION (log: $logfile)"
  if ! (
    cd "$src" &&
      go mod edit -dropreplace=gitlab.com/gitlab-org/gitlab-runner/helpers/runner_wrapper/api &&
      CGO_ENABLED=0 GOFLAGS=-mod=mod run_logged "$logfile" go build -trimpath \
        -ldflags "-s -w -X $ns.NAME=gitlab-runner -X $ns.VERSION=$ver -X $ns.REVISION=$rev -X $ns.BRANCH=main -X $ns.BUILT=$when" \
        -o "$out.tmp" .
  ); then
    rm -rf "$out.tmp" "$src"
    # `reading <GOPROXY>/<module>/@v/<version>.zip: 403 Forbidden`, whichever proxy `go env GOPROXY` names.
    refused="$(sed -n 's|.*reading https\{0,1\}://[^/]*/\(.*\)/@v/\(.*\)\.[a-z]*: 403 Forbidden.*|\1@\2|p' "$logfile" |
      sort -u | tr '\n' ' ')"
    if [[ -n $refused ]]; then
      log "gitlab-runner: the Go module proxy refuses (403 \"This module version is not available\")" \
        "these dependencies: $refused(full log: $logfile)"
    else
      show_log_tail "$logfile"
    fi
    return 1
  fi
  mv "$out.tmp" "$out"
  echo "$GITLAB_RUNNER_MODULE_VERSION" >"$out.version"
  rm -rf "$src"
}

# --- targets -------------------------------------------------------------------------------------
build_target() {
  local name=$1 ref start
  BUILD_ARGS=()
  case "$name" in
    base)
      build_base
      ;;
    python)
      [[ -f $HOST_CA_BUNDLE ]] || die "host CA bundle $HOST_CA_BUNDLE not found (set MLOPS_HOST_CA_BUNDLE)"
      context_from_dir python
      CTX+=("host-ca-bundle.crt=$HOST_CA_BUNDLE")
      BUILD_ARGS=("BASE_IMAGE=$(image_ref base)")
      build_image python "$(image_ref python)"
      ;;
    mariadb)
      context_from_dir mariadb
      BUILD_ARGS=("BASE_IMAGE=$(image_ref base)")
      build_image mariadb "$(image_ref mariadb)"
      ;;
    caddy)
      context_from_dir caddy
      BUILD_ARGS=("BASE_IMAGE=$(image_ref base)")
      build_image caddy "$(image_ref caddy)"
      ;;
    minio)
      ref="$(image_ref minio)"
      start=$SECONDS
      if ! minio_binary; then
        report "$ref" "FAILED" $((SECONDS - start))
        return 1
      fi
      context_from_dir minio
      CTX+=("minio=$CACHE_DIR/gobin-minio/minio")
      BUILD_ARGS=("BASE_IMAGE=$(image_ref base)" "MINIO_VERSION=$MINIO_TAG")
      build_image minio "$ref" "$PREFIX/minio:local"
      ;;
    zenml-server)
      context_from_dir zenml-server
      BUILD_ARGS=("PYTHON_IMAGE=$(image_ref python)" "ZENML_VERSION=$ZENML_SERVER_VERSION")
      build_image zenml-server "$(image_ref zenml-server)"
      ;;
    ci-job)
      context_from_dir ci-job
      BUILD_ARGS=("PYTHON_IMAGE=$(image_ref python)")
      build_image ci-job "$(image_ref ci-job)"
      ;;
    gitlab-runner)
      ref="$(image_ref gitlab-runner)"
      start=$SECONDS
      context_from_dir gitlab-runner
      if [[ -n $GITLAB_RUNNER_BINARY ]]; then
        CTX+=("gitlab-runner=$GITLAB_RUNNER_BINARY")
      elif gitlab_runner_binary; then
        CTX+=("gitlab-runner=$CACHE_DIR/gobin-gitlab-runner/gitlab-runner")
      else
        log "gitlab-runner: building the binary from $GITLAB_RUNNER_MODULE@$GITLAB_RUNNER_MODULE_VERSION failed" \
          "(see images/gitlab-runner/README.md; MLOPS_GITLAB_RUNNER_BINARY=/path/to/gitlab-runner uses a binary instead)"
        report "$ref" "FAILED" $((SECONDS - start))
        return 1
      fi
      BUILD_ARGS=("BASE_IMAGE=$(image_ref base)" "GITLAB_RUNNER_VERSION=${ref##*:}")
      build_image gitlab-runner "$ref" "$PREFIX/gitlab-runner:local"
      ;;
  esac
}

main() {
  local arg target t rc runner_fatal=0 explicit=() selected=()
  local -A want=() failed=()
  for arg in "$@"; do
    case "$arg" in
      -h | --help)
        usage
        return 0
        ;;
      -f | --force) FORCE=1 ;;
      -v | --verbose) VERBOSE=1 ;;
      all) explicit+=("${ALL_TARGETS[@]}") ;;
      gitlab-runner)
        # A failing gitlab-runner build is fatal only when it is asked for by name.
        explicit+=("$arg")
        runner_fatal=1
        ;;
      base | python | mariadb | minio | caddy | zenml-server | ci-job) explicit+=("$arg") ;;
      *)
        usage >&2
        die "unknown argument: $arg"
        ;;
    esac
  done
  [[ ${#explicit[@]} -gt 0 ]] || explicit=("${ALL_TARGETS[@]}")
  for target in "${explicit[@]}"; do
    t=$target
    while [[ -n $t ]]; do
      want[$t]=1
      t="$(parent_of "$t")"
    done
  done
  for target in "${ALL_TARGETS[@]}"; do
    [[ -z ${want[$target]:-} ]] || selected+=("$target")
  done

  command -v docker >/dev/null 2>&1 || die "docker CLI not found"
  docker info >/dev/null 2>&1 || die "cannot talk to the Docker daemon"
  mkdir -p "$CACHE_DIR" "$LOG_DIR"

  for target in "${selected[@]}"; do
    t="$(parent_of "$target")"
    if [[ -n $t && -n ${failed[$t]:-} ]]; then
      report "$(image_ref "$target")" "skipped" 0
      failed[$target]=1
      continue
    fi
    # A subshell keeps `set -e` in force inside the build functions.
    set +e
    (
      set -e
      build_target "$target"
    )
    rc=$?
    set -e
    [[ $rc -ne 0 ]] || continue
    if [[ $target == gitlab-runner && $runner_fatal -eq 0 ]]; then
      log "build-images: warning: gitlab-runner image not built; continuing (see images/gitlab-runner/README.md)"
      continue
    fi
    failed[$target]=1
  done
  if [[ ${#failed[@]} -gt 0 ]]; then
    die "failed: ${!failed[*]} (logs in $LOG_DIR)"
  fi
}

main "$@"
