// sieve_bench: what one Sieve script costs, away from the network. Compiles
// the script many times (compile time) and runs the global script then the
// user script (the delivery chain) over every message of a directory many
// times (run time per message), single-threaded, with the real compiler
// and interpreter. Bounded by its iteration counts.
//
// Usage: sieve_bench USER_SCRIPT GLOBAL_SCRIPT MESSAGE_DIR [ROUNDS]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sieve/compile.h"
#include "sieve/interpreter.h"

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mailfort::sieve;
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s USER_SCRIPT GLOBAL_SCRIPT MESSAGE_DIR [ROUNDS]\n", argv[0]);
    return 2;
  }
  int rounds = argc > 4 ? std::atoi(argv[4]) : 20;
  std::string user_text = slurp(argv[1]), global_text = slurp(argv[2]);
  std::vector<std::string> messages;
  for (const auto& e : std::filesystem::directory_iterator(argv[3]))
    if (e.is_regular_file()) messages.push_back(slurp(e.path()));
  if (messages.empty()) {
    std::fprintf(stderr, "no messages in %s\n", argv[3]);
    return 2;
  }

  const int compiles = 2000;
  auto t0 = std::chrono::steady_clock::now();
  CompileResult user, global;
  for (int i = 0; i < compiles; ++i) user = compile(user_text);
  double compile_s = seconds_since(t0);
  global = compile(global_text);
  if (!user.ok() || !global.ok()) {
    for (const auto& e : user.errors) std::fprintf(stderr, "%s\n", format_error(argv[1], e).c_str());
    for (const auto& e : global.errors) std::fprintf(stderr, "%s\n", format_error(argv[2], e).c_str());
    return 1;
  }

  std::vector<ScriptRef> chain{{"before:spam-global", global.script, true}, {"personal:main", user.script, false}};
  Host host;
  Limits limits;
  std::size_t runs = 0, kept = 0, steps = 0;
  t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (const auto& m : messages) {
      MessageInput in;
      in.message = m;
      in.envelope_from = "sender@example.org";
      in.envelope_to = "user1+news@example.test";
      in.user = "user1@example.test";
      in.now = 1796371200;
      Outcome o = run(chain, in, host, limits);
      ++runs;
      kept += o.implicit_keep ? 1 : 0;
      steps += o.steps;
    }
  }
  double run_s = seconds_since(t0);
  std::printf(
      "{\"compile_us\": %.1f, \"run_us_per_message\": %.2f, \"messages\": %zu, \"runs\": %zu, "
      "\"implicit_keep_share\": %.3f, \"steps_per_run\": %.1f}\n",
      1e6 * compile_s / compiles, 1e6 * run_s / runs, messages.size(), runs, double(kept) / runs,
      double(steps) / runs);
  return 0;
}
