#!/usr/bin/env bash
# Installs the Debian 12 packages Keel needs (only those missing), then
# configures and builds it. Used by tools/demo.sh and tools/test.sh.
# The flags combine (tools/setup.sh --with-test-tools --with-bench-tools).
#   tools/setup.sh [--with-test-tools]    # also clang + libFuzzer runtime, the test servers, and the browser
#                                         # test's Chromium, Node.js and playwright-core (tests/browser)
#   tools/setup.sh --with-demo-tools      # also what tools/demo.sh runs: the SMTP sink, curl, openssl
#   tools/setup.sh --with-bench-tools     # also the LangGraph.js side of keel_agent_bench (W6): Node.js >= 20 and
#                                         # bench/langgraph's npm packages (npm ci; better-sqlite3 builds from source)
# Environment: KEEL_BUILD_DIR (default: build), KEEL_BUILD_TYPE (RelWithDebInfo).
set -euo pipefail
cd "$(dirname "$0")/.."

test_tools=0 demo_tools=0 bench_tools=0
for arg in "$@"; do
  case "$arg" in
    --with-test-tools) test_tools=1 ;;
    --with-demo-tools) demo_tools=1 ;;
    --with-bench-tools) bench_tools=1 ;;
    *) echo "setup: unknown option '$arg'; the options are --with-test-tools, --with-demo-tools, --with-bench-tools" >&2
       exit 2 ;;
  esac
done

packages=(build-essential cmake ccache
          libcaf-dev libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libleveldb-dev libsnappy-dev
          libboost-dev libboost-test-dev libcli11-dev nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
          libjemalloc-dev pkg-config libsodium-dev libcpp-httplib-dev libhnswlib-dev libssl-dev libvalijson-dev
          libstemmer-dev wordnet-base libcctz-dev tzdata help2man)
if ((test_tools)); then
  packages+=(clang libclang-rt-14-dev procps prometheus python3 python3-aiosmtpd openssl curl chromium json-schema-test-suite
            lintian systemd)
fi
((demo_tools)) && packages+=(python3 python3-aiosmtpd openssl curl)
((bench_tools)) && packages+=(python3 make g++ valgrind)  # node-gyp builds better-sqlite3 with the first three; bench/callgrind_node.sh counts instructions
if ((test_tools || bench_tools)) && ! command -v node >/dev/null; then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "setup: need root to install ${missing[*]}; run as root or install them with apt-get" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ((test_tools)) && [[ ! -d tests/browser/node_modules ]]; then
  echo "setup: installing the browser test's playwright-core (npm ci in tests/browser)"
  (cd tests/browser && npm ci --no-audit --no-fund >/dev/null)
fi

if ((bench_tools)) && [[ ! -d bench/langgraph/node_modules ]]; then
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if ((node_major < 20)); then
    echo "setup: the LangGraph.js bench needs Node.js >= 20 (@langchain/core); this machine has $(node --version 2>/dev/null || echo none)" >&2
    exit 1
  fi
  echo "setup: installing the LangGraph.js bench's packages (npm ci in bench/langgraph; building better-sqlite3 takes minutes)"
  # node-gyp takes Node's headers from the system when they are there instead of downloading them.
  [[ -f /usr/include/node/node.h ]] && export npm_config_nodedir=/usr
  (cd bench/langgraph && nice -n 10 npm ci --no-audit --no-fund >/dev/null)
fi

build_dir=${KEEL_BUILD_DIR:-build}
# Prefix /usr: the layout of the Debian package (cmake/package.cmake).
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${KEEL_BUILD_TYPE:-RelWithDebInfo}" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
echo "setup: building in $build_dir ($(nproc) jobs)"
cmake --build "$build_dir" -j"$(nproc)"
