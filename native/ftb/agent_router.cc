#include "ftb/agent_router.h"

#include <algorithm>
#include <iterator>

#include "ftb/identity.h"
#include "ftb/subscription.h"

namespace crftb::ftb {

bool AgentRouter::OnMessage(ConnId from, const wire::Message& message) {
  switch (message.msg_type) {
    case wire::kNotify:
      Notify(from, message);
      return true;
    case wire::kClientReg:
      if (Peer* peer = Register(from, message.src); peer && peer->is_agent) SendAllMasksTo(*peer);
      return true;
    case wire::kClientDereg:
      Deregister(from, message);
      return true;
    case wire::kRegSubscription:
      Subscribe(from, message);
      return true;
    case wire::kSubscriptionCancel:
      Cancel(from, message);
      return true;
    case wire::kRegPublishableEvent:
    case wire::kPublishableEventRegCancel:
    case wire::kCleanupConn:  // agent-internal in FTB; honouring it from the wire lets any peer
                              // evict others, so it is accepted and ignored like the two above
      return true;
    default:
      return false;
  }
}

AgentRouter::Peer* AgentRouter::Find(ConnId conn, const wire::FtbId& id) {
  auto on_conn = peers_by_conn_.find(conn);
  if (on_conn == peers_by_conn_.end()) return nullptr;
  auto it = on_conn->second.find(FtbIdKey(id));
  return it == on_conn->second.end() ? nullptr : it->second.get();
}

AgentRouter::Peer* AgentRouter::Register(ConnId conn, const wire::FtbId& id) {
  auto& on_conn = peers_by_conn_[conn];
  std::string key = FtbIdKey(id);
  if (on_conn.count(key)) return nullptr;  // already known: FTB ignores it with a warning
  // FTB answers no CLIENT_REG, so one past a cap is ignored like a duplicate: the identity's
  // later REG_SUBSCRIPTIONs are ignored as an unregistered sender's are. Closing the connection
  // instead would cut off the process's other clients, and libftb reconnects and registers them
  // all again (PROTOCOL.md §12.4), only to be cut off again.
  const bool first = on_conn.empty();
  if (on_conn.size() >= limits_.ids_per_conn || (!first && capped_ >= limits_.ids)) {
    ++ids_refused_;
    if (first) peers_by_conn_.erase(conn);
    return nullptr;
  }
  auto peer = std::make_unique<Peer>(Peer{id, key, conn, IsAgent(id.client), !first, next_peer_++, 0, {}});
  Peer* raw = peer.get();
  on_conn.emplace(std::move(key), std::move(peer));
  if (raw->capped) ++capped_;
  if (raw->is_agent) {
    agents_.push_back(raw);
  } else if (!IsManager(id.client)) {
    ++clients_;
  }
  return raw;
}

void AgentRouter::AddParent(ConnId conn, const wire::LocationId& parent_location) {
  parent_conn_ = conn;
  has_parent_ = true;
  Peer* parent = Register(conn, MakeFtbId(parent_location, ManagerClientId(kAgentManagerExt)));
  // An orphan offers its masks to its new parent (§8.3); the parent offers its own in return
  // when it processes our handshake registration.
  if (parent) SendAllMasksTo(*parent);
}

void AgentRouter::Deregister(ConnId from, const wire::Message& message) {
  Peer* peer = Find(from, message.src);
  if (!peer) return;
  const bool manager = IsManager(message.src.client);
  RemovePeer(peer);
  if (manager) sink_->CloseAfterFlush(from);
}

void AgentRouter::Subscribe(ConnId from, const wire::Message& message) {
  Peer* peer = Find(from, message.src);
  if (!peer) return;  // FTB requires CLIENT_REG before REG_SUBSCRIPTION
  std::string identity = MaskIdentity(message.event);
  auto known = by_identity_.find(identity);
  if (known != by_identity_.end()) {
    const auto& holders = known->second->holders;
    if (std::find(holders.begin(), holders.end(), peer) != holders.end()) return;
  }
  const auto counted = masks_by_conn_.find(from);
  if ((counted != masks_by_conn_.end() && counted->second >= limits_.masks_per_conn) ||
      (!peer->is_agent && peer->held.size() >= limits_.masks_per_client)) {
    ++refused_;
    return;
  }
  CatchList::iterator entry;
  if (known != by_identity_.end()) {
    entry = known->second;
  } else {
    catch_map_.push_back(CatchEntry{message.event, identity, MaskBucket(message.event), next_order_++, {}});
    entry = std::prev(catch_map_.end());
    by_identity_.emplace(std::move(identity), entry);
    by_bucket_[entry->bucket].push_back(&*entry);
    ++buckets_changed_;
  }
  entry->holders.push_back(peer);
  peer->held.insert(&*entry);
  ++masks_by_conn_[from];
  FloodToAgents(wire::kRegSubscription, message.event, from);
}

void AgentRouter::Cancel(ConnId from, const wire::Message& message) {
  Peer* peer = Find(from, message.src);
  if (!peer) return;
  auto known = by_identity_.find(MaskIdentity(message.event));
  if (known == by_identity_.end()) return;
  const auto& holders = known->second->holders;
  if (std::find(holders.begin(), holders.end(), peer) == holders.end()) return;
  Release(known->second, peer, from);
}

void AgentRouter::Release(CatchList::iterator entry, Peer* peer, ConnId flood_except) {
  entry->holders.erase(std::find(entry->holders.begin(), entry->holders.end(), peer));
  peer->held.erase(&*entry);
  auto count = masks_by_conn_.find(peer->conn);
  if (count != masks_by_conn_.end() && --count->second == 0) masks_by_conn_.erase(count);
  if (!entry->holders.empty()) return;
  auto bucket = by_bucket_.find(entry->bucket);
  auto& list = bucket->second;
  list.erase(std::find(list.begin(), list.end(), &*entry));
  if (list.empty()) by_bucket_.erase(bucket);
  ++buckets_changed_;
  by_identity_.erase(entry->identity);
  const wire::Event mask = entry->mask;
  catch_map_.erase(entry);
  FloodToAgents(wire::kSubscriptionCancel, mask, flood_except);
}

void AgentRouter::Notify(ConnId from, const wire::Message& message) {
  const uint64_t stamp = ++stamp_;
  // Only the buckets this event can match; within them, masks in arrival order.
  scratch_matches_.clear();
  for (const std::vector<CatchEntry*>* bucket : BucketsFor(message.event)) {
    examined_ += bucket->size();
    for (CatchEntry* entry : *bucket) {
      if (Matches(message.event, entry->mask)) scratch_matches_.push_back(entry);
    }
  }
  std::sort(scratch_matches_.begin(), scratch_matches_.end(),
            [](const CatchEntry* a, const CatchEntry* b) { return a->order < b->order; });
  wire::Message out = message;  // src and the whole event travel verbatim
  for (CatchEntry* entry : scratch_matches_) {
    for (Peer* catcher : entry->holders) {
      if (catcher->stamp == stamp) continue;  // one copy per catcher, however many masks match
      catcher->stamp = stamp;
      if (catcher->is_agent && catcher->conn == from) continue;  // never echo to the sender agent
      out.dst = catcher->id;
      sink_->Send(catcher->conn, out, /*droppable=*/true);
      ++routed_;
    }
  }
}

const std::vector<const std::vector<AgentRouter::CatchEntry*>*>& AgentRouter::BucketsFor(const wire::Event& event) {
  auto& last = last_buckets_;
  // Names compare ignoring case, so equal fields (SameField) give equal keys, hence equal buckets.
  if (last.version == buckets_changed_ && SameField(last.event.region, event.region) &&
      SameField(last.event.comp_cat, event.comp_cat) && SameField(last.event.comp, event.comp) &&
      SameField(last.event.event_name, event.event_name))
    return last.lists;
  EventBuckets(event, &scratch_buckets_);
  last.lists.clear();
  for (const std::string& key : scratch_buckets_) {
    auto bucket = by_bucket_.find(key);  // unordered_map nodes stay put until erased
    if (bucket != by_bucket_.end()) last.lists.push_back(&bucket->second);
  }
  last.event.region = event.region;
  last.event.comp_cat = event.comp_cat;
  last.event.comp = event.comp;
  last.event.event_name = event.event_name;
  last.version = buckets_changed_;
  return last.lists;
}

void AgentRouter::OnConnectionLost(ConnId conn) {
  auto it = peers_by_conn_.find(conn);
  if (it != peers_by_conn_.end()) {
    std::vector<Peer*> lost;
    for (const auto& [key, peer] : it->second) lost.push_back(peer.get());
    std::sort(lost.begin(), lost.end(), [](const Peer* a, const Peer* b) { return a->order < b->order; });
    for (Peer* peer : lost) RemovePeer(peer);
  }
  masks_by_conn_.erase(conn);  // its peers' masks are gone with them
  if (has_parent_ && parent_conn_ == conn) has_parent_ = false;
}

void AgentRouter::RemovePeer(Peer* peer) {
  DropMasksOf(peer);
  if (peer->capped) --capped_;
  if (peer->is_agent) {
    agents_.erase(std::find(agents_.begin(), agents_.end(), peer));
  } else if (!IsManager(peer->id.client)) {
    --clients_;
  }
  const ConnId conn = peer->conn;
  auto on_conn = peers_by_conn_.find(conn);
  on_conn->second.erase(peer->key);  // destroys *peer
  if (on_conn->second.empty()) peers_by_conn_.erase(on_conn);
}

void AgentRouter::DropMasksOf(Peer* peer) {
  // In arrival order, so neighbours see cancels in the order FTB would send them.
  std::vector<CatchEntry*> held(peer->held.begin(), peer->held.end());
  std::sort(held.begin(), held.end(), [](const CatchEntry* a, const CatchEntry* b) { return a->order < b->order; });
  for (CatchEntry* entry : held) Release(by_identity_.at(entry->identity), peer, peer->conn);
}

void AgentRouter::FloodToAgents(int32_t type, const wire::Event& mask, ConnId except) {
  for (const Peer* peer : agents_) {
    if (peer->conn == except) continue;
    sink_->Send(peer->conn, ControlMessage(type, peer->id, &mask), /*droppable=*/false);
  }
}

void AgentRouter::SendAllMasksTo(const Peer& agent) {
  for (const CatchEntry& entry : catch_map_) {
    // A mask this neighbour alone holds came from it; offering it back would be an echo.
    if (entry.holders.size() == 1 && entry.holders[0]->conn == agent.conn) continue;
    sink_->Send(agent.conn, ControlMessage(wire::kRegSubscription, agent.id, &entry.mask), false);
  }
}

void AgentRouter::SayGoodbye() {
  for (const Peer* peer : agents_)
    sink_->Send(peer->conn, ControlMessage(wire::kClientDereg, peer->id, nullptr), false);
}

wire::Message AgentRouter::ControlMessage(int32_t type, const wire::FtbId& dst, const wire::Event* mask) const {
  wire::Message message;
  memset(&message, 0, sizeof message);  // FTB leaves these bytes undefined; zeros are deterministic
  message.msg_type = type;
  message.src = self_;
  message.dst = dst;
  if (mask) {
    message.event = *mask;
    // Only the 8 strings of a mask are significant (§4.8).
    message.event.seqnum = 0;
    message.event.event_type = 0;
    memset(message.event.payload, 0, sizeof message.event.payload);
    message.event.padding = 0;
  }
  return message;
}

}  // namespace crftb::ftb
