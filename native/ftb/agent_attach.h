// How an agent finds its place in the tree (PROTOCOL.md §9.3–§9.4), on its own thread so the
// event loop keeps routing meanwhile: ask the bootstrap server for a parent, connect and
// handshake, register our level; when the loop reports the parent lost, do it again with the
// lost parent named so the server can retire it.
//
// Differences from FTB 0.6.2 (none visible to a peer): the agent never exits or stalls when the
// server is silent or refuses it (bounded back-off, retried until stopped, local clients served
// throughout); a failed connect is reported with CONN_FAIL naming the parent in `addr` and the
// lost parent is remembered with its real port (FTB used port 2); the registration is refreshed
// every `refresh_ms`, so a restarted bootstrap server relearns the tree.
#pragma once

#include <netinet/in.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "ftb/wire.h"

namespace crftb::ftb {

class Agent;

struct AttachConfig {
  std::string bootstrap_host;
  int bootstrap_port;
  std::string advertise;  // our address as registered
  int port;               // our listening port
  int connect_timeout_ms;
  int refresh_ms = 10000;
};

class AgentAttacher {
 public:
  AgentAttacher(Agent* agent, const AttachConfig& config);
  ~AgentAttacher();

  // From the event loop: the connection to this parent is gone.
  void ParentLost(const std::string& name, int port);
  // Deregisters from the bootstrap server (bounded to about a second) and joins the thread.
  void Stop();
  uint64_t reattachments() const;

 private:
  void Run();
  // One pass of the join loop; true once attached (as root or child).
  bool AttachOnce();
  bool Exchange(uint8_t type, int level, const std::string& parent_name, int parent_port, wire::BootstrapPacket* reply,
                bool quick);
  bool ConnectToParent(const std::string& name, int port, int parent_level);
  bool WaitFor(int ms);  // false when stopping

  Agent* const agent_;
  const AttachConfig config_;
  in_addr server_{};
  int level_ = 65535;
  bool registered_ = false;
  std::string lost_name_;
  int lost_port_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool parent_lost_ = false;
  bool bootstrap_silent_ = false;
  uint64_t reattachments_ = 0;
  std::thread thread_;
};

}  // namespace crftb::ftb
