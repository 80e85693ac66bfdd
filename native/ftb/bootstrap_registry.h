// The bootstrap (database) server's state: which agents may act as parents, at which tree level
// (PROTOCOL.md §9.2). Pure logic, no sockets: the server feeds it packets and sends back what it
// returns, so the wire behaviour can be tested packet by packet against the golden captures.
//
// Differences from ftb_database_server 0.6.2, all invisible on the wire:
//  * Dead agents leave the list. A liveness probe (a TCP connect to the agent's listener) decides,
//    and it runs when someone reports the agent unreachable (CONN_FAIL, whose address FTB senders
//    put in `addr`, not `parent_addr`), when an orphan names it as its lost parent (ADDR_REQ), when
//    a second root asks to register (REG_REQ level 1 while a level-1 entry exists), and periodically
//    (Sweep). A refused connect removes the entry at once; a timeout must repeat before it does.
//  * An agent asking for root at the very address of the registered root replaces that stale entry
//    (FTB refused it forever after a SIGKILL).
//  * Parent choice is deterministic: the shallowest eligible agent with fewer than `fanout`
//    children (ties: fewer children, then oldest entry); FTB used an unseeded rand().
//
// Anyone who reaches the port can send anything (README, "FTB bounds"), so:
//  * Addresses are validated and normalised: a registered name must be a dotted quad (or
//    `localhost`) and is kept as inet_ntop writes it, so "127.0.0.1 junk" is 127.0.0.1. A
//    registration naming anything else is refused (REG_INVALID).
//  * Entries are capped, in all and per source address of the requests (REG_INVALID past).
//  * Levels come from the tree the server knows: an agent offered a parent is registered at
//    that parent's level + 1; one that was offered none may only be a root (level 1) or claim a
//    level under an existing entry. Level 0, or a level nothing supports, is refused.
//  * Lookups are hashed and child counts kept, so a request costs O(entries) at most.
#pragma once

#include <stdint.h>

#include <functional>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ftb/wire.h"

namespace crftb::ftb {

enum class ProbeResult { kAlive, kRefused, kTimedOut };

struct BootstrapEndpoint {
  std::string name;
  int32_t port = 0;
  bool operator==(const BootstrapEndpoint& other) const {
    return port == other.port && name == other.name;  // byte-identical name, as FTB compares
  }
};

struct BootstrapEntry {
  BootstrapEndpoint addr;
  uint32_t source = 0;  // IPv4 address (network order) the registration came from
  uint32_t level = 0;
  bool crossed_out = false;                 // an orphan reported it lost but it still answered probes
  std::optional<BootstrapEndpoint> parent;  // the parent it registered under, when known
  int timeouts = 0;                         // consecutive probe timeouts
};

struct BootstrapRegistryOptions {
  unsigned fanout = 0;  // preferred maximum children per parent; 0 = no preference
  // Probes a batch of endpoints (in parallel) and returns one result per endpoint, in order.
  // Empty function = no liveness checks (FTB 0.6.2's behaviour, used by the codec tests).
  std::function<std::vector<ProbeResult>(const std::vector<BootstrapEndpoint>&)> probe;
  size_t max_entries = 4096;            // registered agents in all
  size_t max_entries_per_source = 256;  // registered agents per source address
};

class BootstrapRegistry {
 public:
  explicit BootstrapRegistry(BootstrapRegistryOptions options) : options_(std::move(options)) {}

  // Handles one request from `source` (IPv4, network order); returns the reply to send, or
  // nothing when FTB sends none.
  std::optional<wire::BootstrapPacket> Handle(const wire::BootstrapPacket& request, uint32_t source = 0);
  // Probes every entry and forgets the dead ones.
  void Sweep();

  const std::list<BootstrapEntry>& entries() const { return entries_; }
  unsigned ChildrenOf(const BootstrapEndpoint& parent) const;
  uint64_t removed_dead() const { return removed_dead_; }
  uint64_t refused() const { return refused_; }  // registrations refused by the rules above
  // Entries and offers looked at by every scan so far: what a request cost, counted rather than
  // timed, so tests can hold the server to its linear bound.
  uint64_t examined() const { return examined_; }

 private:
  struct Offer {
    BootstrapEndpoint requester;
    BootstrapEndpoint parent;
    uint32_t level;
  };

  wire::BootstrapPacket AddrRequest(const wire::BootstrapPacket& request);
  wire::BootstrapPacket RegRequest(const wire::BootstrapPacket& request, uint32_t source);
  wire::BootstrapPacket Refuse();
  void SetParent(BootstrapEntry* entry, const std::optional<BootstrapEndpoint>& parent);
  wire::BootstrapPacket DeregRequest(const wire::BootstrapPacket& request);
  void ConnFail(const wire::BootstrapPacket& request);

  BootstrapEntry* Find(const BootstrapEndpoint& addr);
  void Remove(const BootstrapEndpoint& addr);
  // Probes one entry; forgets it and returns false when it is dead.
  bool CheckAlive(const BootstrapEndpoint& addr);
  void Apply(const std::vector<BootstrapEndpoint>& probed, const std::vector<ProbeResult>& results,
             bool timeout_is_fatal);

  BootstrapRegistryOptions options_;
  std::list<BootstrapEntry> entries_;  // insertion order, as FTB keeps it
  std::unordered_map<std::string, std::list<BootstrapEntry>::iterator> by_key_;
  std::unordered_map<std::string, unsigned> children_;  // parent key → entries registered under it
  std::unordered_map<uint32_t, size_t> per_source_;
  std::list<Offer> offers_;  // last ADDR_REP per requester (oldest first, at most max_entries)
  std::unordered_map<std::string, std::list<Offer>::iterator> offer_by_requester_;
  uint64_t removed_dead_ = 0;
  uint64_t refused_ = 0;
  uint64_t examined_ = 0;
};

// The endpoint as the server keeps it: the name normalised when it is an IPv4 address (see
// above), verbatim otherwise; `valid` says which.
BootstrapEndpoint EndpointOf(const wire::BootstrapAddr& addr, bool* valid = nullptr);

}  // namespace crftb::ftb
