#!/usr/bin/env bash
# Install the Terraform version pinned in .terraform-version (the one place it is pinned) into DEST,
# and put it on PATH for the pipeline's later steps. The zip is checked, before it is unpacked,
# against the sha256 committed in terraform.sha256sums for that version, OS and CPU: a sum fetched
# from the same server as the zip would vouch for nothing a compromised server could not forge.
#
#   scripts/install_terraform.sh [DEST]     DEST defaults to ~/.local/share/terraform/<version>
#
# An existing DEST/terraform of the right version is reused (the pipeline caches DEST; its key is
# .terraform-version plus terraform.sha256sums).
# TERRAFORM_RELEASES_URL overrides the release server (a mirror; the tests use a local one).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

version=$(tr -d '[:space:]' < "$REPO_ROOT/.terraform-version")
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
  || die ".terraform-version: '$version' is not a release version (MAJOR.MINOR.PATCH)"
dest=${1:-$HOME/.local/share/terraform/$version}
releases=${TERRAFORM_RELEASES_URL:-https://releases.hashicorp.com/terraform}

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) die "unsupported OS $(uname -s)" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "unsupported CPU $(uname -m)" ;;
esac

installed_version() {
  [[ -x $dest/terraform ]] || return 0
  "$dest/terraform" version -json 2>/dev/null \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["terraform_version"])' 2>/dev/null || true
}

if [[ $(installed_version) == "$version" ]]; then
  echo "terraform $version already in $dest"
else
  zip=terraform_${version}_${os}_${arch}.zip
  sums=$REPO_ROOT/terraform.sha256sums
  [[ -f $sums ]] || die "terraform.sha256sums not found: it pins the sha256 of each Terraform zip (docs/cicd.md)"
  expected=$(awk -v f="$zip" '!/^#/ && $2 == f { print $1 }' "$sums")
  [[ -n $expected ]] || die "terraform.sha256sums has no sha256 for $zip: add the verified sums of Terraform $version (docs/cicd.md)"
  [[ $expected =~ ^[0-9a-f]{64}$ ]] || die "terraform.sha256sums: the entry for $zip is not a sha256 (64 lowercase hex digits)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "downloading $releases/$version/$zip"
  curl --fail --silent --show-error --location --retry 3 -o "$work/$zip" "$releases/$version/$zip" \
    || die "download of $zip failed"
  actual=$(sha256sum "$work/$zip" | cut -d' ' -f1)
  [[ $actual == "$expected" ]] \
    || die "checksum mismatch for $zip: its sha256 is $actual, terraform.sha256sums pins $expected; refusing to install it"
  echo "sha256 of $zip matches terraform.sha256sums"
  python3 -m zipfile -e "$work/$zip" "$work/unpacked"
  [[ -f $work/unpacked/terraform ]] || die "$zip has no terraform binary"
  mkdir -p "$dest"
  install -m 0755 "$work/unpacked/terraform" "$dest/terraform"
  [[ $(installed_version) == "$version" ]] || die "installed binary does not report version $version"
  echo "installed terraform $version into $dest"
fi

if [[ -n ${TF_PLUGIN_CACHE_DIR:-} ]]; then mkdir -p "$TF_PLUGIN_CACHE_DIR"; fi
if [[ -n ${TF_BUILD:-} ]]; then echo "##vso[task.prependpath]$dest"; fi
