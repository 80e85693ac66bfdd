// libFuzzer harness: the bootstrap server's request handling (native/ftb/bootstrap_registry.h
// and the per-source rate limiter, bootstrap_limits.h) fed what anyone who reaches its UDP port
// can send - arbitrary 144-byte datagrams from a few source addresses, with agents found alive,
// refused or silent by the liveness probe - and checked for more than "no crash": the caps hold,
// every kept name is a normalised IPv4 address with a real port, levels are consistent with the
// tree, child counts match the entries, and each reply has the type its request calls for and
// names a registered parent above the requester. Built and run by scripts/fuzz.sh.
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <map>
#include <string>

#include "ftb/bootstrap_limits.h"
#include "ftb/bootstrap_registry.h"

namespace {

using namespace crftb::ftb;

constexpr size_t kSources = 4;
constexpr size_t kMaxEntries = 12;
constexpr size_t kMaxPerSource = 5;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool Canonical(const std::string& name) {
  in_addr parsed{};
  char text[INET_ADDRSTRLEN];
  return inet_pton(AF_INET, name.c_str(), &parsed) == 1 && name == inet_ntop(AF_INET, &parsed, text, sizeof text);
}

// Gives the fuzzer addresses that parse, which it would rarely find on its own.
void MaybeAddress(bool use, uint8_t host, int32_t port, wire::BootstrapAddr* addr) {
  if (!use) return;
  addr->name.set("127.0.0." + std::to_string(host % 8));
  addr->port = 1 + (port & 7);
}

void CheckInvariants(const BootstrapRegistry& registry) {
  const auto& entries = registry.entries();
  Check(entries.size() <= kMaxEntries);
  std::map<uint32_t, size_t> per_source;
  std::map<std::string, unsigned> children;
  for (const BootstrapEntry& entry : entries) {
    Check(Canonical(entry.addr.name));
    Check(entry.addr.port > 0 && entry.addr.port <= 65535);
    Check(entry.level >= 1);
    Check(++per_source[entry.source] <= kMaxPerSource);
    if (entry.parent) ++children[entry.parent->name + ":" + std::to_string(entry.parent->port)];
  }
  for (const BootstrapEntry& entry : entries) {
    Check(registry.ChildrenOf(entry.addr) == children[entry.addr.name + ":" + std::to_string(entry.addr.port)]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ProbeResult verdict = ProbeResult::kAlive;
  BootstrapRegistryOptions options;
  options.fanout = 2;
  options.max_entries = kMaxEntries;
  options.max_entries_per_source = kMaxPerSource;
  options.probe = [&verdict](const std::vector<BootstrapEndpoint>& endpoints) {
    return std::vector<ProbeResult>(endpoints.size(), verdict);
  };
  BootstrapRegistry registry(options);
  SourceRateLimiter limiter(50, 2);
  int64_t now_ms = 0;

  size_t at = 0;
  while (at < size) {
    const uint8_t op = data[at++];
    wire::BootstrapPacket request;
    memset(&request, 0, sizeof request);
    const size_t take = size - at < sizeof request ? size - at : sizeof request;
    memcpy(&request, data + at, take);
    at += take;
    const uint32_t source = htonl(0x7f000001 + (op & 3) % kSources);
    verdict = static_cast<ProbeResult>((op >> 2) % 3);
    MaybeAddress(op & 0x10, request.addr.name.bytes[1], request.addr.port, &request.addr);
    MaybeAddress(op & 0x20, request.parent_addr.name.bytes[1], request.parent_addr.port, &request.parent_addr);
    if (op & 0x40) request.level = request.level % 4;
    now_ms += op >> 5;
    if (!limiter.Allow(source, now_ms)) continue;

    const std::optional<wire::BootstrapPacket> reply = registry.Handle(request, source);
    switch (request.type) {
      case wire::kAddrReq: {
        Check(reply && reply->type == wire::kAddrRep);
        if (reply->parent_addr.port != 0) {
          const std::string name = reply->parent_addr.name.get();
          bool found = false;
          for (const BootstrapEntry& entry : registry.entries()) {
            if (entry.addr.name == name && entry.addr.port == reply->parent_addr.port) {
              found = !entry.crossed_out && entry.level == reply->level && entry.level < request.level;
            }
          }
          Check(found);
        }
        break;
      }
      case wire::kRegReq:
        Check(request.addr.port == 0 ? !reply
                                     : reply && (reply->type == wire::kRegRep || reply->type == wire::kRegInvalid));
        break;
      case wire::kDeregReq:
        Check(request.addr.port == 0 ? !reply : reply && reply->type == wire::kDeregRep);
        break;
      default:
        Check(!reply);
    }
    if (op == 0xff) registry.Sweep();
    CheckInvariants(registry);
  }
  return 0;
}
