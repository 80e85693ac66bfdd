// An agent's routing state and rules (PROTOCOL.md §8.2–§8.4): the peers registered on each
// connection, the catch map (mask → peers holding it), and what each received message makes
// the agent send. No sockets and no threads: the event loop owns one router, feeds it messages
// and hands what it emits to per-connection queues.
//
// Peers are scoped to the connection they registered on (FTB keeps one global table), so a
// client that re-registers on a new connection before its old one is noticed dead still works,
// and a peer can never deregister somebody else's identity.
#pragma once

#include <stdint.h>

#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ftb/subscription.h"
#include "ftb/wire.h"

namespace crftb::ftb {

using ConnId = uint64_t;

class RouterSink {
 public:
  virtual ~RouterSink() = default;
  // `droppable`: a NOTIFY copy that may be dropped when `conn`'s queue is full. Control messages
  // (subscriptions, deregistrations) are never dropped: losing one would corrupt a neighbour's
  // catch map.
  virtual void Send(ConnId conn, const wire::Message& message, bool droppable) = 0;
  // Close `conn` once what is queued for it has been written (a manager's CLIENT_DEREG).
  virtual void CloseAfterFlush(ConnId conn) = 0;
};

// Bounds on what one unauthenticated peer can make the agent hold (README, "FTB bounds").
// A REG_SUBSCRIPTION or CLIENT_REG past one of them is ignored (FTB has no reply to carry a
// refusal) and counted.
struct RouterLimits {
  size_t masks_per_client = kDefaultMaxSubscriptionsPerClient;  // per client identity (not agents)
  size_t masks_per_conn = 16384;                                // per connection, whatever identities it registers
  // Identities one connection may register, the one of its handshake included. A real client
  // process registers its manager identity and one per FTB_Connect, a neighbour agent one.
  size_t ids_per_conn = 256;
  // Identities registered agent-wide beyond each connection's first (which bounded connections
  // bound): a new connection's handshake is never refused, so the tree can always grow.
  size_t ids = 16384;
};

class AgentRouter {
 public:
  AgentRouter(const wire::FtbId& self, RouterSink* sink, RouterLimits limits = {})
      : self_(self), sink_(sink), limits_(limits) {}

  // Handles one message received on `from`. Returns false for a message type the agent does
  // not know: its sender has lost the framing and should be dropped.
  bool OnMessage(ConnId from, const wire::Message& message);
  // The connection is gone (FTB's internal CLEANUP_CONN): forget its peers and their masks.
  void OnConnectionLost(ConnId conn);
  // A parent connection was established: register the parent and offer it every known mask.
  void AddParent(ConnId conn, const wire::LocationId& parent_location);
  // Shutdown (§8.5): tell every neighbouring agent we leave.
  void SayGoodbye();

  bool IsParentConn(ConnId conn) const { return parent_conn_ == conn && has_parent_; }
  const wire::FtbId& self() const { return self_; }

  size_t clients() const { return clients_; }       // registered client identities (not managers, not agents)
  size_t agents() const { return agents_.size(); }  // neighbouring agents
  size_t subscriptions() const { return catch_map_.size(); }
  uint64_t routed() const { return routed_; }
  uint64_t refused() const { return refused_; }          // REG_SUBSCRIPTIONs past a mask cap
  uint64_t ids_refused() const { return ids_refused_; }  // CLIENT_REGs past an identity cap
  uint64_t examined() const { return examined_; }        // masks compared with NOTIFYs so far

 private:
  struct CatchEntry;
  struct Peer {
    wire::FtbId id;
    std::string key;  // FtbIdKey(id)
    ConnId conn;
    bool is_agent;
    bool capped;                           // counted against limits_.ids (not its connection's first identity)
    uint64_t order;                        // registration: a lost connection's peers leave in this order
    uint64_t stamp = 0;                    // last NOTIFY this peer was picked for (de-duplication)
    std::unordered_set<CatchEntry*> held;  // masks this peer holds (its subscription count)
  };
  struct CatchEntry {
    wire::Event mask;
    std::string identity;  // MaskIdentity
    std::string bucket;    // MaskBucket
    uint64_t order;        // arrival: routing visits matching masks in this order, as FTB does
    std::vector<Peer*> holders;
  };
  using CatchList = std::list<CatchEntry>;

  Peer* Find(ConnId conn, const wire::FtbId& id);
  Peer* Register(ConnId conn, const wire::FtbId& id);
  void Deregister(ConnId from, const wire::Message& message);
  void Subscribe(ConnId from, const wire::Message& message);
  void Cancel(ConnId from, const wire::Message& message);
  void Notify(ConnId from, const wire::Message& message);
  // Removes `peer` from every catch entry, cancelling masks nobody holds any more.
  void DropMasksOf(Peer* peer);
  // Takes `peer` off `entry`; the entry goes (and its cancel is flooded) when nobody holds it.
  void Release(CatchList::iterator entry, Peer* peer, ConnId flood_except);
  void RemovePeer(Peer* peer);
  // Sends `type` with `mask` from this agent to every neighbouring agent except those on `except`.
  void FloodToAgents(int32_t type, const wire::Event& mask, ConnId except);
  void SendAllMasksTo(const Peer& agent);
  wire::Message ControlMessage(int32_t type, const wire::FtbId& dst, const wire::Event* mask) const;

  const wire::FtbId self_;
  RouterSink* const sink_;
  // Each connection's peers by FtbIdKey: a message finds its sender in constant time however
  // many identities share the connection.
  std::unordered_map<ConnId, std::unordered_map<std::string, std::unique_ptr<Peer>>> peers_by_conn_;
  std::vector<Peer*> agents_;  // registration order: subscriptions are flooded in it
  size_t clients_ = 0;
  size_t capped_ = 0;  // peers counted against limits_.ids
  uint64_t next_peer_ = 0;
  uint64_t ids_refused_ = 0;
  const RouterLimits limits_;
  CatchList catch_map_;  // arrival order (SendAllMasksTo replays it)
  std::unordered_map<std::string, CatchList::iterator> by_identity_;
  std::unordered_map<std::string, std::vector<CatchEntry*>> by_bucket_;
  std::unordered_map<ConnId, size_t> masks_by_conn_;
  uint64_t next_order_ = 0;
  uint64_t refused_ = 0;
  uint64_t examined_ = 0;
  std::vector<std::string> scratch_buckets_;
  std::vector<CatchEntry*> scratch_matches_;
  // The bucket lists an event of the last event space and name routed can match: a publisher's
  // events mostly repeat them, and the ten index keys each would build and hash are the bulk of
  // routing one. Valid while buckets_changed_ has not moved (any mask added or dropped moves it).
  const std::vector<const std::vector<CatchEntry*>*>& BucketsFor(const wire::Event& event);
  struct {
    wire::Event event;  // region, comp_cat, comp and event_name are what count
    uint64_t version = ~0ULL;
    std::vector<const std::vector<CatchEntry*>*> lists;
  } last_buckets_;
  uint64_t buckets_changed_ = 0;
  uint64_t stamp_ = 0;
  uint64_t routed_ = 0;
  ConnId parent_conn_ = 0;
  bool has_parent_ = false;
};

}  // namespace crftb::ftb
