#include "ftb/bootstrap_registry.h"

#include <arpa/inet.h>

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

std::string KeyOf(const BootstrapEndpoint& endpoint) { return endpoint.name + ":" + std::to_string(endpoint.port); }

}  // namespace

BootstrapEndpoint EndpointOf(const wire::BootstrapAddr& addr, bool* valid) {
  BootstrapEndpoint endpoint{addr.name.get(), addr.port};
  in_addr parsed{};
  // Strict: inet_pton takes four decimal parts and nothing after them (inet_aton, FTB's parser,
  // stops at a blank and ignores the rest, so junk-suffixed names all reach one listener).
  const bool ok = (endpoint.name == "localhost" || inet_pton(AF_INET, endpoint.name.c_str(), &parsed) == 1) &&
                  addr.port > 0 && addr.port <= 65535;
  if (ok) {
    if (endpoint.name == "localhost") parsed.s_addr = htonl(INADDR_LOOPBACK);
    char text[INET_ADDRSTRLEN];
    endpoint.name = inet_ntop(AF_INET, &parsed, text, sizeof text);
  }
  if (valid) *valid = ok;
  return endpoint;
}

std::optional<wire::BootstrapPacket> BootstrapRegistry::Handle(const wire::BootstrapPacket& request, uint32_t source) {
  switch (request.type) {
    case wire::kAddrReq:
      return AddrRequest(request);
    case wire::kRegReq:
      if (request.addr.port == 0) return std::nullopt;  // FTB ignores port-0 registrations silently
      return RegRequest(request, source);
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
  size_t i = 0;
  for (const BootstrapEntry& entry : entries_) {
    ++examined_;
    const size_t position = i++;
    if (entry.crossed_out || entry.level >= request.level || entry.addr == requester) continue;
    const unsigned children = ChildrenOf(entry.addr);
    const bool full = options_.fanout != 0 && children >= options_.fanout;
    const auto key = std::make_tuple(full, entry.level, children, position);
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
    const std::string key = KeyOf(requester);
    if (auto known = offer_by_requester_.find(key); known != offer_by_requester_.end()) {
      offers_.erase(known->second);
      offer_by_requester_.erase(known);
    }
    while (offers_.size() >= std::max<size_t>(1, options_.max_entries)) {
      offer_by_requester_.erase(KeyOf(offers_.front().requester));
      offers_.pop_front();
    }
    offers_.push_back(Offer{requester, best->addr, best->level});
    offer_by_requester_[key] = std::prev(offers_.end());
  }
  return reply;
}

wire::BootstrapPacket BootstrapRegistry::Refuse() {
  ++refused_;
  return Reply(wire::kRegInvalid);
}

wire::BootstrapPacket BootstrapRegistry::RegRequest(const wire::BootstrapPacket& request, uint32_t source) {
  bool valid = false;
  const BootstrapEndpoint requester = EndpointOf(request.addr, &valid);
  if (!valid) return Refuse();

  // The level: from the parent this requester was offered, else only a root or a level an
  // existing entry can be the parent of.
  uint32_t level = request.level;
  std::optional<BootstrapEndpoint> parent;
  const auto offer = offer_by_requester_.find(KeyOf(requester));
  if (level != 1 && offer != offer_by_requester_.end() && Find(offer->second->parent)) {
    level = offer->second->level + 1;
    parent = offer->second->parent;
  } else if (level != 1) {
    bool supported = false;
    for (const BootstrapEntry& entry : entries_) {
      ++examined_;
      if (!entry.crossed_out && entry.level + 1 == level && !(entry.addr == requester)) {
        supported = true;
        break;
      }
    }
    if (!supported) return Refuse();
  }

  if (level == 1) {
    std::vector<BootstrapEndpoint> roots;
    for (const BootstrapEntry& entry : entries_) {
      ++examined_;
      // The requester's own level-1 entry is a stale one (it would not ask otherwise): replace it.
      if (entry.level == 1 && !entry.crossed_out && !(entry.addr == requester)) roots.push_back(entry.addr);
    }
    for (const BootstrapEndpoint& root : roots) {
      if (CheckAlive(root)) return Reply(wire::kRegInvalid);
    }
  }

  BootstrapEntry* entry = Find(requester);
  if (!entry) {
    if (entries_.size() >= options_.max_entries || per_source_[source] >= options_.max_entries_per_source) {
      return Refuse();
    }
    entries_.emplace_back();
    entry = &entries_.back();
    entry->addr = requester;
    entry->source = source;
    ++per_source_[source];
    by_key_[KeyOf(requester)] = std::prev(entries_.end());
  }
  entry->level = level;
  entry->crossed_out = false;
  entry->timeouts = 0;
  SetParent(entry, parent);
  return Reply(wire::kRegRep);
}

void BootstrapRegistry::SetParent(BootstrapEntry* entry, const std::optional<BootstrapEndpoint>& parent) {
  if (entry->parent) {
    auto count = children_.find(KeyOf(*entry->parent));
    if (count != children_.end() && --count->second == 0) children_.erase(count);
  }
  entry->parent = parent;
  if (parent) ++children_[KeyOf(*parent)];
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
  examined_ += all.size();
  Apply(all, options_.probe(all), /*timeout_is_fatal=*/false);
}

bool BootstrapRegistry::CheckAlive(const BootstrapEndpoint& addr) {
  if (!options_.probe) return true;
  const std::vector<ProbeResult> results = options_.probe({addr});
  Apply({addr}, results, /*timeout_is_fatal=*/true);
  return Find(addr) != nullptr;
}

void BootstrapRegistry::Apply(const std::vector<BootstrapEndpoint>& probed, const std::vector<ProbeResult>& results,
                              bool timeout_is_fatal) {
  for (size_t i = 0; i < probed.size() && i < results.size(); ++i) {
    BootstrapEntry* entry = Find(probed[i]);
    if (!entry) continue;
    if (results[i] == ProbeResult::kAlive) {
      entry->timeouts = 0;
    } else if (results[i] == ProbeResult::kRefused || timeout_is_fatal || ++entry->timeouts >= kTimeoutsBeforeRemoval) {
      Remove(probed[i]);
      ++removed_dead_;
    }
  }
}

BootstrapEntry* BootstrapRegistry::Find(const BootstrapEndpoint& addr) {
  auto it = by_key_.find(KeyOf(addr));
  return it == by_key_.end() ? nullptr : &*it->second;
}

void BootstrapRegistry::Remove(const BootstrapEndpoint& addr) {
  const std::string key = KeyOf(addr);
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    BootstrapEntry& entry = *it->second;
    SetParent(&entry, std::nullopt);
    auto count = per_source_.find(entry.source);
    if (count != per_source_.end() && --count->second == 0) per_source_.erase(count);
    entries_.erase(it->second);
    by_key_.erase(it);
  }
  for (auto it = offers_.begin(); it != offers_.end();) {
    ++examined_;
    if (it->requester == addr || it->parent == addr) {
      offer_by_requester_.erase(KeyOf(it->requester));
      it = offers_.erase(it);
    } else {
      ++it;
    }
  }
}

unsigned BootstrapRegistry::ChildrenOf(const BootstrapEndpoint& parent) const {
  auto it = children_.find(KeyOf(parent));
  return it == children_.end() ? 0 : it->second;
}

}  // namespace crftb::ftb
