#include "ftb/bootstrap_registry.h"

#include <tuple>

namespace crftb::ftb {

namespace {

constexpr int kTimeoutsBeforeRemoval = 2;

wire::BootstrapPacket Reply(uint8_t type) {
  wire::BootstrapPacket reply;
  memset(&reply, 0, sizeof reply);  // FTB's replies are zero-filled
  reply.type = type;
  return reply;
}

bool IsSet(const BootstrapEndpoint& endpoint) { return !endpoint.name.empty() || endpoint.port != 0; }

}  // namespace

BootstrapEndpoint EndpointOf(const wire::BootstrapAddr& addr) {
  return BootstrapEndpoint{addr.name.get(), addr.port};
}

std::optional<wire::BootstrapPacket> BootstrapRegistry::Handle(const wire::BootstrapPacket& request) {
  switch (request.type) {
    case wire::kAddrReq:
      return AddrRequest(request);
    case wire::kRegReq:
      if (request.addr.port == 0) return std::nullopt;  // FTB ignores port-0 registrations silently
      return RegRequest(request);
    case wire::kDeregReq:
      if (request.addr.port == 0) return std::nullopt;
      return DeregRequest(request);
    case wire::kConnFail:
      ConnFail(request);
      return std::nullopt;
    default:
      return std::nullopt;  // replies sent to us, unknown types: FTB answers nothing
  }
}

wire::BootstrapPacket BootstrapRegistry::AddrRequest(const wire::BootstrapPacket& request) {
  const BootstrapEndpoint requester = EndpointOf(request.addr);
  const BootstrapEndpoint lost = EndpointOf(request.parent_addr);
  if (IsSet(lost) && Find(lost) && CheckAlive(lost)) {
    // The orphan lost it but it still listens (a broken link, or it is shutting down): FTB's
    // cross-out keeps it from being offered again until it registers anew.
    Find(lost)->crossed_out = true;
  }

  const BootstrapEntry* best = nullptr;
  std::tuple<bool, uint32_t, unsigned, size_t> best_key;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const BootstrapEntry& entry = entries_[i];
    if (entry.crossed_out || entry.level >= request.level || entry.addr == requester) continue;
    const unsigned children = ChildrenOf(entry.addr);
    const bool full = options_.fanout != 0 && children >= options_.fanout;
    const auto key = std::make_tuple(full, entry.level, children, i);
    if (!best || key < best_key) {
      best = &entry;
      best_key = key;
    }
  }

  wire::BootstrapPacket reply = Reply(wire::kAddrRep);
  if (best) {
    reply.parent_addr.name.set(best->addr.name);
    reply.parent_addr.port = best->addr.port;
    reply.level = static_cast<uint16_t>(best->level);
    for (auto it = offers_.begin(); it != offers_.end();) {
      it = it->requester == requester ? offers_.erase(it) : it + 1;
    }
    offers_.push_back(Offer{requester, best->addr, best->level});
  }
  return reply;
}

wire::BootstrapPacket BootstrapRegistry::RegRequest(const wire::BootstrapPacket& request) {
  const BootstrapEndpoint requester = EndpointOf(request.addr);
  if (request.level == 1) {
    std::vector<BootstrapEndpoint> roots;
    for (const BootstrapEntry& entry : entries_) {
      // The requester's own level-1 entry is a stale one (it would not ask otherwise): replace it.
      if (entry.level == 1 && !entry.crossed_out && !(entry.addr == requester)) roots.push_back(entry.addr);
    }
    for (const BootstrapEndpoint& root : roots) {
      if (CheckAlive(root)) return Reply(wire::kRegInvalid);
    }
  }

  BootstrapEntry* entry = Find(requester);
  if (!entry) {
    entries_.emplace_back();
    entry = &entries_.back();
    entry->addr = requester;
  }
  entry->level = request.level;
  entry->crossed_out = false;
  entry->timeouts = 0;
  entry->parent.reset();
  for (const Offer& offer : offers_) {
    if (offer.requester == requester && offer.level + 1 == request.level) entry->parent = offer.parent;
  }
  return Reply(wire::kRegRep);
}

wire::BootstrapPacket BootstrapRegistry::DeregRequest(const wire::BootstrapPacket& request) {
  Remove(EndpointOf(request.addr));
  return Reply(wire::kDeregRep);
}

void BootstrapRegistry::ConnFail(const wire::BootstrapPacket& request) {
  // FTB 0.6.2 senders put the unreachable parent in `addr` and leave `parent_addr` uninitialised;
  // the 0.6.2 server looked only at `parent_addr`. Both are checked, and only a failed probe
  // removes an entry, so garbage in either field cannot evict a live agent.
  for (const BootstrapEndpoint& named : {EndpointOf(request.addr), EndpointOf(request.parent_addr)}) {
    if (IsSet(named) && Find(named)) CheckAlive(named);
  }
}

void BootstrapRegistry::Sweep() {
  if (!options_.probe || entries_.empty()) return;
  std::vector<BootstrapEndpoint> all;
  for (const BootstrapEntry& entry : entries_) all.push_back(entry.addr);
  Apply(all, options_.probe(all), /*timeout_is_fatal=*/false);
}

bool BootstrapRegistry::CheckAlive(const BootstrapEndpoint& addr) {
  if (!options_.probe) return true;
  const std::vector<ProbeResult> results = options_.probe({addr});
  Apply({addr}, results, /*timeout_is_fatal=*/true);
  return Find(addr) != nullptr;
}

void BootstrapRegistry::Apply(const std::vector<BootstrapEndpoint>& probed,
                              const std::vector<ProbeResult>& results, bool timeout_is_fatal) {
  for (size_t i = 0; i < probed.size() && i < results.size(); ++i) {
    BootstrapEntry* entry = Find(probed[i]);
    if (!entry) continue;
    if (results[i] == ProbeResult::kAlive) {
      entry->timeouts = 0;
    } else if (results[i] == ProbeResult::kRefused || timeout_is_fatal ||
               ++entry->timeouts >= kTimeoutsBeforeRemoval) {
      Remove(probed[i]);
      ++removed_dead_;
    }
  }
}

BootstrapEntry* BootstrapRegistry::Find(const BootstrapEndpoint& addr) {
  for (BootstrapEntry& entry : entries_) {
    if (entry.addr == addr) return &entry;
  }
  return nullptr;
}

void BootstrapRegistry::Remove(const BootstrapEndpoint& addr) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->addr == addr) {
      entries_.erase(it);
      break;
    }
  }
  for (auto it = offers_.begin(); it != offers_.end();) {
    it = (it->requester == addr || it->parent == addr) ? offers_.erase(it) : it + 1;
  }
}

unsigned BootstrapRegistry::ChildrenOf(const BootstrapEndpoint& parent) const {
  unsigned count = 0;
  for (const BootstrapEntry& entry : entries_) {
    if (entry.parent && *entry.parent == parent) ++count;
  }
  return count;
}

}  // namespace crftb::ftb
