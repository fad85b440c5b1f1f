#!/usr/bin/env bash
# Sets up and runs every test: installs packages, builds, runs the unit tests
# (CTest), the integration tests (pytest against the real binary on loopback),
# then rebuilds with AddressSanitizer + UndefinedBehaviorSanitizer and runs
# the unit tests again, and runs each libFuzzer target for a bounded time.
# Environment: SKIP_SANITIZERS=1, SKIP_FUZZ=1 to shorten a local run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/install-deps.sh --test
start=$(date +%s)
# Each phase's heading says how long the run has taken so far.
phase() { echo "== [$(($(date +%s) - start))s] $*"; }

phase "build (RelWithDebInfo)"
BUILD_DIR=build bash scripts/build.sh
phase "unit tests"
ctest --test-dir build --output-on-failure -j"$(nproc)"

phase "integration tests"
# Files run in parallel (pytest-xdist, one file per worker at a time): every
# test starts its own servers on ports from tests/integration/ports.py.
MAILFORT_BIN=$ROOT/build/mailfort /usr/bin/python3 -m pytest tests/integration -q -p no:cacheprovider \
  -n "${TEST_WORKERS:-3}" --dist loadfile

if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
  phase "build with ASan+UBSan"
  BUILD_DIR=build-asan bash scripts/build.sh -DCMAKE_BUILD_TYPE=Debug -DMAILFORT_SANITIZE=address,undefined
  phase "unit tests under ASan+UBSan"
  # alloc_dealloc_mismatch=0: asio (1.22) allocates coroutine frames with
  # aligned_alloc or operator new depending on whether libstdc++'s config was
  # seen before asio's own headers in a translation unit, and frees them the
  # same way; template code merged across units can pair operator new with
  # free, which glibc allows and ASan reports.
  ASAN_OPTIONS=detect_leaks=1:alloc_dealloc_mismatch=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$(nproc)"
  phase "hostile-input (SMTP, IMAP, POP3, ManageSieve), filtering, Sieve and outbound queue integration tests against the ASan+UBSan server"
  # halt_on_error: any ASan/UBSan report kills the server, which the
  # fixtures see as an unclean exit. The OpenSPF and ARC suites (400 runs of
  # the CLI, a second each under ASan) run only in the main pass above: the
  # record parsers they exercise are fuzzed under ASan+UBSan below.
  ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:alloc_dealloc_mismatch=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    MAILFORT_BIN=$ROOT/build-asan/mailfort /usr/bin/python3 -m pytest tests/integration/test_smtp_receive.py \
    tests/integration/test_imap.py tests/integration/test_pop3.py tests/integration/test_outbound_queue.py \
    tests/integration/test_hostile_memory.py tests/integration/test_hostile_auth.py \
    tests/integration/test_hostile_submission.py \
    tests/integration/test_imap_list_parse.py tests/integration/test_imap_append_ext.py \
    tests/integration/test_imap_ext.py tests/integration/test_imap_sort_thread.py \
    tests/integration/test_imap_qresync.py \
    tests/integration/test_dkim_verify.py \
    tests/integration/test_dmarc.py tests/integration/test_postscreen.py tests/integration/test_srs_forward.py \
    tests/integration/test_spam_hostile.py tests/integration/test_spam_filter.py tests/integration/test_antivirus.py \
    tests/integration/test_milter.py tests/integration/test_managesieve.py tests/integration/test_sieve_delivery.py \
    -q -p no:cacheprovider -n 2 --dist loadfile \
    -k "bdat or smuggling or bare or overlong or odd_usernames or pipelining or injection or relay or hostile or starttls or delivered_mail or search or store_copy or idle or list_retr or outbound_queue or atoms or sequence_numbers or catenate or urlauth or urlfetch or multiappend or compress_deflate or compress_pipelined or refusals or notify_overflow or thread_references or dkim_verify or test_dmarc or postscreen or srs_forward or spam_hostile or spam_filter or antivirus or test_milter or managesieve or sieve_delivery"
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  phase "fuzz targets (clang, libFuzzer, bounded time)"
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMAILFORT_FUZZ=ON -DMAILFORT_TESTS=OFF >/dev/null
  cmake --build build-fuzz --target fuzzers -j"$(nproc)"
  for f in build-fuzz/*_fuzz; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    dict=$(find src -name "$name.dict" | head -1)
    echo "-- $name"
    "$f" -max_total_time="${FUZZ_SECONDS:-10}" -print_final_stats=0 ${dict:+-dict=$dict} -artifact_prefix=build-fuzz/ 2>&1 | tail -2
  done
fi
echo "== all tests passed in $(( $(date +%s) - start ))s"
