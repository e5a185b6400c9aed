#!/usr/bin/env bash
# Optional system packages the tests use: Graphviz (graph drawings), Open MPI (distributed
# training), pdflatex (checks that `chainrule explain --format latex` compiles) and Debian's chromium
# (the playground's browser tests; Playwright drives it, and never downloads a browser of its own). Installed only where this can be done without asking (root with apt-get); elsewhere
# the tests that need them skip and say why.
set -u
missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
command -v mpicc >/dev/null 2>&1 || missing+=(openmpi-bin libopenmpi-dev)
command -v pdflatex >/dev/null 2>&1 || missing+=(texlive-latex-base)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || echo "could not install ${missing[*]}; the tests that need them will skip"
else
  echo "not installing ${missing[*]} (needs root and apt-get); the tests that need them will skip"
fi
exit 0
